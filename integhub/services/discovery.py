"""Options for a provider form's select fields (default event type, default agent), found at the provider.

Uses the stored key (decrypted here, never returned); results are cached per process for a few
minutes, keyed by (company, provider, key fingerprint, config version), so opening a page does not
call the provider every time and a changed key is asked afresh.
"""
from __future__ import annotations

import threading
import time

from ..db import Hub
from ..providers import get_provider
from .configs import get_secret, load_config

OPTIONS_TTL_SECONDS = 300.0
OPTIONS_TIMEOUT_SECONDS = 8.0

_lock = threading.Lock()
_cache: dict[tuple, tuple[float, dict[str, list[tuple[str, str]]]]] = {}


def field_options(hub: Hub, company_id: object, provider: str, *,
                  timeout: float = OPTIONS_TIMEOUT_SECONDS) -> dict[str, list[tuple[str, str]]]:
    """{field name: [(value, label)]} from the provider's discovery; {} when no key is stored.

    Raises ProviderError (clear message via describe_error) when the provider cannot answer.
    """
    view = load_config(hub, company_id, provider)
    if not view.has_key:
        return {}
    key = (view.company_id, provider, view.key_fingerprint, view.version)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < OPTIONS_TTL_SECONDS:
            return hit[1]
    prov = get_provider(provider)
    found = prov.discover(get_secret(hub, company_id, provider), view.settings, timeout=timeout)
    options = {name: [(str(v), str(label)) for v, label in values] for name, values in found.options.items()}
    with _lock:
        _cache[key] = (time.monotonic(), options)
        if len(_cache) > 2048:  # a long-running process visiting many companies
            for stale in sorted(_cache, key=lambda k: _cache[k][0])[:1024]:
                _cache.pop(stale, None)
    return options


def clear_cache() -> None:
    with _lock:
        _cache.clear()

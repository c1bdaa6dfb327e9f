"""Provider registry. Every module in this package that defines `PROVIDER` is a provider.

Adding Stripe later means adding `integhub/providers/stripe.py` with a `PROVIDER`; nothing else changes.
A provider's HTTP client lives in `<name>_client.py` and is imported by the provider when a client is
first needed (`Provider.load_client`), not by the registry: the Retell SDK alone takes a second of CPU
to import, which a process that never talks to Retell should not pay.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from collections.abc import Callable
from functools import cache

from .base import Provider

log = logging.getLogger(__name__)


@cache
def _registry() -> dict[str, Provider]:
    found: dict[str, Provider] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.endswith("_client"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        provider = getattr(module, "PROVIDER", None)
        if isinstance(provider, Provider):
            found[provider.name] = provider
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def all_providers() -> list[Provider]:
    return list(_registry().values())


def provider_names() -> list[str]:
    return list(_registry())


def get_provider(name: str) -> Provider:
    from ..errors import NotFound

    try:
        return _registry()[name]
    except KeyError:
        raise NotFound("hub.unknown_provider", provider=name) from None


class ClientLoader:
    """Imports the providers' client libraries on a thread of its own: a fresh worker process starts
    syncing at once instead of first spending a second of CPU on the Retell SDK's import, and the
    web process has them in before the first webhook or status check needs them."""

    def __init__(self, providers: list[Provider], *, then: Callable[[], None] | None = None) -> None:
        self._then = then
        self._ready = {p.name for p in providers if p.client_loaded}
        later = [p for p in providers if p.name not in self._ready]
        if later:
            threading.Thread(target=self._load, args=(later,), name="load-clients", daemon=True).start()

    def _load(self, providers: list[Provider]) -> None:
        for provider in providers:
            try:
                provider.load_client()
            except Exception:  # whoever needs the client gets the import error there
                log.exception("loading the %s client failed", provider.name)
            finally:
                self._ready.add(provider.name)
        if self._then is not None:
            self._then()

    def ready(self, provider: str) -> bool:
        return provider in self._ready

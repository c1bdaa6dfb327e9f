"""Connection status: one cheap authenticated call per provider, concurrently, cached for 25 s.

The cache is per process and keyed by (company, provider, key fingerprint, settings version), so many
open browser tabs share one provider call, and a changed key is checked afresh at once.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from ..db import Hub
from ..i18n import t
from ..providers import all_providers, get_provider
from ..providers.base import STATE_FOR_ERROR
from ..providers.errors import ProviderError
from .companies import dependency_counts, parse_uuid
from .configs import ConfigView, get_secret, load_configs
from .stats import provider_stats

STATUS_TTL_SECONDS = 25.0
STATUS_TIMEOUT_SECONDS = 5.0


@dataclass
class CheckResult:
    state: str
    error_code: str | None = None
    message_key: str | None = None
    message_kwargs: dict[str, Any] | None = None
    checked_at: float = 0.0


class StatusCache:
    """TTL cache with single flight: concurrent askers for the same key wait for one call."""

    def __init__(self, ttl: float = STATUS_TTL_SECONDS):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[tuple, CheckResult] = {}
        self._inflight: dict[tuple, threading.Event] = {}

    def get_or_compute(self, key: tuple, compute) -> CheckResult:
        while True:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None and time.monotonic() - hit.checked_at < self.ttl:
                    return hit
                event = self._inflight.get(key)
                if event is None:
                    event = self._inflight[key] = threading.Event()
                    owner = True
                else:
                    owner = False
            if not owner:
                event.wait(timeout=STATUS_TIMEOUT_SECONDS * 3)
                continue
            try:
                result = compute()
                with self._lock:
                    self._entries[key] = result
                return result
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
                event.set()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE = StatusCache()
_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="status")


def check_provider(hub: Hub, view: ConfigView, *, timeout: float = STATUS_TIMEOUT_SECONDS,
                   use_cache: bool = True) -> CheckResult:
    if not view.has_key:
        return CheckResult("not_configured", checked_at=time.monotonic())
    prov = get_provider(view.provider)

    def compute() -> CheckResult:
        try:
            key = get_secret(hub, view.company_id, view.provider)
            prov.check_status(key, view.settings, timeout=timeout)
            return CheckResult("connected", checked_at=time.monotonic())
        except ProviderError as exc:
            return CheckResult(STATE_FOR_ERROR.get(exc.code, "error"), exc.code, f"error.{exc.code}",
                               {"provider": prov.display_name, "status": exc.status or "-",
                                "retry_after": int(exc.retry_after or 60)}, time.monotonic())
        except Exception as exc:  # never let one provider break the whole status panel
            return CheckResult("error", "internal", "hub.unexpected", {"kind": type(exc).__name__}, time.monotonic())

    if not use_cache:
        return compute()
    return CACHE.get_or_compute((view.company_id, view.provider, view.key_fingerprint, view.version), compute)


def validate_dependencies(hub: Hub, company_id: object, configs: dict[str, ConfigView] | None = None,
                          lang: str | None = None) -> dict[str, list[dict[str, str]]]:
    """The spec's validateDependencies: per configured provider, what the company still lacks."""
    cid = parse_uuid(company_id)
    configs = configs if configs is not None else load_configs(hub, cid)
    counts = dependency_counts(hub, cid)
    issues: dict[str, list[dict[str, str]]] = {}
    for prov in all_providers():
        view = configs.get(prov.name)
        found = []
        if view is not None and view.configured:
            for rule in prov.dependency_rules:
                if counts.get(rule.requires, 0) < 1:
                    found.append({"code": f"missing_{rule.requires}", "message": t(rule.message, lang),
                                  "fix_page": rule.fix_page})
        issues[prov.name] = found
    return issues


def company_status(hub: Hub, company_id: object, *, timeout: float = STATUS_TIMEOUT_SECONDS,
                   use_cache: bool = True, lang: str | None = None) -> dict[str, Any]:
    """The contract's `status --json` document; checks all providers concurrently."""
    cid = parse_uuid(company_id)
    configs = load_configs(hub, cid)
    futures = {name: _POOL.submit(check_provider, hub, view, timeout=timeout, use_cache=use_cache)
               for name, view in configs.items()}
    # Each check has its own timeout; this bound only guards against a stuck thread.
    wait(list(futures.values()), timeout=timeout * 2 + 1)
    deps = validate_dependencies(hub, cid, configs, lang)
    from .sync import sync_status
    from .webhooks import webhook_status

    providers: dict[str, Any] = {}
    for name, view in configs.items():
        fut = futures[name]
        result = fut.result() if fut.done() else CheckResult("unreachable", "timeout", "error.timeout",
                                                              {"provider": get_provider(name).display_name})
        providers[name] = {
            "configured": view.configured and view.has_key,
            "is_active": view.is_active,
            "state": result.state,
            "last_sync_at": _iso(view.last_sync_at),
            "last_error": view.last_error,
            "stats": provider_stats(hub, cid, name),
            "dependency_issues": [i["message"] for i in deps.get(name, [])],
            "dependency_details": deps.get(name, []),  # with code and the page that fixes it
            "sync": sync_status(hub, cid, name),  # running run, back-off, last run
            "webhook": webhook_status(hub, cid, name),  # registered, last event, signature failures
            "error_code": result.error_code,
            "message": t(result.message_key, lang, **(result.message_kwargs or {})) if result.message_key else None,
            "key_mask": view.key_mask,
            "settings": view.settings,
        }
    return {"company_id": str(cid), "providers": providers}


def _iso(value) -> str | None:
    if value is None:
        return None
    from datetime import timezone

    return value.replace(tzinfo=timezone.utc).isoformat()

"""`GET /api/metrics` in the Prometheus text exposition format (version 0.0.4).

Counters come from `integration_metrics` (the database is shared, so every hub process reports the
same fleet-wide totals: scrape one instance, or aggregate with max()). Gauges come from the sync
engine's lease table and the fleet's freshness. No secrets, no per-company labels (cardinality).

Set INTEGHUB_METRICS_TOKEN to require `Authorization: Bearer <token>` on the route.
"""
from __future__ import annotations

import asyncio
import hmac
import os
import threading
import time
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func, select

from .db import Hub
from .models import IntegrationConfig, IntegrationMetric, utcnow
from .providers import all_providers

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CACHE_SECONDS = float(os.environ.get("INTEGHUB_METRICS_CACHE_SECONDS", "5"))


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class _Family:
    def __init__(self, name: str, kind: str, help_text: str):
        self.name, self.kind, self.help = name, kind, help_text
        self.samples: list[tuple[dict[str, str], float]] = []

    def add(self, value: float, **labels: str) -> _Family:
        self.samples.append((labels, value))
        return self

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in self.samples:
            label_text = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
            number = repr(float(value)) if isinstance(value, float) and not float(value).is_integer() else str(int(value))
            yield f"{self.name}{{{label_text}}} {number}" if label_text else f"{self.name} {number}"


def collect(hub: Hub) -> list[_Family]:
    from .services.fleet import overdue_counts

    providers = [p.name for p in all_providers()]
    syncs = _Family("integhub_syncs_total", "counter", "Sync runs recorded, per provider.")
    sync_failures = _Family("integhub_sync_failures_total", "counter", "Sync runs that failed, per provider.")
    hooks = _Family("integhub_webhook_deliveries_total", "counter",
                    "Webhook deliveries received (accepted or refused), per provider.")
    hook_sig = _Family("integhub_webhook_signature_failures_total", "counter",
                       "Webhook deliveries refused for a bad, missing or stale signature, per provider.")
    hook_fail = _Family("integhub_webhook_failures_total", "counter",
                        "Webhook deliveries not processed (any reason), per provider.")
    configs = _Family("integhub_configs", "gauge", "Stored provider configurations, per provider and activity.")
    overdue = _Family("integhub_overdue_syncs", "gauge",
                      "Auto-synced configs past their interval: late (1-2 intervals) or failing (over 2).")
    running = _Family("integhub_running_syncs", "gauge", "Syncs holding a live lease now.")
    oldest = _Family("integhub_oldest_running_sync_seconds", "gauge",
                     "Age of the oldest sync holding a live lease (0 when none runs).")
    expired = _Family("integhub_expired_leases", "gauge", "Leases left behind by a dead worker, awaiting takeover.")
    up = _Family("integhub_database_up", "gauge", "1 when the database answered this scrape.")

    with hub.session() as s:
        by = _COUNTERS.totals(hub, s)
        cfg_counts = {(p, bool(a)): int(n) for p, a, n in s.execute(
            select(IntegrationConfig.provider, IntegrationConfig.is_active, func.count())
            .group_by(IntegrationConfig.provider, IntegrationConfig.is_active))}
        lease_running, lease_oldest, lease_expired = _leases(hub, s)

    def total(provider: str, action: str, *, success: bool | None = None, code: str | None = None) -> int:
        return sum(n for (p, a, ok, c), n in by.items()
                   if p == provider and a == action and (success is None or ok == success) and (code is None or c == code))

    for p in sorted(set(providers) | {k[0] for k in by}):
        syncs.add(total(p, "sync"), provider=p)
        sync_failures.add(total(p, "sync", success=False), provider=p)
        hooks.add(total(p, "webhook"), provider=p)
        hook_sig.add(total(p, "webhook", success=False, code="signature"), provider=p)
        hook_fail.add(total(p, "webhook", success=False), provider=p)
    for p in providers:
        for active in (True, False):
            configs.add(cfg_counts.get((p, active), 0), provider=p, active=str(active).lower())
    for p, c in sorted(overdue_counts(hub).items()):
        overdue.add(c["late"], provider=p, freshness="late")
        overdue.add(c["failing"], provider=p, freshness="failing")
    running.add(lease_running)
    oldest.add(lease_oldest)
    expired.add(lease_expired)
    up.add(1)
    return [syncs, sync_failures, hooks, hook_sig, hook_fail, configs, overdue, running, oldest, expired, up]


class _Counters:
    """All-time counts of sync and webhook metric rows, without recounting the table each scrape.

    Rows up to a watermark id are summed once into a base; each scrape counts only the rows above
    it (a primary-key range). The watermark only moves over rows older than SETTLE_SECONDS, so a
    row whose id was taken by a transaction that commits a little later is never skipped.
    """

    SETTLE_SECONDS = 300

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[int, dict]] = {}  # database url → (watermark id, base counts)

    @staticmethod
    def _count(s, *where) -> dict[tuple[str, str, bool, str | None], int]:
        m = IntegrationMetric
        stmt = (select(m.provider, m.action, m.success, m.error_code, func.count())
                .where(m.action.in_(("sync", "webhook")), *where)
                .group_by(m.provider, m.action, m.success, m.error_code))
        return {(p, a, bool(ok), c): int(n) for p, a, ok, c, n in s.execute(stmt)}

    def totals(self, hub: Hub, s) -> dict[tuple[str, str, bool, str | None], int]:
        m = IntegrationMetric
        key = hub.engine.url.render_as_string(hide_password=True)
        with self._lock:
            watermark, base = self._state.get(key, (0, {}))
        if watermark and (s.scalar(select(func.max(m.id))) or 0) < watermark:
            watermark, base = 0, {}  # the table was emptied (ids start again): count afresh
        settled = utcnow() - timedelta(seconds=self.SETTLE_SECONDS)
        new_mark = s.scalar(select(func.max(m.id)).where(m.id > watermark, m.created_at < settled))
        if new_mark is not None:
            base = dict(base)
            for k, n in self._count(s, m.id > watermark, m.id <= new_mark).items():
                base[k] = base.get(k, 0) + n
            watermark = new_mark
            with self._lock:
                self._state[key] = (watermark, base)
        totals = dict(base)
        for k, n in self._count(s, m.id > watermark).items():
            totals[k] = totals.get(k, 0) + n
        return totals

    def reset(self) -> None:
        with self._lock:
            self._state.clear()


_COUNTERS = _Counters()


def _leases(hub: Hub, session) -> tuple[int, float, int]:
    from .services.fleet import SyncState, _has_table

    if SyncState is None or not _has_table(hub, "sync_state"):
        return 0, 0.0, 0
    try:
        from .sync.lease import db_now  # the clock the leases are written with (the database's on PostgreSQL)

        now = db_now(session)
    except ImportError:  # pragma: no cover
        now = utcnow()
    held = SyncState.lease_token.is_not(None)
    live = (held, SyncState.lease_expires_at > now)
    n, oldest_start = session.execute(select(func.count(), func.min(SyncState.started_at)).where(*live)).one()
    dead = session.scalar(select(func.count()).select_from(SyncState).where(held, SyncState.lease_expires_at <= now))
    age = max(0.0, (now - oldest_start).total_seconds()) if oldest_start else 0.0
    return int(n or 0), round(age, 3), int(dead or 0)


_cache_lock = threading.Lock()
_cache: dict[int, tuple[float, str]] = {}


def metrics_text(hub: Hub) -> str:
    """The whole exposition. Cached for INTEGHUB_METRICS_CACHE_SECONDS so several scrapers are cheap."""
    key = id(hub)
    with _cache_lock:
        hit = _cache.get(key)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    started = time.monotonic()
    lines: list[str] = []
    for family in collect(hub):
        lines.extend(family.render())
    lines.append("# HELP integhub_metrics_scrape_seconds Time spent collecting these metrics.")
    lines.append("# TYPE integhub_metrics_scrape_seconds gauge")
    lines.append(f"integhub_metrics_scrape_seconds {time.monotonic() - started:.6f}")
    text = "\n".join(lines) + "\n"
    with _cache_lock:
        _cache[key] = (time.monotonic(), text)
    return text


def _authorized(header: str | None) -> bool:
    token = os.environ.get("INTEGHUB_METRICS_TOKEN", "")
    if not token:
        return True
    given = (header or "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


async def metrics_endpoint(request):
    """Starlette route for GET /api/metrics."""
    from starlette.responses import PlainTextResponse

    from .web import route_hub

    if not _authorized(request.headers.get("authorization")):
        return PlainTextResponse("unauthorized\n", status_code=401)
    try:
        text = await asyncio.to_thread(lambda: metrics_text(route_hub()))
    except Exception as exc:  # noqa: BLE001 - a scrape gets a status, never a traceback
        body = ("# HELP integhub_database_up 1 when the database answered this scrape.\n"
                "# TYPE integhub_database_up gauge\ninteghub_database_up 0\n")
        return PlainTextResponse(body, status_code=503, media_type=CONTENT_TYPE,
                                 headers={"X-Error": type(exc).__name__})
    return PlainTextResponse(text, media_type=CONTENT_TYPE)

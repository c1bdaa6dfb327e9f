"""Sync engine entry point — the interface pages, CLI, worker and the save flow call.

`run_sync` runs one (company, provider) now under the same lease the worker uses (integhub.sync)
and audits each manually started run (`sync.started`);
`running_sync` tells whether a run holds that lease; `sync_status` adds the worker's view (backoff,
last run) for status cards.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from ..db import Hub
from ..models_sync import SyncRun, SyncState
from ..sync.options import SyncOptions
from ..sync.result import SyncAlreadyRunning, SyncResult
from .audit import record_audit
from .companies import parse_uuid

__all__ = ["SyncAlreadyRunning", "SyncOptions", "SyncResult", "run_sync", "running_sync", "sync_status"]


def run_sync(hub, company_id, provider: str, *, actor: str = "system", trigger: str = "manual",
             progress: Callable[[str, dict[str, Any]], None] | None = None, options: SyncOptions | None = None,
             force_deletes: bool = False, cancel: threading.Event | None = None) -> SyncResult:
    """Sync one (company, provider) now, under the same lease the worker uses.

    This is the entry point for every sync a person starts (the UI's button: trigger "ui", the
    fleet page: "bulk", `python -m integhub sync`: "cli", the save flow with auto-sync: "save", the
    demo: "demo"), and each one that really starts is audited here as `sync.started` by `actor`
    with its trigger. The worker's scheduled runs go to `integhub.sync.engine.run` directly and are
    not audited one by one: they are in sync_runs and the metrics (trigger "worker").

    The audit row is written in the transaction that claims the lease, so it exists exactly when
    the run started. Raises SyncAlreadyRunning when another run holds the lease (nothing audited).
    `progress(step, counts)` is called after each object type so the UI can show it.
    `force_deletes=True` lets a run soft-delete more than half of an object type (after an admin
    confirmed the remote really lost them). A failed run returns `success=False` with a clear `error`; earlier synced data
    stays as it was.
    """
    from ..sync import engine

    def audit_start(session) -> None:  # in the claiming transaction: recorded exactly when the run starts
        record_audit(session, actor=actor, action="sync.started", company_id=cid, provider=provider,
                     details={"trigger": trigger})

    cid = parse_uuid(company_id)
    return engine.run(hub, cid, provider, actor=actor, trigger=trigger, progress=progress, options=options,
                      force_deletes=force_deletes, cancel=cancel, on_started=audit_start)


def running_sync(hub, company_id, provider: str) -> dict[str, Any] | None:
    """The run currently holding the lease ({"started_at", "holder", "trigger", "actor", "expires_at",
    "heartbeat_at"}; times naive UTC), or None."""
    from ..sync import lease

    return lease.running(hub, parse_uuid(company_id), provider)


def sync_status(hub: Hub, company_id, provider: str) -> dict[str, Any]:
    """The sync side of a status card (JSON-ready, times ISO UTC):

    {"running": {started_at, holder, trigger, actor} | None,
     "consecutive_failures": int, "next_attempt_at": iso | None, "backing_off": bool,
     "last_run": {started_at, finished_at, success, trigger, actor, counts, deleted, records_synced,
                  duration_ms, error_code, error} | None}
    """
    cid = parse_uuid(company_id)
    run = running_sync(hub, cid, provider)
    with hub.session() as s:
        state = s.execute(select(SyncState.consecutive_failures, SyncState.next_attempt_at)
                          .where(SyncState.company_id == cid, SyncState.provider == provider)).first()
        last = s.scalars(select(SyncRun).where(SyncRun.company_id == cid, SyncRun.provider == provider,
                                               SyncRun.success.is_not(None))
                         .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(1)).first()
    from ..models import utcnow

    next_at = state.next_attempt_at if state else None
    return {
        "running": None if run is None else {k: _iso(v) if isinstance(v, datetime) else v
                                             for k, v in run.items() if k in ("started_at", "holder", "trigger", "actor")},
        "consecutive_failures": int(state.consecutive_failures or 0) if state else 0,
        "next_attempt_at": _iso(next_at),
        "backing_off": bool(next_at and next_at > utcnow()),
        "last_run": None if last is None else {
            "started_at": _iso(last.started_at), "finished_at": _iso(last.finished_at), "success": last.success,
            "trigger": last.trigger, "actor": last.actor, "counts": dict(last.counts or {}),
            "deleted": dict(last.deleted or {}), "records_synced": last.records_synced,
            "duration_ms": last.duration_ms, "error_code": last.error_code, "error": last.error,
        },
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=timezone.utc).isoformat()

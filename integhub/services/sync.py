"""Sync engine entry point — the interface pages, CLI, worker and the save flow call.

(The Sync engine issue fills in the implementation; until then `run_sync` is not available.)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import HubError, NotAvailable


@dataclass
class SyncResult:
    company_id: str
    provider: str
    success: bool
    records_synced: int = 0
    duration_ms: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # a clear message (German or English), never a traceback or secret
    error_code: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The contract's `sync --json` document."""
        return {"company_id": self.company_id, "provider": self.provider, "success": self.success,
                "records_synced": self.records_synced, "duration_ms": self.duration_ms,
                "counts": self.counts, "error": self.error}


class SyncAlreadyRunning(HubError):
    key = "sync.already_running"

    def __init__(self, started_at: datetime | None = None, **kwargs):
        self.started_at = started_at
        super().__init__(None, started_at=started_at.isoformat(timespec="seconds") if started_at else "?", **kwargs)


def run_sync(hub, company_id, provider: str, *, actor: str = "system", trigger: str = "manual",
             progress: Callable[[str, dict[str, Any]], None] | None = None) -> SyncResult:
    """Sync one (company, provider) now, under the same lease the worker uses.

    Raises SyncAlreadyRunning when another run holds the lease. `progress(step, counts)` is called
    after each object type so the UI can show it.
    """
    raise NotAvailable()


def running_sync(hub, company_id, provider: str) -> dict[str, Any] | None:
    """The run currently holding the lease ({"started_at", "holder"}), or None."""
    return None

"""What a sync run returns, and the failures the engine itself raises (all HubErrors with i18n keys)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import HubError


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
    deleted: dict[str, int] = field(default_factory=dict)  # soft-deleted per object type
    run_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The contract's `sync --json` document."""
        return {"company_id": self.company_id, "provider": self.provider, "success": self.success,
                "records_synced": self.records_synced, "duration_ms": self.duration_ms,
                "counts": self.counts, "error": self.error}


class SyncAlreadyRunning(HubError):
    key = "sync.already_running"
    code = "already_running"

    def __init__(self, started_at: datetime | None = None, **kwargs):
        self.started_at = started_at
        super().__init__(None, started_at=started_at.isoformat(timespec="seconds") if started_at else "?", **kwargs)


class SyncStopped(HubError):
    """A run ended early for a reason of the engine's own (not a provider error). `code` goes into
    the metric's error_code."""

    code = "sync_stopped"


class DeleteGuardTripped(SyncStopped):
    key = "sync_engine.delete_guard"
    code = "delete_guard"

    def __init__(self, object_type: str, would_delete: int, stored: int):
        self.object_type, self.would_delete, self.stored = object_type, would_delete, stored
        super().__init__(None, object_type=object_type, would_delete=would_delete, stored=stored)


class LeaseLost(SyncStopped):
    key = "sync_engine.lease_lost"
    code = "lease_lost"


class SyncCancelled(SyncStopped):
    key = "sync_engine.cancelled"
    code = "cancelled"


class TeamNotFound(SyncStopped):
    key = "validation.team_not_found"
    code = "team_not_found"

    def __init__(self, slug: str):
        super().__init__(None, slug=slug)

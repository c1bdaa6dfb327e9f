"""Tables of the sync engine: per-(company, provider) state with the lease, and the run history.

Migration: integhub/migrations/versions/0003_sync_engine.py. Times are naive UTC like everywhere else.
The roll-up of integration_metrics that 0003 also created lives in integhub/models_metrics.py.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntPK, JSONType, utcnow


class SyncState(Base):
    """One row per (company, provider) that was ever synced.

    The lease: a run holds it while `lease_token` is set and `lease_expires_at` lies ahead; a
    heartbeat moves the expiry on, so the work of a killed process is taken over once it passes.
    Claiming is one atomic `INSERT … ON CONFLICT DO UPDATE … WHERE lease expired` (both dialects).
    Backoff: `consecutive_failures` and `next_attempt_at` hold back a pair that keeps failing.
    """

    __tablename__ = "sync_state"
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(50), primary_key=True)
    # the lease
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_holder: Mapped[str | None] = mapped_column(String(255), nullable=True)  # host:pid:run
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    lease_trigger: Mapped[str | None] = mapped_column(String(20), nullable=True)
    lease_actor: Mapped[str | None] = mapped_column(String(255), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # of the running sync
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # backoff
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # the last finished run
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_success: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    last_error_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    last_counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # incremental positions, e.g. {"calls_start_ms": 1764000000000}
    cursors: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    def __repr__(self) -> str:
        return f"SyncState(company_id={self.company_id}, provider={self.provider!r}, holder={self.lease_holder!r})"


class SyncRun(Base):
    """One row per sync run: who started it, how it ended, what it saw per object type."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("idx_sync_runs_company_provider_started", "company_id", "provider", "started_at"),)
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(50))
    trigger: Mapped[str] = mapped_column(String(20))  # worker | manual | cli | save
    actor: Mapped[str] = mapped_column(String(255))
    holder: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    success: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # None while running
    records_synced: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    deleted: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # soft-deleted per object type
    error_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

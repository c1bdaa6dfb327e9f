"""Which (company, provider) pairs are due for a sync.

Due: the integration is active with a key, auto-sync is on, the last successful sync is older than
the configured interval (or there was none), no live lease holds the pair, and it is not backing
off after failures (`sync_state.next_attempt_at`). The interval is one of the spec's values
(15/30/60/1440 minutes), so the test is a CASE over them and works the same on both dialects.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, or_, select

from ..db import Hub
from ..models import IntegrationConfig
from ..models_sync import SyncState
from ..providers import all_providers
from ..validation import SYNC_INTERVALS
from .lease import db_now

DEFAULT_INTERVAL = 60


@dataclass(frozen=True)
class DuePair:
    company_id: uuid.UUID
    provider: str
    last_sync_at: datetime | None


def due_pairs(hub: Hub, *, limit: int | None = None) -> tuple[datetime, list[DuePair]]:
    """(the database's "now", the due pairs, longest-waiting first)."""
    ic, st = IntegrationConfig.__table__, SyncState.__table__
    with hub.session() as s:
        now = db_now(s)
        interval = ic.c.settings["sync_interval"].as_integer()
        threshold = case(*[(interval == minutes, now - timedelta(minutes=minutes)) for minutes in SYNC_INTERVALS],
                         else_=now - timedelta(minutes=DEFAULT_INTERVAL))
        query = (
            select(ic.c.company_id, ic.c.provider, ic.c.last_sync_at)
            .select_from(ic.outerjoin(st, and_(st.c.company_id == ic.c.company_id, st.c.provider == ic.c.provider)))
            .where(
                ic.c.provider.in_([p.name for p in all_providers()]),
                ic.c.is_active.is_(True),
                ic.c.api_key.is_not(None),
                ic.c.settings["auto_sync_enabled"].as_boolean().is_(True),
                or_(ic.c.last_sync_at.is_(None), ic.c.last_sync_at <= threshold),
                or_(st.c.lease_token.is_(None), st.c.lease_expires_at < now),
                or_(st.c.next_attempt_at.is_(None), st.c.next_attempt_at <= now),
            )
            .order_by(ic.c.last_sync_at.is_not(None), ic.c.last_sync_at, ic.c.company_id, ic.c.provider)
        )
        if limit:
            query = query.limit(limit)
        rows = s.execute(query).all()
    return now, [DuePair(r.company_id, r.provider, r.last_sync_at) for r in rows]


def taken_since(hub: Hub, since: datetime) -> set[tuple[uuid.UUID, str]]:
    """Pairs that are running now or finished a run since `since`: a worker that listed them as due
    at `since` can drop them without trying to claim each one."""
    return TakenPairs(since).refresh(hub)


# A run's last_finished_at is stamped shortly before its transaction commits; rows this much older
# than the previous query are asked for again, so a late commit is not missed (a miss would only
# cost one claim attempt that fails).
_LATE_COMMIT = timedelta(seconds=2)


class TakenPairs:
    """`taken_since` kept up to date cheaply: each refresh asks only for what finished since the
    previous one (the set only grows: a pair taken since `since` stays taken)."""

    def __init__(self, since: datetime) -> None:
        self.since = since
        self.pairs: set[tuple[uuid.UUID, str]] = set()
        self._next_since = since

    def refresh(self, hub: Hub) -> set[tuple[uuid.UUID, str]]:
        st = SyncState.__table__
        with hub.session() as s:
            now = db_now(s)
            rows = s.execute(select(st.c.company_id, st.c.provider).where(
                or_(and_(st.c.lease_token.is_not(None), st.c.lease_expires_at >= now),
                    st.c.last_finished_at >= self._next_since)
            )).all()
        self.pairs.update((cid, provider) for cid, provider in rows)
        self._next_since = max(self.since, now - _LATE_COMMIT)
        return self.pairs

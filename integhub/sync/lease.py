"""One run at a time per (company, provider), across threads, processes and machines.

The lease is a row of `sync_state`. Claiming it is a single atomic statement on both dialects:

    INSERT INTO sync_state (...) VALUES (...)
    ON CONFLICT (company_id, provider) DO UPDATE SET lease_token = excluded.lease_token, ...
    WHERE sync_state.lease_token IS NULL OR sync_state.lease_expires_at < now

PostgreSQL locks the conflicting row and evaluates the WHERE on its newest version, so of two
concurrent claimers exactly one gets rowcount 1; SQLite has a single writer anyway. A heartbeat
moves `lease_expires_at` on while the run is alive; when a process dies the lease simply runs out
and the next claimer takes over. Every write of a run is fenced: its transaction first re-extends the
lease by token and gives up (LeaseLost) if the token is no longer there.

On PostgreSQL lease times come from the database clock, so machines with skewed clocks agree.
"""
from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Float, TextClause, bindparam, func, literal_column, or_, select, update
from sqlalchemy.orm import Session

from ..db import Hub
from ..models import utcnow
from ..models_sync import SyncState
from .result import LeaseLost
from .upsert import compiled_text, dialect_insert

log = logging.getLogger(__name__)

STATE = SyncState.__table__


def holder_name() -> str:
    """host:pid:thread — names who holds a lease in the UI and in logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:255]


# "Now" on PostgreSQL: the database clock, shared by all machines (naive UTC). Written out rather
# than as func.timezone(...) so that it carries no bind parameter into the compiled claim statement.
_PG_NOW_SQL = "timezone('UTC', clock_timestamp())"
PG_NOW = literal_column(_PG_NOW_SQL, DateTime())


def db_now(session: Session) -> datetime:
    """Naive UTC from the database's clock on PostgreSQL (shared by all machines), else this process's."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(select(PG_NOW)).scalar_one()
    return utcnow()


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@dataclass
class Lease:
    company_id: uuid.UUID
    provider: str
    token: str
    holder: str
    trigger: str
    actor: str
    started_at: datetime
    lease_seconds: float
    cursors: dict[str, Any] = field(default_factory=dict)  # the pair's stored sync cursors, as claimed
    lost: threading.Event = field(default_factory=threading.Event)


def claim(hub: Hub, company_id: uuid.UUID, provider: str, *, trigger: str, actor: str, lease_seconds: float,
          holder: str | None = None, unless_finished_since: datetime | None = None) -> Lease | None:
    """Take the lease in a transaction of its own (see `claim_in`), or return None when another live
    run holds it."""
    with hub.session() as s:
        return claim_in(s, company_id, provider, trigger=trigger, actor=actor, lease_seconds=lease_seconds,
                        holder=holder, unless_finished_since=unless_finished_since)


def claim_in(session: Session, company_id: uuid.UUID, provider: str, *, trigger: str, actor: str,
             lease_seconds: float, holder: str | None = None,
             unless_finished_since: datetime | None = None) -> Lease | None:
    """Take the lease within the caller's transaction (it holds once that commits), or None.

    One statement decides. `unless_finished_since`: the worker's re-check of due-ness. It listed the
    pair as due at that moment; if any run finished since (another worker's or a manual one), it is
    no longer due and the claim fails, so a due sync runs exactly once however many workers saw it.
    """
    dialect = _dialect(session)
    params = {"company_id": company_id, "provider": provider, "lease_token": uuid.uuid4().hex,
              "lease_holder": holder or holder_name(), "lease_trigger": trigger[:20],
              "lease_actor": (actor or "system")[:255], "lease_seconds": float(lease_seconds)}
    if dialect != "postgresql":
        now = utcnow()
        params.update(now=now, expires=now + timedelta(seconds=lease_seconds))
    if unless_finished_since is not None:
        params["finished_since"] = unless_finished_since
    row = session.execute(_claim_statement(dialect, unless_finished_since is not None), params).first()
    if row is None:
        return None
    return Lease(company_id, provider, params["lease_token"], params["lease_holder"], trigger, actor, row.started_at,
                 lease_seconds, cursors=dict(row.cursors or {}))


@functools.lru_cache(maxsize=8)
def _claim_statement(dialect: str, with_finished_since: bool) -> TextClause:
    """The claim as a cached text statement: the dialects' INSERT … ON CONFLICT has no cache key, so
    it would otherwise be compiled anew for every sync (see integhub.sync.upsert.compiled_text)."""
    if dialect == "postgresql":
        # The database clock, shared by every machine; `lease_seconds` is a bind parameter.
        now = PG_NOW
        expires = literal_column(f"{_PG_NOW_SQL} + make_interval(secs => :lease_seconds)", DateTime())
    else:
        now, expires = bindparam("now", type_=DateTime()), bindparam("expires", type_=DateTime())
    binds = {name: bindparam(name, type_=STATE.c[name].type)
             for name in ("company_id", "provider", "lease_token", "lease_holder", "lease_trigger", "lease_actor")}
    lease_cols = {"lease_token": binds["lease_token"], "lease_holder": binds["lease_holder"],
                  "lease_expires_at": expires, "lease_trigger": binds["lease_trigger"],
                  "lease_actor": binds["lease_actor"], "started_at": now, "heartbeat_at": now}
    stmt = dialect_insert(dialect)(STATE).values(company_id=binds["company_id"], provider=binds["provider"],
                                                 consecutive_failures=literal_column("0"),
                                                 last_counts=literal_column("'{}'"), cursors=literal_column("'{}'"),
                                                 **lease_cols)
    free = or_(STATE.c.lease_token.is_(None), STATE.c.lease_expires_at.is_(None), STATE.c.lease_expires_at < now)
    extra = [bindparam("lease_seconds", type_=Float())] if dialect == "postgresql" else []
    if with_finished_since:
        since = bindparam("finished_since", type_=DateTime())
        free = free & or_(STATE.c.last_finished_at.is_(None), STATE.c.last_finished_at < since)
        extra.append(since)
    stmt = stmt.on_conflict_do_update(
        index_elements=["company_id", "provider"],
        set_={name: stmt.excluded[name] for name in lease_cols},
        where=free,
    ).returning(STATE.c.started_at, STATE.c.cursors)
    return compiled_text(dialect, stmt, [*binds.values(), *extra], columns=[STATE.c.started_at, STATE.c.cursors])


def extend(session: Session, lease: Lease) -> bool:
    """Move the expiry on (heartbeat and fence). False when the lease is no longer ours."""
    dialect = _dialect(session)
    params = {"b_company_id": lease.company_id, "b_provider": lease.provider, "b_token": lease.token,
              "lease_seconds": float(lease.lease_seconds)}
    if dialect != "postgresql":
        now = utcnow()
        params.update(now=now, expires=now + timedelta(seconds=lease.lease_seconds))
    return session.execute(_extend_statement(dialect), params).rowcount == 1


@functools.lru_cache(maxsize=4)
def _extend_statement(dialect: str):
    """Built once: every run extends its lease several times (fence per object type, heartbeat)."""
    if dialect == "postgresql":
        now = PG_NOW
        expires = now + func.make_interval(0, 0, 0, 0, 0, 0, bindparam("lease_seconds", type_=Float()))
    else:
        now, expires = bindparam("now", type_=DateTime()), bindparam("expires", type_=DateTime())
    return (update(STATE)
            .where(STATE.c.company_id == bindparam("b_company_id"), STATE.c.provider == bindparam("b_provider"),
                   STATE.c.lease_token == bindparam("b_token"))
            .values(lease_expires_at=expires, heartbeat_at=now)
            .execution_options(preserve_rowcount=True))


def fence(session: Session, lease: Lease) -> None:
    """Still ours, or stop (LeaseLost). Run it as the last statement of a run's write transaction:
    on PostgreSQL it also locks the state row until the commit, so nobody claims the lease between
    the check and the commit."""
    if lease.lost.is_set() or not extend(session, lease):
        lease.lost.set()
        raise LeaseLost()


def release(session: Session, lease: Lease, **outcome: Any) -> bool:
    """Give the lease up and record the run's outcome columns in the same statement
    (`last_finished_at` is set to now)."""
    dialect = _dialect(session)
    params = {"b_company_id": lease.company_id, "b_provider": lease.provider, "b_token": lease.token,
              **{f"o_{name}": value for name, value in outcome.items()}}
    if dialect != "postgresql":
        params["now"] = utcnow()
    return session.execute(_release_statement(dialect, tuple(sorted(outcome))), params).rowcount == 1


@functools.lru_cache(maxsize=16)
def _release_statement(dialect: str, outcome_columns: tuple[str, ...]):
    now = PG_NOW if dialect == "postgresql" else bindparam("now", type_=DateTime())
    outcome = {name: bindparam(f"o_{name}", type_=STATE.c[name].type) for name in outcome_columns}
    return (update(STATE)
            .where(STATE.c.company_id == bindparam("b_company_id"), STATE.c.provider == bindparam("b_provider"),
                   STATE.c.lease_token == bindparam("b_token"))
            .values(lease_token=None, lease_holder=None, lease_expires_at=None, lease_trigger=None, lease_actor=None,
                    started_at=None, heartbeat_at=None, last_finished_at=now, **outcome)
            .execution_options(preserve_rowcount=True))


def release_quietly(hub: Hub, lease: Lease) -> None:
    """Best effort after a crash of the run itself: free the lease so nobody waits for its expiry."""
    try:
        with hub.session() as s:
            release(s, lease)
    except Exception:  # the database may be what failed; the lease then expires on its own
        log.warning("could not release the sync lease of %s/%s; it expires on its own",
                    lease.company_id, lease.provider)


@contextmanager
def heartbeat(hub: Hub, lease: Lease, interval: float) -> Iterator[None]:
    """Extend the lease every `interval` seconds in a background thread while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with hub.session() as s:
                    if not extend(s, lease):
                        lease.lost.set()
                        return
            except Exception:  # a database hiccup: try again next beat; the fence catches real loss
                log.warning("sync lease heartbeat failed for %s/%s", lease.company_id, lease.provider)

    thread = threading.Thread(target=beat, name=f"lease-heartbeat:{lease.provider}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 5)


def running(hub: Hub, company_id: uuid.UUID, provider: str) -> dict[str, Any] | None:
    """The live lease of a pair ({started_at, holder, trigger, actor, expires_at}), or None."""
    with hub.session() as s:
        now = db_now(s)
        row = s.execute(select(STATE).where(STATE.c.company_id == company_id, STATE.c.provider == provider,
                                            STATE.c.lease_token.is_not(None),
                                            STATE.c.lease_expires_at >= now)).mappings().first()
    if row is None:
        return None
    return {"started_at": row["started_at"], "holder": row["lease_holder"], "trigger": row["lease_trigger"],
            "actor": row["lease_actor"], "expires_at": row["lease_expires_at"], "heartbeat_at": row["heartbeat_at"]}

"""A sync run for one (company, provider), as ../shared/contract.md "What a sync reads" describes.

Shape of a run:
1. claim the lease (integhub.sync.lease), open a `sync_runs` row, start the heartbeat;
2. per object type: the listing is read on a reader thread (listings one after another, queued
   ahead, so the next one is on the network while this one is stored) and handed over in chunks;
   the storing side stages the rows as they arrive (on PostgreSQL by COPY into a temporary table,
   so a long listing is on the server by the time its last page arrives) and, once the listing is
   complete, in ONE transaction bulk-upserts them, soft-deletes what the listing no longer has
   (unless the delete guard trips), runs discovery mapping and, last, re-checks the lease (fence);
   a failure later in the run leaves earlier object types committed and this one untouched;
3. one closing transaction: the run row, the `integration_metrics` row (action "sync"),
   last_sync_at / last_error on integration_configs (without touching its optimistic-lock version),
   backoff state, and the lease released — together, so a worker that re-checks due-ness after
   claiming sees either all of it or none.

Soft deletes only ever follow a complete listing of that object type, and only within what the
listing covered (bookings from the window start on; Retell calls within the incremental window).
Rows written by someone else during the run (webhooks) have a newer `synced_at` than the run's start
and are never deleted by it.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from ..crypto import context_for
from ..db import Hub
from ..errors import HubError, NotFound
from ..i18n import t
from ..models import (
    CalcomBooking,
    CalcomEventType,
    CalcomUser,
    Company,
    IntegrationConfig,
    RetellAgent,
    RetellCall,
    RetellPhoneNumber,
    utcnow,
)
from ..models_sync import SyncRun, SyncState
from ..providers import get_provider
from ..providers.errors import MalformedResponse, ProviderError
from ..redaction import remember_secret
from ..services.companies import parse_uuid
from ..services.configs import describe_error
from ..services.mappings import auto_map_event_types, auto_map_users
from ..services.metrics import record_metric
from . import lease as leases
from . import normalize
from .gc_tuning import fewer_collections
from .options import SyncOptions
from .result import (
    DeleteGuardTripped,
    LeaseLost,
    SyncAlreadyRunning,
    SyncCancelled,
    SyncResult,
    SyncStopped,
    TeamNotFound,
)
from .upsert import UpsertStream

log = logging.getLogger(__name__)

CONFIGS = IntegrationConfig.__table__
RUNS = SyncRun.__table__
STATES = SyncState.__table__
DELETE_CHUNK = 500
CHECK_EVERY = 100  # items between lease/cancel checks while reading a listing
CHUNK_ROWS = 250  # rows handed from the reader to the storing side at a time
_END = object()

Progress = Callable[[str, dict[str, Any]], None]


def run(hub: Hub, company_id: object, provider: str, *, actor: str = "system", trigger: str = "manual",
        progress: Progress | None = None, options: SyncOptions | None = None, force_deletes: bool = False,
        cancel: threading.Event | None = None, unless_finished_since: datetime | None = None,
        raise_if_running: bool = True, on_started: Callable[[Session], None] | None = None) -> SyncResult | None:
    """Sync one pair under its lease.

    Raises SyncAlreadyRunning when another run holds the lease (or returns None with
    `raise_if_running=False`, the worker's way). NotFound for an unknown company. A pair that is not
    configured or inactive gives a failed result without a run. `on_started(session)` runs in the
    transaction that claims the lease (e.g. to audit the start): it commits exactly when the run starts.
    """
    cid = parse_uuid(company_id)
    prov = get_provider(provider)
    options = options or SyncOptions.from_env()
    # The run's own transactions share one connection, held for the run: no pool checkout (and
    # liveness ping) per transaction. The heartbeat thread uses the pool as usual.
    with hub.engine.connect() as connection:
        runner = SyncRunner(hub, None, {}, options, progress=progress, force_deletes=force_deletes, cancel=cancel,
                            connection=connection)
        # One transaction reads the configuration, claims the lease and opens the run's record.
        with runner.transaction() as s:
            config = s.execute(_config_query(), {"company_id": cid, "provider": prov.name}).first()
            if config is None:
                raise NotFound("hub.company_not_found")
            if not config.api_key:
                return _refused(cid, prov.name, "sync_engine.not_configured", "not_configured")
            if not config.is_active:
                return _refused(cid, prov.name, "sync_engine.inactive", "inactive")
            runner.settings = dict(config.settings or {})
            lease = leases.claim_in(s, cid, prov.name, trigger=trigger, actor=actor,
                                    lease_seconds=options.lease_seconds, unless_finished_since=unless_finished_since)
            if lease is not None:
                runner.open_run(s, lease)
                if on_started is not None:
                    on_started(s)
        if lease is None:
            if not raise_if_running:
                return None
            current = leases.running(hub, cid, prov.name)
            raise SyncAlreadyRunning(current["started_at"] if current else None)
        try:
            with leases.heartbeat(hub, lease, options.heartbeat_interval), fewer_collections():
                return runner.execute(config.api_key)
        except BaseException:
            leases.release_quietly(hub, lease)  # no-op when the run already released it
            raise


# The closing statements of every run, built once (a fleet runs thousands of syncs a round).
@functools.lru_cache(maxsize=2)
def _config_outcome_statement(success: bool):
    """last_sync_at and a cleared last_error on success, last_error on failure; updated_at stays (it
    tells admins when the *configuration* changed) and so does the optimistic-lock version."""
    values = {"last_sync_at": bindparam("v_last_sync_at"), "last_error": None} if success else {
        "last_error": bindparam("v_last_error")}
    return (update(CONFIGS).where(CONFIGS.c.company_id == bindparam("b_company_id"),
                                  CONFIGS.c.provider == bindparam("b_provider"))
            .values(updated_at=CONFIGS.c.updated_at, **values))


@functools.cache
def _run_end_statement():
    return update(RUNS).where(RUNS.c.id == bindparam("b_id")).values(
        {name: bindparam(f"v_{name}") for name in ("finished_at", "success", "records_synced", "duration_ms", "counts",
                                                   "deleted", "error_code", "error")})


@functools.lru_cache(maxsize=32)
def _live_keys_query(table, key: str, scope_column):
    """Keys of a company's stored, not deleted rows that were synced before `b_mark` (and, with a
    scope column, from `b_scope_from` on): what a complete listing must still contain."""
    query = select(table.c[key]).where(table.c.company_id == bindparam("b_company_id"), table.c.deleted_at.is_(None),
                                       table.c.synced_at < bindparam("b_mark"))
    return query.where(scope_column >= bindparam("b_scope_from")) if scope_column is not None else query


@functools.cache
def _config_query():
    """The company and its configuration for one provider (outer join: a company without one)."""
    return (select(Company.id, CONFIGS.c.api_key, CONFIGS.c.is_active, CONFIGS.c.settings)
            .select_from(Company.__table__.outerjoin(CONFIGS, (CONFIGS.c.company_id == Company.id)
                                                     & (CONFIGS.c.provider == bindparam("provider"))))
            .where(Company.id == bindparam("company_id")))


def _refused(cid: uuid.UUID, provider: str, key: str, code: str) -> SyncResult:
    return SyncResult(str(cid), provider, False, error=t(key, provider=get_provider(provider).display_name),
                      error_code=code)


class SyncRunner:
    """One run: reads each object type, stores it in its own transaction, records the outcome."""

    def __init__(self, hub: Hub, lease: leases.Lease | None, settings: dict[str, Any], options: SyncOptions, *,
                 progress: Progress | None = None, force_deletes: bool = False,
                 cancel: threading.Event | None = None, connection: Connection | None = None) -> None:
        self.hub, self.lease, self.settings, self.options = hub, lease, settings, options
        self.connection = connection
        self.progress, self.force_deletes, self.cancel = progress, force_deletes, cancel
        self.counts: dict[str, int] = {}
        self.deleted: dict[str, int] = {}
        self.run_id: int | None = None
        self.cursor_updates: dict[str, Any] = {}
        self.calls_window: tuple[int, int | None] = (0, None)
        # Listings are read one after another on one reader thread, queued ahead of the stores, so
        # the next listing's requests wait on the network while this one's transaction runs (one
        # request in flight per key, as before; only the waiting overlaps).
        self._reader: ThreadPoolExecutor | None = None
        self._abandon = threading.Event()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One of the run's transactions: on the run's connection when it has one, else from the pool."""
        if self.connection is None:
            with self.hub.session() as s:
                yield s
            return
        with Session(bind=self.connection, expire_on_commit=False) as s, s.begin():
            yield s

    # --- the run ---------------------------------------------------------------------------------
    def execute(self, api_key_token: str) -> SyncResult:
        """The run itself; the lease is held and the run row open (`open_run`)."""
        started = time.monotonic()
        error: BaseException | None = None
        try:
            api_key = self.hub.keyring.decrypt(api_key_token, context_for(self.cid, self.provider, "api_key"))
            remember_secret(api_key)
            client = get_provider(self.provider).client(api_key, timeout=self.options.request_timeout,
                                                        retry=self.options.retry)
            self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-read")
            try:
                if self.provider == "calcom":
                    self._sync_calcom(client)
                elif self.provider == "retell":
                    self._sync_retell(client)
                else:  # a provider registered without sync steps
                    raise SyncStopped("sync_engine.no_steps")
            finally:
                # After a failure, listings queued ahead are not read; one already reading stops at
                # its next check. Nothing read ahead is ever stored.
                self._abandon.set()
                self._reader.shutdown(wait=True, cancel_futures=True)
                client.close()
        except (ProviderError, HubError) as exc:
            error = exc
        except Exception as exc:  # a bug or a database failure: still a clean, recorded failure
            log.exception("sync %s/%s failed unexpectedly", self.cid, self.provider)
            error = exc
        except BaseException as exc:  # interpreter shutdown, a UI rerun inside `progress`: record, then go on
            self._finish(started, SyncCancelled())
            raise exc
        return self._finish(started, error)

    def _check(self) -> None:
        if self._abandon.is_set():
            raise SyncCancelled()
        if self.cancel is not None and self.cancel.is_set():
            raise SyncCancelled()
        if self.lease.lost.is_set():
            raise LeaseLost()

    def _read(self, read: Callable[[], Any]) -> Any:
        """A small read (identity) with the same re-read on a malformed answer as the listings."""
        for attempt in range(1, self.options.listing_attempts + 1):
            self._check()
            try:
                return read()
            except MalformedResponse as exc:
                if attempt >= self.options.listing_attempts:
                    raise
                log.info("sync %s/%s: %s; reading again", self.cid, self.provider, exc.code)
        raise AssertionError("unreachable")

    def _step_done(self, name: str) -> None:
        if self.progress is not None:
            self.progress(name, dict(self.counts))

    # --- Cal.com ---------------------------------------------------------------------------------
    def _sync_calcom(self, client) -> None:
        slug = self.settings.get("team_slug")

        def read_identity() -> tuple[dict[str, Any], int | None]:
            me = client.me()
            if not isinstance(me.get("id"), int) or not me.get("username"):
                raise MalformedResponse("calcom", detail="/v2/me: missing id or username")
            if not slug:
                return me, None
            team = client.find_team(slug)
            if team is None:
                raise TeamNotFound(slug)
            return me, int(team["id"])

        me, team_id = self._read(read_identity)

        def read_event_types() -> Iterator[dict[str, Any]]:
            yield from map(normalize.event_type_from_api, client.event_types(me["username"]))
            if team_id is not None:
                for item in client.team_event_types(team_id):
                    yield normalize.event_type_from_api(item, team_id=team_id)

        window_days = int(self.settings.get("booking_window_days") or 90)
        after_start = (utcnow() - timedelta(days=window_days)).replace(microsecond=0)
        page = self.options.bookings_page_size

        def read_users() -> Iterator[dict[str, Any]]:
            if team_id is None:
                yield normalize.user_from_me(me)
            else:
                yield from map(normalize.user_from_membership, client.team_memberships(team_id))

        def read_bookings() -> Iterator[dict[str, Any]]:
            yield from map(normalize.booking_from_rest, client.iter_bookings(after_start=after_start, page_size=page))
            if team_id is not None:  # a booking in both listings is stored once (same uid)
                yield from map(normalize.booking_from_rest,
                               client.iter_bookings(after_start=after_start, team_id=team_id, page_size=page))

        listings = {name: self._read_ahead(read)
                    for name, read in (("event_types", read_event_types), ("users", read_users),
                                       ("bookings", read_bookings))}
        self._store("event_types", CalcomEventType, "remote_id", read_event_types, listing=listings["event_types"],
                    after=lambda s: auto_map_event_types(s, self.cid))
        self._step_done("event_types")

        self._store("users", CalcomUser, "remote_id", read_users, listing=listings["users"],
                    after=lambda s: auto_map_users(s, self.cid))
        self._step_done("users")

        bookings = CalcomBooking.__table__.c
        self._store("bookings", CalcomBooking, "uid", read_bookings, listing=listings["bookings"],
                    scope=(bookings.start_at, after_start),
                    # A webhook may already have stored a newer state than this listing saw.
                    only_if=normalize.booking_not_older)
        self._step_done("bookings")

    # --- Retell ----------------------------------------------------------------------------------
    def _sync_retell(self, client) -> None:
        def read_agents() -> Iterable[dict[str, Any]]:
            return map(normalize.agent_from_api, client.agents())

        def read_phone_numbers() -> Iterable[dict[str, Any]]:
            return map(normalize.phone_number_from_api, client.phone_numbers())

        agents, phone_numbers = self._read_ahead(read_agents), self._read_ahead(read_phone_numbers)
        start_ms, previous = self.calls_window  # read when the lease was claimed
        newest = [previous or 0]

        def read_calls() -> Iterator[dict[str, Any]]:
            for row in map(normalize.call_from_api,
                           client.iter_calls(start_after_ms=start_ms, page_size=self.options.calls_page_size)):
                if row["start_timestamp_ms"] is not None and row["start_timestamp_ms"] > newest[0]:
                    newest[0] = row["start_timestamp_ms"]
                yield row

        calls_listing = self._read_ahead(read_calls)
        self._store("agents", RetellAgent, "agent_id", read_agents, listing=agents)
        self._step_done("agents")

        self._store("phone_numbers", RetellPhoneNumber, "phone_number", read_phone_numbers, listing=phone_numbers)
        self._step_done("phone_numbers")

        def save_cursor(session) -> None:
            if newest[0] and newest[0] != previous:
                self.cursor_updates["calls_start_ms"] = newest[0]
            self._save_cursors(session)

        calls = RetellCall.__table__.c
        self._store("calls", RetellCall, "call_id", read_calls, listing=calls_listing,
                    scope=(calls.start_timestamp_ms, start_ms),
                    # A webhook may already have stored a later stage of the call (ended, analyzed).
                    only_if=normalize.call_stage_not_earlier, after=save_cursor)
        self._step_done("calls")

    def _calls_window_start(self, s, now: datetime) -> tuple[int, int | None]:
        """(where to start reading calls, the stored cursor). First run: the whole window (default 90
        days). Later: from the newest synced start minus the overlap, and never after the start of a
        call we still hold as unfinished (so it is read again)."""
        window_days = int(self.settings.get("call_window_days") or 90)
        window_start = _epoch_ms(now - timedelta(days=window_days))
        cursor = self.lease.cursors.get("calls_start_ms")  # as the claim read them
        if cursor is None:
            return window_start, None
        oldest_open = s.execute(
            select(func.min(RetellCall.start_timestamp_ms))
            .where(RetellCall.company_id == self.cid, RetellCall.deleted_at.is_(None),
                   RetellCall.call_status.in_(("registered", "ongoing")),
                   RetellCall.start_timestamp_ms >= _epoch_ms(now - timedelta(days=1)))
        ).scalar()
        start = int(cursor) - int(self.options.calls_overlap_minutes * 60_000)
        if oldest_open is not None:
            start = min(start, int(oldest_open))
        return max(start, window_start), int(cursor)

    def _save_cursors(self, session) -> None:
        """The run's new cursors over those the claim read (nobody else writes them while we hold the lease)."""
        if not self.cursor_updates:
            return
        session.execute(update(STATES).where(STATES.c.company_id == self.cid, STATES.c.provider == self.provider)
                        .values(cursors={**self.lease.cursors, **self.cursor_updates}))

    # --- storing one object type -----------------------------------------------------------------
    def _read_ahead(self, read: Callable[[], Iterable[dict[str, Any]]]) -> "Listing":
        """Queue a complete read of a listing on the reader thread; its rows are handed over in
        chunks as they arrive (`Listing.chunks`), so storing starts before the last page is in."""
        listing = Listing()

        def complete() -> None:
            try:
                self._check()
                listing.mark = utcnow()
                chunk: list[dict[str, Any]] = []
                for n, row in enumerate(read()):  # no lock on a hub table while the provider answers
                    if n % CHECK_EVERY == 0:
                        self._check()
                    chunk.append(row)
                    if len(chunk) >= CHUNK_ROWS:
                        listing.put(chunk)
                        chunk = []
                listing.put(chunk)
                listing.put(_END)
            except BaseException as exc:  # handed to the storing side, which raises it there
                listing.put(exc)

        self._reader.submit(complete)
        return listing

    def _store(self, name: str, model, key: str, read: Callable[[], Iterable[dict[str, Any]]], *,
               listing: "Listing | None" = None, scope: tuple[Any, Any] | None = None, only_if=None,
               after: Callable | None = None) -> None:
        """Store the complete listing of one object type in one transaction.

        The clients retry transient failures per request; a malformed or truncated page is not
        transient to them but often is to us (a proxy hiccup), so then the transaction is rolled back
        and the whole listing read again, up to `listing_attempts` times.
        """
        for attempt in range(1, self.options.listing_attempts + 1):
            self._check()
            try:
                current, listing = listing or self._read_ahead(read), None  # a second attempt reads again
                return self._store_once(name, model, key, current, scope=scope, only_if=only_if, after=after)
            except MalformedResponse as exc:
                if attempt >= self.options.listing_attempts:
                    raise
                log.info("sync %s/%s: %s in %s; reading the listing again", self.cid, self.provider, exc.code, name)

    def _store_once(self, name: str, model, key: str, listing: "Listing", *,
                    scope: tuple[Any, Any] | None, only_if, after: Callable | None) -> None:
        """Upsert every row of the listing, soft-delete the stored rows it lacks (unless the delete
        guard trips), run `after` (discovery mapping, cursors), check the lease, commit.

        Rows are staged as they arrive (UpsertStream: on PostgreSQL by COPY into a temporary table,
        which locks nothing of the hub's; otherwise in memory), and reach the table only once the
        listing is complete, so a listing that fails half-way changes nothing. Rows others write
        meanwhile (webhooks) carry a `synced_at` after the listing's `mark` and are never soft-deleted
        by this run.
        """
        table = model.__table__
        key_col = table.c[key]
        self._check()
        seen: set[Any] = set()
        with self.transaction() as s:
            stream = UpsertStream(s, model, key_cols=("company_id", key), only_if=only_if)
            stamp = None
            for chunk in listing.chunks():
                self._check()
                stamp = stamp or utcnow()  # after the listing's mark: the reader has begun
                for row in chunk:
                    row.update(company_id=self.cid, synced_at=stamp, deleted_at=None)
                    seen.add(row[key])
                stream.add(chunk)
            # What we held before this listing began and it no longer has: remotely deleted.
            live = set(s.scalars(_live_keys_query(table, key, scope[0] if scope else None),
                                 {"b_company_id": self.cid, "b_mark": listing.mark,
                                  "b_scope_from": scope[1] if scope else None}))
            gone = sorted(live - seen)
            if (not self.force_deletes and len(gone) >= self.options.delete_guard_min
                    and len(gone) > self.options.delete_guard_ratio * len(live)):
                raise DeleteGuardTripped(name, len(gone), len(live))
            stream.finish()
            stamp = stamp or utcnow()
            for start in range(0, len(gone), DELETE_CHUNK):
                s.execute(update(table).where(table.c.company_id == self.cid,
                                              key_col.in_(gone[start:start + DELETE_CHUNK]),
                                              table.c.deleted_at.is_(None), table.c.synced_at < listing.mark)
                          .values(deleted_at=stamp))
            if after is not None:
                after(s)
            # Last statement before the commit: still our lease? (On PostgreSQL this also locks the
            # state row until the commit, so nobody takes the lease over in between.)
            leases.fence(s, self.lease)
        self.counts[name] = len(seen)
        self.deleted[name] = len(gone)

    # --- bookkeeping -----------------------------------------------------------------------------
    def open_run(self, s, lease: leases.Lease) -> None:
        """In the claiming transaction: close runs of a dead holder, open this run's row, and read
        what the run needs from the database before it starts (the Retell calls window)."""
        self.lease, self.cid, self.provider = lease, lease.company_id, lease.provider
        self._close_abandoned(s)
        self.run_id = s.execute(insert(RUNS).returning(RUNS.c.id), {
            "company_id": self.cid, "provider": self.provider, "trigger": lease.trigger[:20],
            "actor": (lease.actor or "system")[:255], "holder": lease.holder, "started_at": lease.started_at,
            "records_synced": 0, "duration_ms": 0, "counts": {}, "deleted": {}}).scalar_one()
        if self.provider == "retell":
            self.calls_window = self._calls_window_start(s, utcnow())

    def _close_abandoned(self, s) -> None:
        """Runs whose process died holding the lease: close them, with their failure metric."""
        now = utcnow()
        abandoned = s.execute(select(RUNS.c.id, RUNS.c.holder, RUNS.c.started_at).where(
            RUNS.c.company_id == self.cid, RUNS.c.provider == self.provider, RUNS.c.success.is_(None))).all()
        for run in abandoned:
            duration_ms = int((now - run.started_at).total_seconds() * 1000)
            s.execute(update(RUNS).where(RUNS.c.id == run.id).values(
                success=False, finished_at=now, error_code="abandoned", duration_ms=duration_ms,
                error=t("sync_engine.abandoned", holder=run.holder)))
            record_metric(s, company_id=self.cid, provider=self.provider, action="sync", success=False,
                          duration_ms=duration_ms, records_synced=0, error_code="abandoned")

    def _finish(self, started: float, error: BaseException | None) -> SyncResult:
        duration_ms = int((time.monotonic() - started) * 1000)
        records = sum(self.counts.values())
        success = error is None
        code = None if success else (getattr(error, "code", None) if isinstance(error, (ProviderError, SyncStopped))
                                     else "internal")
        message = None if success else describe_error(error)
        now = utcnow()
        counted_failure = not success and not isinstance(error, SyncCancelled)
        try:
            with self.transaction() as s:
                outcome: dict[str, Any] = {"last_started_at": self.lease.started_at, "last_success": success,
                                           "last_error_code": code, "last_counts": dict(self.counts)}
                if success:
                    outcome.update(consecutive_failures=0, next_attempt_at=None)
                elif counted_failure:
                    failures = 1 + (s.execute(select(SyncState.consecutive_failures).where(
                        SyncState.company_id == self.cid, SyncState.provider == self.provider)).scalar() or 0)
                    outcome["consecutive_failures"] = failures
                    outcome["next_attempt_at"] = now + timedelta(seconds=self.options.backoff_delay(failures))
                ours = leases.release(s, self.lease, **outcome)
                if not ours and success:
                    success, code = False, "lease_lost"
                    message = t("sync_engine.lease_lost")
                if ours:
                    s.execute(_config_outcome_statement(success), {
                        "b_company_id": self.cid, "b_provider": self.provider, "v_last_sync_at": now,
                        "v_last_error": message})
                s.execute(_run_end_statement(), {
                    "b_id": self.run_id, "v_finished_at": now, "v_success": success, "v_records_synced": records,
                    "v_duration_ms": duration_ms, "v_counts": dict(self.counts), "v_deleted": dict(self.deleted),
                    "v_error_code": code, "v_error": message})
                record_metric(s, company_id=self.cid, provider=self.provider, action="sync", success=success,
                              duration_ms=duration_ms, records_synced=records, error_code=code)
        except Exception:
            log.exception("could not record the end of sync %s/%s", self.cid, self.provider)
            leases.release_quietly(self.hub, self.lease)
            if success:
                success, code, message = False, "internal", t("hub.database_error")
        return SyncResult(str(self.cid), self.provider, success, records_synced=records, duration_ms=duration_ms,
                          counts=dict(self.counts), error=message, error_code=code, deleted=dict(self.deleted),
                          run_id=self.run_id)


class Listing:
    """One listing being read on the reader thread: its chunks of rows, then its end or its error."""

    def __init__(self) -> None:
        self.mark: datetime | None = None  # when the read began; set before the first chunk
        self._queue: queue.SimpleQueue = queue.SimpleQueue()

    def put(self, item: Any) -> None:
        self._queue.put(item)

    def chunks(self) -> Iterator[list[dict[str, Any]]]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            if item:
                yield item


def _epoch_ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=timezone.utc).timestamp() * 1000)

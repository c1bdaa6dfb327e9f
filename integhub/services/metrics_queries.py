"""Read side of integration_metrics for the analysts' metrics page (no Streamlit here).

Everything is aggregated in SQL, never by loading rows into Python. Two sources, one answer:

- **The roll-up** (integhub/models_metrics.py, SQLite and PostgreSQL alike) for views over every
  company: per UTC hour and (provider, action) the runs, successes, records, failures per error
  code and a duration histogram; per UTC day a duration histogram and, per company, runs, sums,
  maximum and the newest run. `refresh_rollup` extends it: every query first rolls up the 5-minute
  slots that closed (are older than ROLLUP_GRACE) since the previous one, in one short write
  transaction, so the roll-up trails the present by 15–20 minutes; the first query after a
  migration builds it from all rows, one day per transaction. A page over a month therefore reads
  a few rows per hour and provider plus the histogram buckets, whatever the fleet size (only the
  per-company table reads a row per company, provider and day). A row stamped more than 15
  minutes before it is committed would be missed; record_metric stamps rows as they are written.
- **Raw rows** for the rest: the minutes the roll-up does not cover yet, the ragged ends of ranges
  that do not start or end on a full hour (day), and every view filtered to companies (an
  analyst's scope, chosen companies), which reads only those companies' rows through
  idx_integration_metrics_company_provider_time. `use_rollup=False` reads raw rows only.

Both sources are read inside one snapshot per query (REPEATABLE READ on PostgreSQL, one read
transaction on SQLite), so a roll-up that advances meanwhile is never counted twice.

What is exact: runs, successes, failures, success rate, records, failures per error code, average
and maximum duration, the newest run and its error code — the same figures on every path (tests
compare them with the raw rows on both databases). p50/p95 are exact (percentile_cont, on SQLite
the same from window functions) whenever the raw rows are read, that is with a company filter.
Over the roll-up they come from the histograms: buckets 1 ms wide up to 200 ms and then about 1 %
wide, each with its exact minimum and maximum; the value at a rank is interpolated inside its
bucket, so it lies in the same bucket as the true value — at most one bucket width (≤ 1 ms below
200 ms, ~1 % above) from percentile_cont, and exact whenever a bucket holds at most two distinct
values.

Times are naive UTC, filters are half-open [start, end).
"""
from __future__ import annotations

import bisect
import contextlib
import csv
import io
import logging
import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, and_, case, cast, func, literal, literal_column, or_, select, text, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from ..db import Hub
from ..models import Company, IntegrationMetric, utcnow
from ..models_metrics import (
    MetricsDaily,
    MetricsDailyDuration,
    MetricsDimension,
    MetricsHourly,
    MetricsHourlyDuration,
    MetricsHourlyError,
    MetricsRollupState,
)

log = logging.getLogger(__name__)

M = IntegrationMetric.__table__
D = MetricsDaily.__table__  # per company and day
DH = MetricsDailyDuration.__table__  # histogram per day
HC, HE, HH = MetricsHourly.__table__, MetricsHourlyError.__table__, MetricsHourlyDuration.__table__  # per hour
PAIRS, STATE = MetricsDimension.__table__, MetricsRollupState.__table__
BUCKETS = ("hour", "day", "week")
PERCENTILES = {"p50_ms": 0.5, "p95_ms": 0.95}
SLOT = timedelta(minutes=5)  # the roll-up advances in steps of this
ROLLUP_GRACE = timedelta(minutes=15)  # a slot is rolled up once it ended this long ago (commit latency, clock skew)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
Range = tuple[datetime, datetime]


def _duration_bounds() -> list[int]:
    """Lower bounds of the histogram buckets in ms: 1, 2, …, 200, then ×1.01 up to two hours."""
    bounds = list(range(1, 201))
    while bounds[-1] <= 7_200_000:
        bounds.append(max(bounds[-1] + 1, math.ceil(bounds[-1] * 1.01)))
    return bounds


DURATION_BOUNDS = _duration_bounds()


def duration_bucket(ms: int) -> int:
    """The bucket of a duration: how many lower bounds it reaches (PostgreSQL's width_bucket)."""
    return bisect.bisect_right(DURATION_BOUNDS, ms)


@dataclass(frozen=True)
class MetricsFilter:
    start: datetime
    end: datetime
    company_ids: Sequence[uuid.UUID] | None = None  # None: every company
    providers: Sequence[str] | None = None
    actions: Sequence[str] | None = ("sync",)
    bucket: str = "day"

    @classmethod
    def last_days(cls, days: int, *, now: datetime | None = None, **kw: Any) -> "MetricsFilter":
        end = (now or utcnow()).replace(microsecond=0) + timedelta(seconds=1)
        return cls(start=end - timedelta(days=days), end=end, **kw)

    def within(self, scope: Iterable[uuid.UUID] | None) -> "MetricsFilter":
        """Narrowed to the companies an identity may see (None: no restriction)."""
        if scope is None:
            return self
        allowed = set(scope)
        chosen = allowed if self.company_ids is None else allowed & set(self.company_ids)
        return replace(self, company_ids=sorted(chosen))

    def conditions(self, ranges: Sequence[Range] | None = None) -> list[ColumnElement[bool]]:
        """WHERE of the raw rows; `ranges` replaces [start, end) by those time ranges."""
        ranges = [(self.start, self.end)] if ranges is None else list(ranges)
        spans = [and_(M.c.created_at >= a, M.c.created_at < b) for a, b in ranges]
        where = [spans[0] if len(spans) == 1 else or_(*spans)] if spans else [literal_column("1") == 0]
        if self.company_ids is not None:
            where.append(M.c.company_id.in_(list(self.company_ids)) if self.company_ids else literal_column("1") == 0)
        where += self._dimension_conditions(M)
        return where

    def rollup_conditions(self, table, ranges: Sequence[Range]) -> list[ColumnElement[bool]]:
        """WHERE of a roll-up table (time column `hour` or `day`) over those ranges."""
        time = table.c.hour if "hour" in table.c else table.c.day
        spans = [and_(time >= a, time < b) for a, b in ranges]
        return [spans[0] if len(spans) == 1 else or_(*spans), *self._dimension_conditions(table)]

    def _dimension_conditions(self, table) -> list[ColumnElement[bool]]:
        where = []
        if self.providers:
            where.append(table.c.provider.in_(list(self.providers)))
        if self.actions:
            where.append(table.c.action.in_(list(self.actions)))
        return where


# --- dialect helpers -------------------------------------------------------------------------------
def _floor(moment: datetime, step: timedelta) -> datetime:
    return datetime.min + (moment - datetime.min) // step * step


def _ceil(moment: datetime, step: timedelta) -> datetime:
    floor = _floor(moment, step)
    return floor if floor == moment else floor + step


def _trunc(dialect: str, unit: str, column) -> ColumnElement:
    """The start of the hour/day/week (weeks start on Monday) of a timestamp column. On SQLite in
    SQLAlchemy's storage format, so results compare and merge with stored timestamps."""
    if unit not in BUCKETS:
        raise ValueError(f"bucket must be one of {BUCKETS}")
    if dialect == "postgresql":
        return func.date_trunc(unit, column)
    if unit == "hour":
        return func.strftime("%Y-%m-%d %H:00:00.000000", column)
    if unit == "day":
        return func.strftime("%Y-%m-%d 00:00:00.000000", column)
    # the next Sunday (or this one) minus six days
    return func.strftime("%Y-%m-%d 00:00:00.000000", column, "weekday 0", "-6 days")


def _bucket_of(dialect: str, column) -> ColumnElement:
    if dialect == "postgresql":
        return func.width_bucket(column, cast(literal(DURATION_BOUNDS, postgresql.ARRAY(Integer)),
                                              postgresql.ARRAY(Integer)))
    return func.integhub_duration_bucket(column)  # registered on the connection (_prepare)


def _greatest(dialect: str, a, b):
    return func.greatest(a, b) if dialect == "postgresql" else func.max(a, b)


def _least(dialect: str, a, b):
    return func.least(a, b) if dialect == "postgresql" else func.min(a, b)


def _prepare(s: Session) -> str:
    """The session's dialect; on SQLite also the duration-bucket function for this connection."""
    dialect = s.get_bind().dialect.name
    if dialect == "sqlite":
        s.connection().connection.driver_connection.create_function(
            "integhub_duration_bucket", 1, lambda ms: None if ms is None else duration_bucket(ms), deterministic=True)
    return dialect


def _as_datetime(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _ok() -> ColumnElement:
    return case((M.c.success.is_(True), 1), else_=0)


# --- the roll-up -----------------------------------------------------------------------------------
def _reach_and_now(hub: Hub) -> tuple[datetime | None, datetime]:
    with hub.session() as s:
        reach = select(STATE.c.rolled_up_until).where(STATE.c.name == "metrics").scalar_subquery()
        if s.get_bind().dialect.name == "postgresql":  # the database's clock: the same for every process
            return tuple(s.execute(select(reach, func.timezone("UTC", func.clock_timestamp()))).one())
        return s.execute(select(reach)).scalar(), utcnow()


def refresh_rollup(hub: Hub) -> datetime | None:
    """Roll up every closed slot that is not yet; returns how far the roll-up reaches (exclusive), or
    None where there is none (a database migrated before it existed)."""
    try:
        reach, now = _reach_and_now(hub)
        target = _floor(now - ROLLUP_GRACE, SLOT)
        if reach is not None and reach >= target:
            return reach
        while True:
            with hub.session() as s:
                dialect = _prepare(s)
                first = s.scalar(select(func.min(M.c.created_at)))
                # Serialise refreshers: on SQLite this first write takes the write lock; on PostgreSQL
                # the state row is then locked, and whoever waited finds the work done.
                insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(STATE)
                s.execute(insert.values(name="metrics", rolled_up_until=_floor(_as_datetime(first), DAY) if first else target)
                          .on_conflict_do_nothing(index_elements=["name"]))
                current = s.execute(select(STATE.c.rolled_up_until).where(STATE.c.name == "metrics")
                                    .with_for_update()).scalar_one()
                if current >= target:
                    return current
                upto = min(target, _floor(current, DAY) + DAY)  # a day per transaction at most
                _roll_up(s, dialect, current, upto)
                s.execute(STATE.update().where(STATE.c.name == "metrics").values(rolled_up_until=upto))
            if upto >= target:
                return upto
    except (ProgrammingError, OperationalError):
        log.warning("metrics roll-up not available (database not migrated?); reading raw rows")
        return None


def _upsert(s: Session, dialect: str, table, query, *, add: Sequence[str] = (), low: Sequence[str] = (),
            high: Sequence[str] = (), newest: tuple[str, str] | None = None) -> None:
    """INSERT … SELECT that adds into rows already there (sums add, minima/maxima merge; `newest`:
    (time column, value column) keep the value of the later time)."""
    columns = [c.name for c in query.selected_columns]
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).from_select(columns, query)
    new = stmt.excluded
    values: dict[str, Any] = {c: table.c[c] + new[c] for c in add}
    values |= {c: _least(dialect, table.c[c], new[c]) for c in low}
    values |= {c: _greatest(dialect, table.c[c], new[c]) for c in high}
    if newest:
        at, value = newest
        values[value] = case((new[at] > table.c[at], new[value]), else_=table.c[value])
        values[at] = _greatest(dialect, table.c[at], new[at])
    key = [c.name for c in table.primary_key.columns]
    s.execute(stmt.on_conflict_do_update(index_elements=key, set_=values) if values
              else stmt.on_conflict_do_nothing(index_elements=key))


def _roll_up(s: Session, dialect: str, a: datetime, b: datetime) -> None:
    """Add the rows of [a, b) (within one day) to every roll-up table."""
    span = [M.c.created_at >= a, M.c.created_at < b]
    hour, day = _trunc(dialect, "hour", M.c.created_at), _trunc(dialect, "day", M.c.created_at)
    bucket = _bucket_of(dialect, M.c.duration_ms)
    dims = [M.c.provider, M.c.action]
    _upsert(s, dialect, HC, select(hour.label("hour"), *dims, func.count().label("runs"), func.sum(_ok()).label("successes"),
                                   func.coalesce(func.sum(M.c.records_synced), 0).label("records"))
            .where(*span).group_by(hour, *dims), add=("runs", "successes", "records"))
    code = func.coalesce(M.c.error_code, "unknown")
    _upsert(s, dialect, HE, select(hour.label("hour"), *dims, code.label("error_code"), func.count().label("failures"),
                                   func.max(M.c.created_at).label("last_at"))
            .where(*span, M.c.success.is_(False)).group_by(hour, *dims, code), add=("failures",), high=("last_at",))
    for table, time, name in ((HH, hour, "hour"), (DH, day, "day")):
        _upsert(s, dialect, table, select(time.label(name), *dims, bucket.label("bucket"),
                                          func.count().label("runs"), func.min(M.c.duration_ms).label("min_ms"),
                                          func.max(M.c.duration_ms).label("max_ms"))
                .where(*span).group_by(time, *dims, bucket), add=("runs",), low=("min_ms",), high=("max_ms",))
    ranked = select(day.label("day"), M.c.company_id, *dims, M.c.success, M.c.records_synced, M.c.duration_ms,
                    M.c.created_at, M.c.error_code,
                    func.row_number().over(partition_by=[day, M.c.company_id, *dims],
                                           order_by=[M.c.created_at.desc(), M.c.id.desc()]).label("rn")
                    ).where(*span).subquery()
    r = ranked.c
    keys = [r.day, r.company_id, r.provider, r.action]
    _upsert(s, dialect, D, select(
        *keys, func.count().label("runs"), func.sum(case((r.success.is_(True), 1), else_=0)).label("successes"),
        func.coalesce(func.sum(r.records_synced), 0).label("records"),
        func.coalesce(func.sum(r.duration_ms), 0).label("duration_sum"),
        func.coalesce(func.max(r.duration_ms), 0).label("duration_max"), func.max(r.created_at).label("last_at"),
        func.max(case((r.rn == 1, r.error_code))).label("last_error_code")).group_by(*keys),
        add=("runs", "successes", "records", "duration_sum"), high=("duration_max",),
        newest=("last_at", "last_error_code"))
    _upsert(s, dialect, PAIRS, select(*dims).where(*span).distinct())


# --- reading: one snapshot, a plan of which source covers what -------------------------------------
@dataclass(frozen=True)
class _Plan:
    start: datetime
    end: datetime
    hours: Range | None = None  # covered by the hourly tables (all companies)
    days: Range | None = None  # covered by the daily tables (a sub-range of `hours`)

    def outside(self, cover: Range | None) -> list[Range]:
        """The parts of [start, end) that `cover` leaves to the raw rows."""
        if cover is None:
            return [(self.start, self.end)]
        return [(a, b) for a, b in ((self.start, cover[0]), (cover[1], self.end)) if a < b]

    def hours_beside_days(self) -> list[Range]:
        """The parts of `hours` that the days do not cover (the ragged ends)."""
        if self.hours is None:
            return []
        if self.days is None:
            return [self.hours]
        return [(a, b) for a, b in ((self.hours[0], self.days[0]), (self.days[1], self.hours[1])) if a < b]


def _cover(f: MetricsFilter, reach: datetime, step: timedelta) -> Range | None:
    """Whole hours (days) of [start, end) in the roll-up. A row for an hour (day) holds that hour (day)
    up to `reach`, so the partial one at `reach` counts when the filter reaches past it."""
    a = _ceil(f.start, step)
    b = reach if reach <= f.end else _floor(f.end, step)
    return (a, b) if a < b else None


@contextlib.contextmanager
def _reading(hub: Hub, f: MetricsFilter, use_rollup: bool = True) -> Iterator[tuple[Session, str, _Plan]]:
    """A read-only snapshot and the plan for `f` within it (raw rows only with company filters)."""
    rollup = use_rollup and f.company_ids is None and refresh_rollup(hub) is not None
    with hub.sessions() as s, s.begin():
        dialect = _prepare(s)
        if dialect == "postgresql":
            s.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        else:
            s.connection().exec_driver_sql("BEGIN")  # pysqlite starts none for reads: one snapshot for all of them
        plan = _Plan(f.start, f.end)
        if rollup:
            reach = _as_datetime(s.execute(select(STATE.c.rolled_up_until).where(STATE.c.name == "metrics")).scalar())
            if reach is not None:
                plan = replace(plan, hours=_cover(f, reach, HOUR), days=_cover(f, reach, DAY))
        yield s, dialect, plan


def _finish(row: dict) -> dict:
    row["runs"] = int(row.get("runs") or 0)
    row["successes"] = int(row.get("successes") or 0)
    row["failures"] = row["runs"] - row["successes"]
    row["records"] = int(row.get("records") or 0)
    row["success_rate"] = row["successes"] / row["runs"] if row["runs"] else None
    for name in ("p50_ms", "p95_ms", "avg_ms", "max_ms"):
        if name in row:
            row[name] = float(row[name]) if row[name] is not None else None
    if "bucket" in row:
        row["bucket"] = _as_datetime(row["bucket"])
    return row


# --- raw rows, exact percentiles -------------------------------------------------------------------
def _raw_aggregate(s: Session, dialect: str, f: MetricsFilter, groups: dict[str, ColumnElement]) -> list[dict]:
    """Runs, successes, records and exact duration percentiles per group, from the raw rows."""
    where = f.conditions()
    if dialect == "postgresql":
        cols = [expr.label(name) for name, expr in groups.items()]
        durations = [func.percentile_cont(p).within_group(M.c.duration_ms).label(name)
                     for name, p in PERCENTILES.items()]
        query = select(*cols, func.count().label("runs"), func.sum(_ok()).label("successes"),
                       func.coalesce(func.sum(M.c.records_synced), 0).label("records"), *durations).where(*where)
        if cols:
            query = query.group_by(*cols)
    else:
        query = _sqlite_percentiles(where, groups)
    return [_finish(dict(r._mapping)) for r in s.execute(query)]


def _sqlite_percentiles(where: list, groups: dict[str, ColumnElement]):
    """percentile_cont from window functions: rank the durations per group, weight the two
    neighbours of position p·(n−1)."""
    group_cols = [expr.label(name) for name, expr in groups.items()]
    partition = list(groups.values()) or None
    ranked = select(
        *group_cols,
        _ok().label("ok"),
        M.c.records_synced.label("records_synced"),
        M.c.duration_ms.label("v"),
        (func.row_number().over(partition_by=partition, order_by=M.c.duration_ms) - 1).label("rn"),
        func.count().over(partition_by=partition).label("n"),
    ).where(*where).subquery("ranked")
    keys = [ranked.c[name] for name in groups]
    percentiles = []
    for name, p in PERCENTILES.items():
        pos = (ranked.c.n - 1) * p
        low = cast(pos, Integer)  # floor: pos is never negative
        frac = pos - low
        percentiles.append((
            func.sum(case((ranked.c.rn == low, ranked.c.v * (1 - frac)), else_=0))
            + func.sum(case((ranked.c.rn == low + 1, ranked.c.v * frac), else_=0))
        ).label(name))
    query = select(*keys, func.count().label("runs"), func.sum(ranked.c.ok).label("successes"),
                   func.coalesce(func.sum(ranked.c.records_synced), 0).label("records"), *percentiles)
    return query.group_by(*keys) if keys else query


# --- the roll-up path: exact counts, percentiles from histograms -----------------------------------
def _time_key(dialect: str, bucket: str | None, column) -> dict[str, ColumnElement]:
    return {} if bucket is None else {"bucket": _trunc(dialect, bucket, column)}


def _rollup_counts(s: Session, dialect: str, f: MetricsFilter, plan: _Plan, bucket: str | None) -> dict[tuple, dict]:
    """Runs, successes and records per (time bucket, provider) — or in total with bucket None —
    from the hourly table plus the raw rows it does not cover. One statement: one snapshot."""
    def keys(time_column, provider) -> list[ColumnElement]:
        exprs = _time_key(dialect, bucket, time_column) | ({} if bucket is None else {"provider": provider})
        return [e.label(n) for n, e in exprs.items()]

    parts = []
    if plan.hours:
        k = keys(HC.c.hour, HC.c.provider)
        parts.append(select(*k, func.sum(HC.c.runs).label("runs"), func.sum(HC.c.successes).label("successes"),
                            func.sum(HC.c.records).label("records"))
                     .where(*f.rollup_conditions(HC, [plan.hours])).group_by(*k))
    raw = plan.outside(plan.hours)
    if raw:
        k = keys(M.c.created_at, M.c.provider)
        parts.append(select(*k, func.count().label("runs"), func.sum(_ok()).label("successes"),
                            func.coalesce(func.sum(M.c.records_synced), 0).label("records"))
                     .where(*f.conditions(raw)).group_by(*k))
    u = union_all(*parts).subquery()
    names = [] if bucket is None else ["bucket", "provider"]
    query = select(*[u.c[n] for n in names], func.sum(u.c.runs).label("runs"),
                   func.sum(u.c.successes).label("successes"), func.sum(u.c.records).label("records"))
    if names:
        query = query.group_by(*[u.c[n] for n in names])
    out = {}
    for row in s.execute(query):
        row = dict(row._mapping)
        if row.get("runs"):
            if names:
                row["bucket"] = _as_datetime(row["bucket"])
            out[tuple(row[n] for n in names)] = row
    return out


def _rollup_percentiles(s: Session, dialect: str, f: MetricsFilter, plan: _Plan,
                        bucket: str | None) -> dict[tuple, dict[str, float | None]]:
    """p50/p95 per (time bucket, provider), or in total, from the merged duration histograms: daily
    ones for whole days (not for hour buckets), hourly ones beside them, raw rows (bucketed on the
    fly) for the rest. In SQL: a running sum over the buckets finds the bucket of each rank, whose
    values are taken as evenly spread between its exact minimum and maximum; percentile_cont's
    interpolation between the ranks below and above p·(n−1) follows here."""
    def keys(time_column, provider) -> list[ColumnElement]:
        exprs = _time_key(dialect, bucket, time_column) | ({} if bucket is None else {"provider": provider})
        return [e.label(n) for n, e in exprs.items()]

    def from_table(table, time_column, ranges):
        k = keys(time_column, table.c.provider)
        return (select(*k, table.c.bucket.label("b"), func.sum(table.c.runs).label("runs"),
                       func.min(table.c.min_ms).label("lo"), func.max(table.c.max_ms).label("hi"))
                .where(*f.rollup_conditions(table, ranges)).group_by(*k, table.c.bucket))

    parts = []
    hourly = plan.hours_beside_days()
    if bucket == "hour":
        hourly = [plan.hours] if plan.hours else []
    elif plan.days:
        parts.append(from_table(DH, DH.c.day, [plan.days]))
    if hourly:
        parts.append(from_table(HH, HH.c.hour, hourly))
    raw = plan.outside(plan.hours)
    if raw:
        k = keys(M.c.created_at, M.c.provider)
        b = _bucket_of(dialect, M.c.duration_ms)
        parts.append(select(*k, b.label("b"), func.count().label("runs"), func.min(M.c.duration_ms).label("lo"),
                            func.max(M.c.duration_ms).label("hi")).where(*f.conditions(raw)).group_by(*k, b))
    u = union_all(*parts).subquery()
    names = [] if bucket is None else ["bucket", "provider"]
    # integer and float arithmetic throughout (PostgreSQL's sum of bigint would be numeric: slow)
    merged = select(*[u.c[n] for n in names], u.c.b, cast(func.sum(u.c.runs), BigInteger).label("n"),
                    func.min(u.c.lo).label("lo"), func.max(u.c.hi).label("hi")
                    ).group_by(*[u.c[n] for n in names], u.c.b).subquery()
    within = [merged.c[n] for n in names] or None
    running = cast(func.sum(merged.c.n).over(partition_by=within, order_by=merged.c.b), BigInteger)
    h = select(merged, (running - merged.c.n).label("before"),
               cast(func.sum(merged.c.n).over(partition_by=within), BigInteger).label("total")).subquery().c

    def value_at(rank):  # the value of rank `rank` (0-based), on the row of the bucket that holds it
        inside = case((h.n == 1, cast(h.lo, Float)),
                      else_=h.lo + cast(h.hi - h.lo, Float) * (rank - h.before) / cast(h.n - 1, Float))
        return func.max(case((and_(h.before <= rank, rank < h.before + h.n), inside)))

    ranks = []
    for name, p in PERCENTILES.items():
        pos = (h.total - 1) * p
        low = func.floor(pos) if dialect == "postgresql" else cast(pos, Integer)  # pos is never negative
        ranks += [value_at(low).label(f"{name}_low"), value_at(low + 1).label(f"{name}_high")]
    query = select(*[h[n] for n in names], func.max(h.total).label("total"), *ranks)
    out: dict[tuple, dict[str, float | None]] = {}
    for row in s.execute(query.group_by(*[h[n] for n in names]) if names else query):
        row = row._mapping
        values: dict[str, float | None] = {}
        for name, p in PERCENTILES.items():
            if not row["total"]:
                values[name] = None
                continue
            pos = p * (int(row["total"]) - 1)
            frac = pos - int(pos)
            low = float(row[f"{name}_low"])
            values[name] = low if frac == 0 else low + (float(row[f"{name}_high"]) - low) * frac
        out[(_as_datetime(row["bucket"]), row["provider"]) if names else ()] = values
    return out


def _rollup_figures(s: Session, dialect: str, f: MetricsFilter, plan: _Plan, bucket: str | None) -> list[dict]:
    counts = _rollup_counts(s, dialect, f, plan, bucket)
    percentiles = _rollup_percentiles(s, dialect, f, plan, bucket)
    out = []
    for key, row in counts.items():
        row.update(percentiles.get(key) or dict.fromkeys(PERCENTILES))
        out.append(_finish(row))
    return out


def _covered(plan: _Plan) -> bool:
    return plan.hours is not None


# --- what the page shows ---------------------------------------------------------------------------
def time_series(hub: Hub, f: MetricsFilter, *, use_rollup: bool = True) -> list[dict]:
    """Per bucket and provider: runs, successes, failures, success_rate, records, p50_ms, p95_ms."""
    with _reading(hub, f, use_rollup) as (s, dialect, plan):
        if _covered(plan):
            rows = _rollup_figures(s, dialect, f, plan, f.bucket)
        else:
            rows = _raw_aggregate(s, dialect, f, {"bucket": _trunc(dialect, f.bucket, M.c.created_at),
                                                  "provider": M.c.provider})
    return sorted(rows, key=lambda r: (r["bucket"], r["provider"]))


def totals(hub: Hub, f: MetricsFilter, *, use_rollup: bool = True) -> dict[str, Any]:
    """The same figures over the whole filter (runs 0 when nothing matched)."""
    with _reading(hub, f, use_rollup) as (s, dialect, plan):
        if _covered(plan):
            rows = _rollup_figures(s, dialect, f, plan, None)
            return rows[0] if rows else _finish({"runs": 0, "p50_ms": None, "p95_ms": None})
        (row,) = _raw_aggregate(s, dialect, f, {})  # no GROUP BY: always exactly one row
        return row


def error_breakdown(hub: Hub, f: MetricsFilter, *, use_rollup: bool = True) -> list[dict]:
    """Failures per error_code and provider, most frequent first."""
    with _reading(hub, f, use_rollup) as (s, _dialect, plan):
        parts = []
        if plan.hours:
            parts.append(select(HE.c.error_code, HE.c.provider, func.sum(HE.c.failures).label("n"),
                                func.max(HE.c.last_at).label("last_at"))
                         .where(*f.rollup_conditions(HE, [plan.hours])).group_by(HE.c.error_code, HE.c.provider))
        raw = plan.outside(plan.hours)
        if raw:
            code = func.coalesce(M.c.error_code, "unknown")
            parts.append(select(code.label("error_code"), M.c.provider, func.count().label("n"),
                                func.max(M.c.created_at).label("last_at"))
                         .where(*f.conditions(raw), M.c.success.is_(False)).group_by(code, M.c.provider))
        u = union_all(*parts).subquery()
        rows = s.execute(select(u.c.error_code, u.c.provider, func.sum(u.c.n), func.max(u.c.last_at))
                         .group_by(u.c.error_code, u.c.provider)).all()
    out = [{"error_code": code, "provider": prov, "count": int(n), "last_at": _as_datetime(last)}
           for code, prov, n, last in rows if n]
    return sorted(out, key=lambda e: (-e["count"], e["error_code"], e["provider"]))


@dataclass
class CompanyTable:
    rows: list[dict]
    total: int  # pairs of company and provider in the filter (rows holds `limit` of them)


def per_company_page(hub: Hub, f: MetricsFilter, *, limit: int | None = None, offset: int = 0,
                     use_rollup: bool = True) -> CompanyTable:
    """Per company and provider, worst success rate first (then most runs, name): runs, failures,
    success rate, records, average and maximum duration, the company's name, the time and error code
    of its newest run. Ranked, counted and cut to `limit` rows in SQL; over every company that reads
    one roll-up row per company, provider and day (or the raw rows with a company filter)."""
    with _reading(hub, f, use_rollup) as (s, _dialect, plan):
        parts = []
        if plan.days:
            parts.append(select(D.c.company_id, D.c.provider, D.c.runs, D.c.successes, D.c.records, D.c.duration_sum,
                                D.c.duration_max, D.c.last_at, D.c.last_error_code, literal(0).label("tie"))
                         .where(*f.rollup_conditions(D, [plan.days])))
        raw = plan.outside(plan.days)
        if raw:
            parts.append(select(M.c.company_id, M.c.provider, literal(1).label("runs"), _ok().label("successes"),
                                M.c.records_synced.label("records"), M.c.duration_ms.label("duration_sum"),
                                M.c.duration_ms.label("duration_max"), M.c.created_at.label("last_at"),
                                M.c.error_code.label("last_error_code"), M.c.id.label("tie"))
                         .where(*f.conditions(raw)))
        u = union_all(*parts).subquery()
        grouped = select(
            u.c.company_id, u.c.provider, func.sum(u.c.runs).label("runs"), func.sum(u.c.successes).label("successes"),
            func.sum(u.c.records).label("records"), func.sum(u.c.duration_sum).label("duration_sum"),
            func.max(u.c.duration_max).label("max_ms"), func.max(u.c.last_at).label("last_at"),
            func.count().over().label("total"),
        ).group_by(u.c.company_id, u.c.provider).subquery()
        rank = [cast(grouped.c.successes, Float) / grouped.c.runs, grouped.c.runs.desc()]
        top = (select(grouped, Company.name.label("company")).outerjoin(Company, Company.id == grouped.c.company_id)
               .order_by(*rank, Company.name, grouped.c.company_id, grouped.c.provider))
        top = (top if limit is None else top.limit(limit).offset(offset)).subquery()
        # The error code of the newest run, looked up for the rows shown only (indexes on company,
        # provider and time). Raw and roll-up ranges never overlap, so one of the two finds it.
        codes = []
        if raw:
            codes.append(select(M.c.error_code).where(
                M.c.company_id == top.c.company_id, M.c.provider == top.c.provider, M.c.created_at == top.c.last_at,
                *f.conditions(raw)).order_by(M.c.id.desc()).limit(1).scalar_subquery())
        if plan.days:  # (last_at fixes the day; `action || ''` keeps SQLite on the company index)
            narrow = [cast(D.c.action.concat(""), D.c.action.type).in_(list(f.actions))] if f.actions else []
            codes.append(select(D.c.last_error_code).where(
                D.c.company_id == top.c.company_id, D.c.provider == top.c.provider, D.c.last_at == top.c.last_at,
                *narrow).limit(1).scalar_subquery())
        query = select(top, (codes[0] if len(codes) == 1 else func.coalesce(*codes)).label("last_error_code")).order_by(
            cast(top.c.successes, Float) / top.c.runs, top.c.runs.desc(), top.c.company, top.c.company_id,
            top.c.provider)
        rows = [dict(row._mapping) for row in s.execute(query)]
        total = rows[0]["total"] if rows else (s.scalar(select(func.count()).select_from(grouped)) if offset else 0)
    for row in rows:
        row.pop("total")
        row["avg_ms"] = float(row.pop("duration_sum") or 0) / row["runs"] if row["runs"] else None
        _finish(row)
        row["company"] = row["company"] if row["company"] is not None else str(row["company_id"])
        row["last_at"] = _as_datetime(row["last_at"])
    return CompanyTable(rows, int(total or 0))


def per_company(hub: Hub, f: MetricsFilter, *, use_rollup: bool = True) -> list[dict]:
    """Every row of `per_company_page` (for the CSV download and the benchmark)."""
    return per_company_page(hub, f, use_rollup=use_rollup).rows


@dataclass
class FilterOptions:
    companies: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    more_companies: bool = False  # `limit` cut the company list: search to find the others


def filter_options(hub: Hub, scope: Iterable[uuid.UUID] | None = None, *, search: str = "",
                   limit: int | None = None, chosen: Iterable[uuid.UUID] = ()) -> FilterOptions:
    """What the filters offer: companies (within `scope`; with `limit` the first that match `search`
    by name, plus the `chosen` ones), and the providers and actions recorded."""
    reach = refresh_rollup(hub)
    with hub.session() as s:
        q = select(Company.id, Company.name).order_by(Company.name, Company.id)
        if scope is not None:
            q = q.where(Company.id.in_(list(scope)))
        if search.strip():
            q = q.where(func.lower(Company.name).like(f"%{search.strip().lower()}%"))
        companies = [(cid, name) for cid, name in s.execute(q if limit is None else q.limit(limit + 1))]
        more = limit is not None and len(companies) > limit
        companies = companies[:limit]
        missing = set(chosen) - {cid for cid, _n in companies}
        if missing:
            extra = select(Company.id, Company.name).where(Company.id.in_(list(missing)))
            if scope is not None:
                extra = extra.where(Company.id.in_(list(scope)))
            companies = sorted([*companies, *s.execute(extra).tuples()], key=lambda c: (c[1], str(c[0])))
        if reach is None:
            pairs = s.execute(select(M.c.provider, M.c.action).distinct()).all()
        else:  # every pair the roll-up has seen, and those of the minutes since
            pairs = s.execute(select(PAIRS.c.provider, PAIRS.c.action)).all()
            pairs += s.execute(select(M.c.provider, M.c.action).where(M.c.created_at >= reach).distinct()).all()
    return FilterOptions(companies, sorted({p for p, _a in pairs}), sorted({a for _p, a in pairs}), more)


def to_csv(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """CSV for a download button (UTF-8, comma, header row; times ISO 8601 UTC)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if isinstance(value, float):
        return round(value, 4)
    return "" if value is None else value

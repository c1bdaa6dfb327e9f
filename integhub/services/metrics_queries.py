"""Read side of integration_metrics for the analysts' metrics page (no Streamlit here).

Everything is aggregated in SQL, never by loading rows into Python. Two paths give the same figures:

- Raw rows (SQLite always; PostgreSQL for hour buckets, for filters on companies, and for the part of
  a range the roll-up does not cover yet). Buckets with date_trunc (PostgreSQL) or strftime
  (SQLite); exact continuous percentiles: percentile_cont on PostgreSQL, on SQLite the same from
  window functions (rank the durations per group, weight the two neighbours of position p·(n−1)).
- The daily roll-up (PostgreSQL): `metrics_daily`, `metrics_daily_errors` and
  `metrics_daily_durations` hold closed UTC days (older than ROLLUP_GRACE) per company, provider
  and action, so a month over a million rows reads tens of thousands of rows instead. It is
  extended on demand by whichever query first needs a newly closed day. Durations are kept as a
  histogram (log-spaced buckets, ~10 % wide, with the exact minimum and maximum inside each), so
  p50/p95 over rolled-up days are interpolated within one bucket: within a few per cent of
  percentile_cont. Counts, sums and success rates are exact on both paths. The per-company table
  shows average and maximum duration, which both paths give exactly.

Times are naive UTC, filters are half-open [start, end).
"""
from __future__ import annotations

import csv
import io
import logging
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, literal_column, or_, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.sql import ColumnElement

from ..db import Hub
from ..models import Company, IntegrationMetric, utcnow
from ..models_sync import MetricsDaily, MetricsDailyDuration, MetricsDailyError, MetricsRollupState

log = logging.getLogger(__name__)

M = IntegrationMetric.__table__
D, E, H = MetricsDaily.__table__, MetricsDailyError.__table__, MetricsDailyDuration.__table__
BUCKETS = ("hour", "day", "week")
PERCENTILES = {"p50_ms": 0.5, "p95_ms": 0.95}
ROLLUP_GRACE = timedelta(minutes=15)  # a day is rolled up once it has been over this long (late rows, clock skew)
DAY = timedelta(days=1)


def _duration_bounds() -> list[int]:
    """Lower bounds of the histogram buckets in ms: 1, 2, …, then ×1.1 up to two hours."""
    bounds, b = [], 1
    while b <= 7_200_000:
        bounds.append(b)
        b = max(b + 1, math.ceil(b * 1.1))
    return bounds


DURATION_BOUNDS = _duration_bounds()
_WIDTH_BUCKET = ("width_bucket(integration_metrics.duration_ms, ARRAY["
                 + ",".join(map(str, DURATION_BOUNDS)) + "])")


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

    def conditions(self, ranges: Sequence[tuple[datetime, datetime]] | None = None) -> list[ColumnElement[bool]]:
        """WHERE of the raw rows; `ranges` replaces [start, end) by those time ranges."""
        ranges = [(self.start, self.end)] if ranges is None else list(ranges)
        spans = [and_(M.c.created_at >= a, M.c.created_at < b) for a, b in ranges]
        where = [spans[0] if len(spans) == 1 else or_(*spans)] if spans else [literal_column("1") == 0]
        if self.company_ids is not None:
            where.append(M.c.company_id.in_(list(self.company_ids)) if self.company_ids else literal_column("1") == 0)
        where += self._dimension_conditions(M)
        return where

    def rollup_conditions(self, table, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
        return [table.c.day >= start, table.c.day < end, *self._dimension_conditions(table)]

    def _dimension_conditions(self, table) -> list[ColumnElement[bool]]:
        where = []
        if self.providers:
            where.append(table.c.provider.in_(list(self.providers)))
        if self.actions:
            where.append(table.c.action.in_(list(self.actions)))
        return where


# --- the roll-up (PostgreSQL) ----------------------------------------------------------------------
def _floor_day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _ceil_day(moment: datetime) -> datetime:
    floor = _floor_day(moment)
    return floor if floor == moment else floor + DAY


_ROLLUP_SQL = (
    """INSERT INTO metrics_daily (day, company_id, provider, action, runs, successes, records, duration_sum,
                                  duration_max, last_at, last_error_code)
       SELECT date_trunc('day', created_at), company_id, provider, action, count(*),
              count(*) FILTER (WHERE success), coalesce(sum(records_synced), 0), coalesce(sum(duration_ms), 0),
              coalesce(max(duration_ms), 0), max(created_at),
              (array_agg(error_code ORDER BY created_at DESC, id DESC))[1]
       FROM integration_metrics WHERE created_at >= :a AND created_at < :b GROUP BY 1, 2, 3, 4""",
    """INSERT INTO metrics_daily_errors (day, company_id, provider, action, error_code, failures, last_at)
       SELECT date_trunc('day', created_at), company_id, provider, action, coalesce(error_code, 'unknown'),
              count(*), max(created_at)
       FROM integration_metrics WHERE created_at >= :a AND created_at < :b AND NOT success GROUP BY 1, 2, 3, 4, 5""",
    """INSERT INTO metrics_daily_durations (day, provider, action, bucket, runs, min_ms, max_ms)
       SELECT date_trunc('day', created_at), provider, action, width_bucket(duration_ms, CAST(:bounds AS integer[])),
              count(*), min(duration_ms), max(duration_ms)
       FROM integration_metrics WHERE created_at >= :a AND created_at < :b GROUP BY 1, 2, 3, 4""",
)


def refresh_rollup(hub: Hub) -> datetime | None:
    """Roll every closed day up that is not yet; returns how far the roll-up reaches (exclusive), or
    None where there is none (SQLite, or a database migrated before it existed)."""
    if hub.dialect != "postgresql":
        return None
    try:
        with hub.session() as s:
            now = s.execute(select(func.timezone("UTC", func.clock_timestamp()))).scalar_one()
            target = _floor_day(now - ROLLUP_GRACE)
            state = MetricsRollupState.__table__
            current = s.execute(select(state.c.rolled_up_until).where(state.c.name == "metrics")).scalar()
            if current is not None and current >= target:
                return current
            # Serialise concurrent refreshers: the first creates/locks the state row, the others wait
            # here and then find the work done.
            first = s.scalar(select(func.min(M.c.created_at)))
            s.execute(text("INSERT INTO metrics_rollup_state (name, rolled_up_until) VALUES ('metrics', :at) "
                           "ON CONFLICT (name) DO NOTHING"), {"at": _floor_day(first) if first else target})
            current = s.execute(select(state.c.rolled_up_until).where(state.c.name == "metrics")
                                .with_for_update()).scalar_one()
            if current >= target:
                return current
            for day_start in (D, E, H):
                s.execute(day_start.delete().where(day_start.c.day >= current, day_start.c.day < target))
            for sql in _ROLLUP_SQL:
                s.execute(text(sql), {"a": current, "b": target, "bounds": DURATION_BOUNDS})
            s.execute(state.update().where(state.c.name == "metrics").values(rolled_up_until=target))
            return target
    except (ProgrammingError, OperationalError):
        log.warning("metrics roll-up not available (database not migrated?); reading raw rows")
        return None


@dataclass(frozen=True)
class _Plan:
    rollup: tuple[datetime, datetime] | None  # whole days read from the roll-up
    raw: list[tuple[datetime, datetime]]  # the rest, read from integration_metrics


def _plan(hub: Hub, f: MetricsFilter, use_rollup: bool) -> _Plan:
    whole = _Plan(None, [(f.start, f.end)])
    if not use_rollup or f.company_ids is not None or f.bucket == "hour" or hub.dialect != "postgresql":
        return whole
    reach = refresh_rollup(hub)
    if reach is None:
        return whole
    start, end = _ceil_day(f.start), min(_floor_day(f.end), reach)
    if start >= end:
        return whole
    raw = [(a, b) for a, b in ((f.start, start), (end, f.end)) if a < b]
    return _Plan((start, end), raw)


# --- raw rows --------------------------------------------------------------------------------------
def _bucket(dialect: str, bucket: str, column=None) -> ColumnElement:
    column = M.c.created_at if column is None else column
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {BUCKETS}")
    if dialect == "postgresql":
        return func.date_trunc(bucket, column)
    if bucket == "hour":
        return func.strftime("%Y-%m-%d %H:00:00", column)
    if bucket == "day":
        return func.strftime("%Y-%m-%d 00:00:00", column)
    # weeks start on Monday, as date_trunc('week') does: the next Sunday (or this one) minus six days
    return func.strftime("%Y-%m-%d 00:00:00", column, "weekday 0", "-6 days")


def _as_datetime(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


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


def _raw_aggregate(hub: Hub, f: MetricsFilter, groups: dict[str, ColumnElement], *,
                   ranges: Sequence[tuple[datetime, datetime]] | None = None, percentiles: bool = True) -> list[dict]:
    """Runs, successes, records and (exact) duration percentiles per group, or average and maximum
    duration with `percentiles=False`."""
    success = case((M.c.success.is_(True), 1), else_=0)
    where = f.conditions(ranges)
    with hub.session() as s:
        dialect = s.get_bind().dialect.name
        if not percentiles or dialect == "postgresql":
            cols = [expr.label(name) for name, expr in groups.items()]
            if percentiles:
                durations = [func.percentile_cont(p).within_group(M.c.duration_ms).label(name)
                             for name, p in PERCENTILES.items()]
            else:
                durations = [func.avg(M.c.duration_ms).label("avg_ms"), func.max(M.c.duration_ms).label("max_ms"),
                             func.sum(M.c.duration_ms).label("duration_sum")]
            query = select(*cols, func.count().label("runs"), func.sum(success).label("successes"),
                           func.coalesce(func.sum(M.c.records_synced), 0).label("records"), *durations).where(*where)
            if cols:
                query = query.group_by(*cols)
        else:
            query = _sqlite_percentiles(where, groups, success)
        rows = [dict(r._mapping) for r in s.execute(query)]
    return [_finish(row) for row in rows]


def _sqlite_percentiles(where: list, groups: dict[str, ColumnElement], success: ColumnElement):
    group_cols = [expr.label(name) for name, expr in groups.items()]
    partition = list(groups.values()) or None
    ranked = select(
        *group_cols,
        success.label("ok"),
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


# --- histograms (PostgreSQL roll-up path) ------------------------------------------------------------
Histogram = dict[int, list[int]]  # bucket → [runs, min_ms, max_ms]


def _histograms(hub: Hub, f: MetricsFilter, plan: _Plan, group: dict[str, Any]) -> dict[tuple, Histogram]:
    """Merged duration histograms per group: roll-up days plus raw rows. `group` maps a name to a
    pair (function of a roll-up table → expression, raw expression)."""
    out: dict[tuple, Histogram] = {}

    def add(rows) -> None:
        for row in rows:
            *key, bucket, runs, lo, hi = row
            hist = out.setdefault(tuple(key), {})
            if bucket in hist:
                entry = hist[bucket]
                entry[0] += runs
                entry[1], entry[2] = min(entry[1], lo), max(entry[2], hi)
            else:
                hist[bucket] = [int(runs), int(lo), int(hi)]

    with hub.session() as s:
        if plan.rollup:
            keys = [exprs[0](H).label(name) for name, exprs in group.items()]
            add(s.execute(select(*keys, H.c.bucket, func.sum(H.c.runs), func.min(H.c.min_ms), func.max(H.c.max_ms))
                          .where(*f.rollup_conditions(H, *plan.rollup)).group_by(*keys, H.c.bucket)))
        if plan.raw:
            keys = [exprs[1].label(name) for name, exprs in group.items()]
            bucket = literal_column(_WIDTH_BUCKET)
            add(s.execute(select(*keys, bucket, func.count(), func.min(M.c.duration_ms), func.max(M.c.duration_ms))
                          .where(*f.conditions(plan.raw)).group_by(*keys, bucket)))
    return out


def hist_percentile(hist: Histogram, p: float) -> float | None:
    """percentile_cont from a histogram: the values inside a bucket are taken as evenly spread between
    its exact minimum and maximum (exact whenever a bucket holds at most two distinct values)."""
    entries = sorted(hist.items())
    n = sum(e[0] for _b, e in entries)
    if n == 0:
        return None

    def value(index: int) -> float:
        seen = 0
        for _bucket, (runs, lo, hi) in entries:
            if index < seen + runs:
                return float(lo) if runs == 1 else lo + (hi - lo) * (index - seen) / (runs - 1)
            seen += runs
        return float(entries[-1][1][2])

    pos = p * (n - 1)
    low = int(pos)
    below = value(low)
    return below if pos == low else below + (value(low + 1) - below) * (pos - low)


# --- what the page shows ---------------------------------------------------------------------------
def _merge(rows: Iterable[dict], key: Sequence[str], into: dict[tuple, dict]) -> None:
    for row in rows:
        k = tuple(row[name] for name in key)
        if k not in into:
            into[k] = dict(row)
            continue
        target = into[k]
        for name in ("runs", "successes", "records", "duration_sum"):
            target[name] = (target.get(name) or 0) + (row.get(name) or 0)
        if row.get("max_ms") is not None:
            target["max_ms"] = max(target.get("max_ms") or 0, row["max_ms"])
        if row.get("last_at") is not None and (target.get("last_at") is None or row["last_at"] > target["last_at"]):
            target["last_at"], target["last_error_code"] = row["last_at"], row.get("last_error_code")


def _rollup_counts(hub: Hub, f: MetricsFilter, plan: _Plan, groups: dict[str, ColumnElement]) -> list[dict]:
    keys = [expr.label(name) for name, expr in groups.items()]
    query = select(*keys, func.sum(D.c.runs).label("runs"), func.sum(D.c.successes).label("successes"),
                   func.sum(D.c.records).label("records"), func.sum(D.c.duration_sum).label("duration_sum"),
                   func.max(D.c.duration_max).label("max_ms")).where(*f.rollup_conditions(D, *plan.rollup))
    if keys:
        query = query.group_by(*keys)
    with hub.session() as s:
        return [dict(r._mapping) for r in s.execute(query)]


def _counts_and_percentiles(hub: Hub, f: MetricsFilter, plan: _Plan, group: dict[str, tuple]) -> list[dict]:
    """Roll-up path: exact counts from both sources, percentiles from the merged histograms."""
    merged: dict[tuple, dict] = {}
    names = list(group)
    _merge(_rollup_counts(hub, f, plan, {n: e[0](D) for n, e in group.items()}), names, merged)
    if plan.raw:
        _merge(_raw_aggregate(hub, f, {n: e[1] for n, e in group.items()}, ranges=plan.raw, percentiles=False),
               names, merged)
    hists = _histograms(hub, f, plan, group)
    out = []
    for key, row in merged.items():
        if not row.get("runs"):
            continue
        hist = hists.get(key, {})
        row.update({name: hist_percentile(hist, p) for name, p in PERCENTILES.items()})
        for extra in ("duration_sum", "avg_ms", "max_ms"):
            row.pop(extra, None)
        out.append(_finish(row))
    return out


def time_series(hub: Hub, f: MetricsFilter, *, use_rollup: bool = True) -> list[dict]:
    """Per bucket and provider: runs, successes, failures, success_rate, records, p50_ms, p95_ms."""
    plan = _plan(hub, f, use_rollup)
    if plan.rollup is None:
        rows = _raw_aggregate(hub, f, {"bucket": _bucket(hub.dialect, f.bucket), "provider": M.c.provider})
    else:
        rows = _counts_and_percentiles(hub, f, plan, {
            "bucket": ((lambda t: t.c.day) if f.bucket == "day" else (lambda t: func.date_trunc(f.bucket, t.c.day)),
                       _bucket(hub.dialect, f.bucket)),
            "provider": (lambda t: t.c.provider, M.c.provider),
        })
    return sorted(rows, key=lambda r: (r["bucket"], r["provider"]))


def totals(hub: Hub, f: MetricsFilter, *, use_rollup: bool = True) -> dict[str, Any]:
    """The same figures over the whole filter (runs 0 when nothing matched)."""
    plan = _plan(hub, f, use_rollup)
    if plan.rollup is None:
        (row,) = _raw_aggregate(hub, f, {})  # no GROUP BY: always exactly one row
        return row
    rows = _counts_and_percentiles(hub, f, plan, {})
    return rows[0] if rows else _finish({"runs": 0, "p50_ms": None, "p95_ms": None})


def per_company(hub: Hub, f: MetricsFilter, *, use_rollup: bool = True) -> list[dict]:
    """Per company and provider: runs, failures, success rate, records, average and maximum
    duration, the company's name, the time and error code of its newest run; worst first."""
    plan = _plan(hub, f, use_rollup)
    merged: dict[tuple, dict] = {}
    key = ("company_id", "provider")
    if plan.rollup is not None:
        _merge(_rollup_counts(hub, f, plan, {"company_id": D.c.company_id, "provider": D.c.provider}), key, merged)
        with hub.session() as s:  # the newest roll-up day per pair carries its last run
            newest = (select(D.c.company_id, D.c.provider, D.c.last_at, D.c.last_error_code,
                             func.row_number().over(partition_by=[D.c.company_id, D.c.provider],
                                                    order_by=D.c.last_at.desc()).label("rn"))
                      .where(*f.rollup_conditions(D, *plan.rollup)).subquery())
            for cid, prov, at, code in s.execute(select(newest.c.company_id, newest.c.provider, newest.c.last_at,
                                                        newest.c.last_error_code).where(newest.c.rn == 1)):
                merged[(cid, prov)].update(last_at=at, last_error_code=code)
    if plan.raw:
        raw = _raw_aggregate(hub, f, {"company_id": M.c.company_id, "provider": M.c.provider}, ranges=plan.raw,
                             percentiles=False)
        with hub.session() as s:
            last = {(cid, prov): (at, code) for cid, prov, at, code in s.execute(_last_runs(f, plan.raw))}
        for row in raw:
            row["last_at"], row["last_error_code"] = last.get((row["company_id"], row["provider"]), (None, None))
        _merge(raw, key, merged)
    rows = [row for row in merged.values() if row.get("runs")]
    if not rows:
        return []
    ids = {r["company_id"] for r in rows}
    with hub.session() as s:
        names = dict(s.execute(select(Company.id, Company.name).where(Company.id.in_(ids))).all())
    for row in rows:
        row["avg_ms"] = (row.get("duration_sum") or 0) / row["runs"] if row["runs"] else None
        row.pop("duration_sum", None)
        _finish(row)
        row["company"] = names.get(row["company_id"], str(row["company_id"]))
        row["last_at"] = _as_datetime(row.get("last_at"))
    rows.sort(key=lambda r: (r["success_rate"] if r["success_rate"] is not None else 2, -r["runs"], r["company"]))
    return rows


def _last_runs(f: MetricsFilter, ranges: Sequence[tuple[datetime, datetime]] | None = None):
    """The newest row per (company, provider) within the filter: its time and error code."""
    newest = (select(M.c.company_id, M.c.provider, func.max(M.c.id).label("id"))
              .where(*f.conditions(ranges)).group_by(M.c.company_id, M.c.provider).subquery())
    return (select(M.c.company_id, M.c.provider, M.c.created_at, M.c.error_code)
            .join(newest, and_(M.c.id == newest.c.id)))


def error_breakdown(hub: Hub, f: MetricsFilter, *, use_rollup: bool = True) -> list[dict]:
    """Failures per error_code and provider, most frequent first."""
    plan = _plan(hub, f, use_rollup)
    merged: dict[tuple, dict] = {}
    with hub.session() as s:
        if plan.rollup is not None:
            for code, prov, count, last_at in s.execute(
                    select(E.c.error_code, E.c.provider, func.sum(E.c.failures), func.max(E.c.last_at))
                    .where(*f.rollup_conditions(E, *plan.rollup)).group_by(E.c.error_code, E.c.provider)):
                merged[(code, prov)] = {"error_code": code, "provider": prov, "count": int(count), "last_at": last_at}
        if plan.raw:
            code = func.coalesce(M.c.error_code, "unknown")
            for c, prov, count, last_at in s.execute(
                    select(code, M.c.provider, func.count(), func.max(M.c.created_at))
                    .where(*f.conditions(plan.raw), M.c.success.is_(False)).group_by(code, M.c.provider)):
                entry = merged.setdefault((c, prov), {"error_code": c, "provider": prov, "count": 0, "last_at": None})
                entry["count"] += int(count)
                last_at = _as_datetime(last_at)
                entry["last_at"] = last_at if entry["last_at"] is None else max(entry["last_at"], last_at)
    return sorted(merged.values(), key=lambda e: (-e["count"], e["error_code"], e["provider"]))


@dataclass
class FilterOptions:
    companies: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def filter_options(hub: Hub, scope: Iterable[uuid.UUID] | None = None) -> FilterOptions:
    """What the filters offer: companies (within `scope`), and the providers and actions recorded."""
    reach = refresh_rollup(hub)
    with hub.session() as s:
        q = select(Company.id, Company.name).order_by(Company.name)
        if scope is not None:
            q = q.where(Company.id.in_(list(scope)))
        companies = [(cid, name) for cid, name in s.execute(q)]
        if reach is None:
            pairs = s.execute(select(M.c.provider, M.c.action).distinct()).all()
        else:  # the roll-up knows every closed day; only the open part is read raw
            pairs = s.execute(select(D.c.provider, D.c.action).distinct()).all()
            pairs += s.execute(select(M.c.provider, M.c.action).where(M.c.created_at >= reach).distinct()).all()
    return FilterOptions(companies, sorted({p for p, _a in pairs}), sorted({a for _p, a in pairs}))


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

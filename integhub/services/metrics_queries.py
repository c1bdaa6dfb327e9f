"""Read side of integration_metrics for the analysts' metrics page (no Streamlit here).

Everything is aggregated in SQL, never by loading rows into Python:
- buckets: date_trunc on PostgreSQL, strftime on SQLite;
- percentiles of duration_ms: percentile_cont on PostgreSQL; on SQLite the same continuous
  (interpolating) percentile from window functions: rank the durations per group, then weight the
  two neighbours of position p·(n−1).
Times are naive UTC, filters are half-open [start, end).
"""
from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, literal_column, select
from sqlalchemy.sql import ColumnElement

from ..db import Hub
from ..models import Company, IntegrationMetric, utcnow

M = IntegrationMetric.__table__
BUCKETS = ("hour", "day", "week")
PERCENTILES = {"p50_ms": 0.5, "p95_ms": 0.95}


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

    def conditions(self) -> list[ColumnElement[bool]]:
        where = [M.c.created_at >= self.start, M.c.created_at < self.end]
        if self.company_ids is not None:
            where.append(M.c.company_id.in_(list(self.company_ids)) if self.company_ids else literal_column("1") == 0)
        if self.providers:
            where.append(M.c.provider.in_(list(self.providers)))
        if self.actions:
            where.append(M.c.action.in_(list(self.actions)))
        return where


def _bucket(dialect: str, bucket: str) -> ColumnElement:
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {BUCKETS}")
    if dialect == "postgresql":
        return func.date_trunc(bucket, M.c.created_at)
    if bucket == "hour":
        return func.strftime("%Y-%m-%d %H:00:00", M.c.created_at)
    if bucket == "day":
        return func.strftime("%Y-%m-%d 00:00:00", M.c.created_at)
    # weeks start on Monday, as date_trunc('week') does: the next Sunday (or this one) minus six days
    return func.strftime("%Y-%m-%d 00:00:00", M.c.created_at, "weekday 0", "-6 days")


def _as_datetime(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _aggregate(hub: Hub, f: MetricsFilter, groups: dict[str, ColumnElement], *, order: Sequence[str] = ()) -> list[dict]:
    """Runs, successes, success rate, records and duration percentiles per group."""
    success = case((M.c.success.is_(True), 1), else_=0)
    with hub.session() as s:
        dialect = s.get_bind().dialect.name
        if dialect == "postgresql":
            cols = [expr.label(name) for name, expr in groups.items()]
            query = select(
                *cols,
                func.count().label("runs"),
                func.sum(success).label("successes"),
                func.coalesce(func.sum(M.c.records_synced), 0).label("records"),
                *[func.percentile_cont(p).within_group(M.c.duration_ms).label(name) for name, p in PERCENTILES.items()],
            ).where(*f.conditions())
            if cols:
                query = query.group_by(*cols)
        else:
            query = _sqlite_aggregate(f, groups, success)
        if order:
            query = query.order_by(*[literal_column(name) for name in order])
        rows = [dict(r._mapping) for r in s.execute(query)]
    for row in rows:
        row["runs"] = int(row["runs"])
        row["successes"] = int(row["successes"] or 0)
        row["failures"] = row["runs"] - row["successes"]
        row["records"] = int(row["records"] or 0)
        row["success_rate"] = row["successes"] / row["runs"] if row["runs"] else None
        for name in PERCENTILES:
            row[name] = float(row[name]) if row[name] is not None else None
        if "bucket" in row:
            row["bucket"] = _as_datetime(row["bucket"])
    return rows


def _sqlite_aggregate(f: MetricsFilter, groups: dict[str, ColumnElement], success: ColumnElement):
    group_cols = [expr.label(name) for name, expr in groups.items()]
    partition = list(groups.values()) or None
    ranked = select(
        *group_cols,
        success.label("ok"),
        M.c.records_synced.label("records_synced"),
        M.c.duration_ms.label("v"),
        (func.row_number().over(partition_by=partition, order_by=M.c.duration_ms) - 1).label("rn"),
        func.count().over(partition_by=partition).label("n"),
    ).where(*f.conditions()).subquery("ranked")
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
    query = select(
        *keys,
        func.count().label("runs"),
        func.sum(ranked.c.ok).label("successes"),
        func.coalesce(func.sum(ranked.c.records_synced), 0).label("records"),
        *percentiles,
    )
    return query.group_by(*keys) if keys else query


# --- what the page shows ---------------------------------------------------------------------------
def time_series(hub: Hub, f: MetricsFilter) -> list[dict]:
    """Per bucket and provider: runs, successes, failures, success_rate, records, p50_ms, p95_ms."""
    return _aggregate(hub, f, {"bucket": _bucket(hub.dialect, f.bucket), "provider": M.c.provider},
                      order=("bucket", "provider"))


def totals(hub: Hub, f: MetricsFilter) -> dict[str, Any]:
    """The same figures over the whole filter (one row; runs 0 when nothing matched)."""
    (row,) = _aggregate(hub, f, {})  # no GROUP BY: always exactly one row
    return row


def per_company(hub: Hub, f: MetricsFilter) -> list[dict]:
    """Per company and provider, with the company's name and the time of its last run, worst first."""
    rows = _aggregate(hub, f, {"company_id": M.c.company_id, "provider": M.c.provider})
    if not rows:
        return []
    ids = {r["company_id"] for r in rows}
    with hub.session() as s:
        names = dict(s.execute(select(Company.id, Company.name).where(Company.id.in_(ids))).all())
        last = {(cid, prov): (at, code) for cid, prov, at, code in s.execute(_last_runs(f))}
    for row in rows:
        row["company"] = names.get(row["company_id"], str(row["company_id"]))
        row["last_at"], row["last_error_code"] = last.get((row["company_id"], row["provider"]), (None, None))
    rows.sort(key=lambda r: (r["success_rate"] if r["success_rate"] is not None else 2, -r["runs"], r["company"]))
    return rows


def _last_runs(f: MetricsFilter):
    """The newest row per (company, provider) within the filter: its time and error code."""
    newest = (select(M.c.company_id, M.c.provider, func.max(M.c.id).label("id"))
              .where(*f.conditions()).group_by(M.c.company_id, M.c.provider).subquery())
    return (select(M.c.company_id, M.c.provider, M.c.created_at, M.c.error_code)
            .join(newest, and_(M.c.id == newest.c.id)))


def error_breakdown(hub: Hub, f: MetricsFilter) -> list[dict]:
    """Failures per error_code and provider, most frequent first."""
    code = func.coalesce(M.c.error_code, "unknown")
    query = (select(code.label("error_code"), M.c.provider, func.count().label("count"),
                    func.max(M.c.created_at).label("last_at"))
             .where(*f.conditions(), M.c.success.is_(False))
             .group_by(code, M.c.provider)
             .order_by(func.count().desc(), code, M.c.provider))
    with hub.session() as s:
        return [{**dict(r._mapping), "count": int(r.count), "last_at": _as_datetime(r.last_at)}
                for r in s.execute(query)]


@dataclass
class FilterOptions:
    companies: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def filter_options(hub: Hub, scope: Iterable[uuid.UUID] | None = None) -> FilterOptions:
    """What the filters offer: companies (within `scope`), and the providers and actions recorded."""
    with hub.session() as s:
        q = select(Company.id, Company.name).order_by(Company.name)
        if scope is not None:
            q = q.where(Company.id.in_(list(scope)))
        companies = [(cid, name) for cid, name in s.execute(q)]
        providers = sorted(s.scalars(select(M.c.provider).distinct()))
        actions = sorted(s.scalars(select(M.c.action).distinct()))
    return FilterOptions(companies, providers, actions)


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

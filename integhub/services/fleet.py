"""The fleet grid: every company × provider with its state, last sync and freshness.

Freshness against the sync interval (auto-sync on):
- on_time:  the last successful sync is at most one interval old;
- late:     older than one interval, at most two;
- failing:  no successful sync for more than twice the interval (counted from the config's
            creation when it never synced).
Auto-sync off gives `manual`, no config `not_configured`. A "problem" is late, failing, or a stored
last error. Everything — freshness, filters, counts, pagination — is computed in SQL, so a page of
the grid costs the same at 10 companies and at 10,000.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, case, cast, false, func, literal, or_, select, true, union_all
from sqlalchemy.sql import ColumnElement

from ..db import Hub
from ..errors import HubError
from ..models import Company, IntegrationConfig, utcnow
from ..providers import all_providers
from .access import Identity, require, require_any

PERMISSION = "fleet.view"
FRESHNESS = ("on_time", "late", "failing", "manual", "not_configured")
PROBLEMS = ("late", "failing")

try:  # the sync engine's lease table (integhub/models_sync.py), when installed
    from ..models_sync import SyncState
except ImportError:  # pragma: no cover - only before the sync engine lands
    SyncState = None  # type: ignore[assignment]


@dataclass
class FleetFilter:
    search: str = ""  # company name or slug
    provider: str | None = None
    freshness: Iterable[str] | None = None  # any of FRESHNESS
    problems_only: bool = False
    company_ids: Iterable[uuid.UUID] | None = None


@dataclass
class FleetRow:
    company_id: uuid.UUID
    company: str
    slug: str
    provider: str
    configured: bool
    is_active: bool
    auto_sync: bool
    interval_minutes: int | None
    last_sync_at: datetime | None
    minutes_since_sync: float | None
    freshness: str
    last_error: str | None
    running_since: datetime | None = None  # a sync holds the lease now
    consecutive_failures: int = 0

    @property
    def problem(self) -> bool:
        return self.freshness in PROBLEMS or bool(self.last_error)


@dataclass
class FleetPage:
    rows: list[FleetRow]
    total: int
    limit: int
    offset: int
    counts: dict[str, int] = field(default_factory=dict)  # freshness → rows (whole filter, not the page)
    problems: int = 0
    running: int = 0


def _minutes_between(dialect: str, later: Any, earlier: ColumnElement) -> ColumnElement:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier) / 60.0
    return (func.julianday(later) - func.julianday(earlier)) * 1440.0


def _grid(hub: Hub, now: datetime):
    """The company × provider rows with every computed column, as a subquery."""
    providers = [p.name for p in all_providers()]
    prov = union_all(*[select(literal(name).label("provider")) for name in providers]).subquery("prov")
    cfg = IntegrationConfig
    interval = cfg.settings["sync_interval"].as_integer()
    auto = cfg.settings["auto_sync_enabled"].as_boolean()
    interval_min = func.coalesce(interval, 60)
    reference = func.coalesce(cfg.last_sync_at, cfg.created_at)
    now_lit = literal(now)
    age = _minutes_between(hub.dialect, now_lit, reference)
    since_sync = case((cfg.last_sync_at.is_(None), None), else_=_minutes_between(hub.dialect, now_lit, cfg.last_sync_at))
    freshness = case(
        (cfg.id.is_(None), literal("not_configured")),
        (or_(auto.is_(None), auto == false(), cfg.is_active == false()), literal("manual")),
        (age <= interval_min, literal("on_time")),
        (age <= 2 * interval_min, literal("late")),
        else_=literal("failing"),
    )
    cols = [
        Company.id.label("company_id"), Company.name.label("company"), Company.slug.label("slug"),
        prov.c.provider, cfg.id.label("config_id"), cfg.is_active, auto.label("auto_sync"),
        interval.label("interval_minutes"), cfg.last_sync_at, cast(since_sync, Float).label("minutes_since_sync"),
        freshness.label("freshness"), cfg.last_error,
    ]
    stmt = (select(*cols).select_from(Company).join(prov, true())
            .outerjoin(cfg, and_(cfg.company_id == Company.id, cfg.provider == prov.c.provider)))
    if SyncState is not None and _has_table(hub, "sync_state"):
        st = SyncState
        running = case((and_(st.lease_token.is_not(None), st.lease_expires_at > now_lit), st.started_at), else_=None)
        stmt = stmt.outerjoin(st, and_(st.company_id == Company.id, st.provider == prov.c.provider))
        stmt = stmt.add_columns(running.label("running_since"),
                                func.coalesce(st.consecutive_failures, 0).label("consecutive_failures"))
    else:
        stmt = stmt.add_columns(literal(None).label("running_since"), literal(0).label("consecutive_failures"))
    return stmt.subquery("grid")


_table_cache: dict[tuple[int, str], bool] = {}


def _has_table(hub: Hub, name: str) -> bool:
    key = (id(hub.engine), name)
    if key not in _table_cache:
        from sqlalchemy import inspect

        _table_cache[key] = inspect(hub.engine).has_table(name)
    return _table_cache[key]


def _where(grid, flt: FleetFilter, scope: set[uuid.UUID] | None) -> list[ColumnElement]:
    conds: list[ColumnElement] = []
    if scope is not None:
        conds.append(grid.c.company_id.in_(sorted(scope)) if scope else false())
    if flt.company_ids is not None:
        ids = sorted(set(flt.company_ids))
        conds.append(grid.c.company_id.in_(ids) if ids else false())
    if flt.search and flt.search.strip():
        like = "%" + flt.search.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
        conds.append(or_(func.lower(grid.c.company).like(like, escape="\\"), grid.c.slug.like(like, escape="\\")))
    if flt.provider:
        conds.append(grid.c.provider == flt.provider)
    if flt.freshness:
        conds.append(grid.c.freshness.in_(list(flt.freshness)))
    if flt.problems_only:
        conds.append(or_(grid.c.freshness.in_(PROBLEMS), grid.c.last_error.is_not(None)))
    return conds


def fleet_page(hub: Hub, identity: Identity, flt: FleetFilter | None = None, *, limit: int = 50, offset: int = 0,
               now: datetime | None = None) -> FleetPage:
    """One page of the grid (ordered by company name, provider) plus counts over the whole filter."""
    require_any(identity, PERMISSION)
    flt = flt or FleetFilter()
    now = now or utcnow()
    limit, offset = max(1, min(int(limit), 500)), max(0, int(offset))
    grid = _grid(hub, now)
    conds = _where(grid, flt, identity.company_scope(PERMISSION))
    rows_stmt = (select(grid).where(*conds).order_by(grid.c.company, grid.c.company_id, grid.c.provider)
                 .limit(limit).offset(offset))
    counts_stmt = (select(grid.c.freshness, func.count(),
                          func.sum(case((or_(grid.c.freshness.in_(PROBLEMS), grid.c.last_error.is_not(None)), 1), else_=0)),
                          func.count(grid.c.running_since))
                   .where(*conds).group_by(grid.c.freshness))
    with hub.session() as s:
        rows = [FleetRow(company_id=r.company_id, company=r.company, slug=r.slug, provider=r.provider,
                         configured=r.config_id is not None, is_active=bool(r.is_active), auto_sync=bool(r.auto_sync),
                         interval_minutes=r.interval_minutes, last_sync_at=r.last_sync_at,
                         minutes_since_sync=r.minutes_since_sync, freshness=r.freshness, last_error=r.last_error,
                         running_since=r.running_since, consecutive_failures=int(r.consecutive_failures or 0))
                for r in s.execute(rows_stmt)]
        counts: dict[str, int] = dict.fromkeys(FRESHNESS, 0)
        problems = running = 0
        for freshness, n, p, run in s.execute(counts_stmt):
            counts[freshness] = int(n)
            problems += int(p or 0)
            running += int(run or 0)
    return FleetPage(rows, sum(counts.values()), limit, offset, counts, problems, running)


def overdue_counts(hub: Hub, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """provider → {late, failing} over the whole fleet (for /api/metrics)."""
    grid = _grid(hub, now or utcnow())
    stmt = (select(grid.c.provider, grid.c.freshness, func.count()).where(grid.c.freshness.in_(PROBLEMS))
            .group_by(grid.c.provider, grid.c.freshness))
    out: dict[str, dict[str, int]] = {p.name: {"late": 0, "failing": 0} for p in all_providers()}
    with hub.session() as s:
        for provider, freshness, n in s.execute(stmt):
            out.setdefault(provider, {"late": 0, "failing": 0})[freshness] = int(n)
    return out


# --- bulk "sync now" --------------------------------------------------------------------------
@dataclass
class BulkOutcome:
    company_id: uuid.UUID
    provider: str
    ok: bool
    message: str = ""
    records_synced: int = 0


def sync_now(hub: Hub, identity: Identity, pairs: Iterable[tuple[uuid.UUID | str, str]], *,
             concurrency: int = 4, lang: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> list[BulkOutcome]:
    """Run a sync for each selected (company, provider) now, through services.sync.run_sync.

    Each pair is checked for `sync.run` first; pairs the identity may not sync are refused (not
    skipped silently). A pair already syncing reports that instead of starting a second run.
    """
    from ..providers.errors import ProviderError
    from . import sync as sync_service
    from .companies import parse_uuid

    selected = list(dict.fromkeys((parse_uuid(c), p) for c, p in pairs))
    for cid, provider in selected:
        require(identity, "sync.run", cid)
    total, done = len(selected), 0

    def one(pair: tuple[uuid.UUID, str]) -> BulkOutcome:
        cid, provider = pair
        try:
            result = sync_service.run_sync(hub, cid, provider, actor=identity.actor, trigger="manual")
        except (HubError, ProviderError) as exc:
            return BulkOutcome(cid, provider, False, exc.message(lang))
        except Exception as exc:  # noqa: BLE001 - one broken pair must not stop the others
            from .configs import describe_error

            return BulkOutcome(cid, provider, False, describe_error(exc, lang))
        ok = bool(getattr(result, "success", False))
        return BulkOutcome(cid, provider, ok, "" if ok else str(getattr(result, "error", "") or ""),
                           int(getattr(result, "records_synced", 0) or 0))

    outcomes: list[BulkOutcome] = []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, total or 1)), thread_name_prefix="bulk-sync") as pool:
        for outcome in pool.map(one, selected):
            outcomes.append(outcome)
            done += 1
            if progress:
                progress(done, total)
    return outcomes

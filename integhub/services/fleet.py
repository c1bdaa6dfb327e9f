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

import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, and_, case, cast, false, func, literal, literal_column, or_, select, true, union_all
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


def _within(dialect: str, reference: ColumnElement, now: datetime, minutes: ColumnElement) -> ColumnElement:
    """`reference` lies at most `minutes` before `now` (index-friendly timestamp arithmetic)."""
    if dialect == "postgresql":
        # an explicitly typed parameter: an untyped one costs a conversion on every row
        return reference >= cast(literal(now), DateTime) - minutes * literal_column("interval '1 minute'")
    julian_now = (now - datetime(1970, 1, 1)).total_seconds() / 86400.0 + 2440587.5
    return func.julianday(reference) >= literal(julian_now) - minutes / 1440.0


def _config_columns(dialect: str, now: datetime) -> dict[str, ColumnElement]:
    """Per-config expressions: settings read once, freshness as a CASE over plain comparisons."""
    cfg = IntegrationConfig
    interval = cfg.settings["sync_interval"].as_integer()
    auto = cfg.settings["auto_sync_enabled"].as_boolean()
    minutes = func.coalesce(interval, 60)
    reference = func.coalesce(cfg.last_sync_at, cfg.created_at)
    freshness = case(
        (or_(func.coalesce(auto, false()) == false(), cfg.is_active == false()), literal("manual")),
        (_within(dialect, reference, now, minutes), literal("on_time")),
        (_within(dialect, reference, now, 2 * minutes), literal("late")),
        else_=literal("failing"),
    )
    # The same states as plain predicates, for WHERE clauses (cheaper than filtering on the CASE).
    syncing = and_(func.coalesce(auto, false()) == true(), cfg.is_active == true())
    within_1, within_2 = _within(dialect, reference, now, minutes), _within(dialect, reference, now, 2 * minutes)
    states = {"manual": ~syncing, "on_time": and_(syncing, within_1),
              "late": and_(syncing, ~within_1, within_2), "failing": and_(syncing, ~within_2)}
    problem = or_(states["late"], states["failing"], cfg.last_error.is_not(None))
    return {"interval": interval, "auto": auto, "freshness": freshness, "problem": problem, "states": states}


def _company_filters(company_col: ColumnElement, flt: FleetFilter, scope: set[uuid.UUID] | None) -> list:
    conds: list[ColumnElement] = []
    if scope is not None:
        conds.append(company_col.in_(sorted(scope)) if scope else false())
    if flt.company_ids is not None:
        ids = sorted(set(flt.company_ids))
        conds.append(company_col.in_(ids) if ids else false())
    return conds


def _search(flt: FleetFilter) -> ColumnElement | None:
    if not (flt.search and flt.search.strip()):
        return None
    like = "%" + flt.search.strip().lower().replace("%", r"\%").replace("_", r"\_") + "%"
    return or_(func.lower(Company.name).like(like, escape="\\"), Company.slug.like(like, escape="\\"))


def _providers(flt: FleetFilter) -> list[str]:
    names = [p.name for p in all_providers()]
    return [flt.provider] if flt.provider in names else ([] if flt.provider else names)


def _scoped(stmt, company_col: ColumnElement, flt: FleetFilter, scope, *, join_company: bool):
    """Apply the company filters; join companies only when the search needs their names."""
    search = _search(flt)
    if search is not None:
        if join_company:
            stmt = stmt.join(Company, Company.id == company_col)
        stmt = stmt.where(search)
    return stmt.where(*_company_filters(company_col, flt, scope))


def _has_states(hub: Hub) -> bool:
    return SyncState is not None and _has_table(hub, "sync_state")


_table_cache: dict[tuple[int, str], bool] = {}


def _has_table(hub: Hub, name: str) -> bool:
    key = (id(hub.engine), name)
    if key not in _table_cache:
        from sqlalchemy import inspect

        _table_cache[key] = inspect(hub.engine).has_table(name)
    return _table_cache[key]


def _row(company_id, company, slug, provider, cfg, state, now: datetime) -> FleetRow:
    """One grid row from a config result row (or None: not configured) and a lease row."""
    running_since = consecutive = None
    if state is not None:
        if state.lease_token is not None and state.lease_expires_at is not None and state.lease_expires_at > now:
            running_since = state.started_at
        consecutive = state.consecutive_failures
    if cfg is None:
        return FleetRow(company_id, company, slug, provider, False, False, False, None, None, None,
                        "not_configured", None, running_since, int(consecutive or 0))
    since = (now - cfg.last_sync_at).total_seconds() / 60.0 if cfg.last_sync_at else None
    return FleetRow(company_id, company, slug, provider, True, bool(cfg.is_active), bool(cfg.auto),
                    cfg.interval, cfg.last_sync_at, since, cfg.freshness, cfg.last_error, running_since,
                    int(consecutive or 0))


def _config_select(cols: dict[str, ColumnElement]):
    cfg = IntegrationConfig
    return select(cfg.company_id, cfg.provider, cfg.is_active, cols["auto"].label("auto"),
                  cols["interval"].label("interval"), cfg.last_sync_at, cols["freshness"].label("freshness"),
                  cfg.last_error)


def _states(s, hub: Hub, ids: list[uuid.UUID]) -> dict[tuple[uuid.UUID, str], Any]:
    if not ids or not _has_states(hub):
        return {}
    st = SyncState
    rows = s.execute(select(st.company_id, st.provider, st.lease_token, st.lease_expires_at, st.started_at,
                            st.consecutive_failures).where(st.company_id.in_(ids)))
    return {(r.company_id, r.provider): r for r in rows}


def fleet_page(hub: Hub, identity: Identity, flt: FleetFilter | None = None, *, limit: int = 50, offset: int = 0,
               now: datetime | None = None) -> FleetPage:
    """One page of the grid (ordered by company name, provider).

    `counts` (the cards) cover the search, provider and scope filters; `total` is what the
    freshness and problem filters leave, for the pagination. The plain grid pages over companies
    by name and reads only that page's configs. A freshness or problem filter finds its matching
    pairs in one query, kept COUNTS_SECONDS like the counts (the page reruns on every click); the
    rows shown are always read fresh.
    """
    require_any(identity, PERMISSION)
    flt = flt or FleetFilter()
    now = now or utcnow()
    limit, offset = max(1, min(int(limit), 500)), max(0, int(offset))
    scope = identity.company_scope(PERMISSION)
    providers = _providers(flt)
    cols = _config_columns(hub.dialect, now)
    wanted = set(flt.freshness or ())
    if flt.problems_only:
        wanted = (wanted or set(FRESHNESS)) - {"not_configured"}

    with hub.session() as s:
        groups, n_companies, running = _aggregates(s, hub, flt, scope, providers, cols, now)
        counts: dict[str, int] = dict.fromkeys(FRESHNESS, 0)
        for (f, _p), n in groups.items():
            counts[f] += n
        counts["not_configured"] = max(0, n_companies * len(providers) - sum(groups.values()))
        problems = sum(n for (_f, p), n in groups.items() if p)

        # 2. the page
        if not wanted:
            rows, total = _plain_page(s, hub, flt, scope, providers, cols, limit, offset, now, n_companies)
        else:
            matching = _matching_pairs(s, hub, flt, scope, providers, cols, wanted)
            total = len(matching)
            rows = _live_rows(s, hub, matching[offset:offset + limit], providers, cols, now)
    return FleetPage(rows, total, limit, offset, counts, problems, running)


# The cards' counts (one pass over the configs) are kept for COUNTS_SECONDS per filter and scope:
# the page reruns on every click (row selection, toggles), the fleet-wide numbers need not.
COUNTS_SECONDS = float(os.environ.get("INTEGHUB_FLEET_COUNTS_SECONDS", "10"))
_counts_lock = threading.Lock()
_counts_cache: dict[tuple, tuple[float, tuple]] = {}


def clear_counts() -> None:
    with _counts_lock:
        _counts_cache.clear()


def _aggregates(s, hub: Hub, flt: FleetFilter, scope, providers: list[str], cols, now: datetime):
    """({(freshness, is_problem): n} over the configs, matching companies, running syncs)."""
    key = ("counts", id(hub.engine), tuple(providers), (flt.search or "").strip().lower(),
           None if scope is None else frozenset(scope), None if flt.company_ids is None else frozenset(flt.company_ids))

    def compute():
        cfg = IntegrationConfig
        inner = _scoped(select(cols["freshness"].label("f"), cfg.last_error.is_not(None).label("e")).select_from(cfg),
                        cfg.company_id, flt, scope, join_company=True)
        inner = inner.where(cfg.provider.in_(providers)).subquery()
        groups: dict[tuple[str, int], int] = {}
        for f, e, n in s.execute(select(inner.c.f, inner.c.e, func.count()).group_by(inner.c.f, inner.c.e)):
            k = (f, int(bool(e) or f in PROBLEMS))
            groups[k] = groups.get(k, 0) + int(n)
        n_companies = s.scalar(_scoped(select(func.count()).select_from(Company), Company.id, flt, scope,
                                       join_company=False)) or 0
        return groups, n_companies, _running(s, hub, flt, scope, providers, now)

    return _cached(key, compute)


def _running(s, hub: Hub, flt: FleetFilter, scope, providers: list[str], now: datetime) -> int:
    if not _has_states(hub):
        return 0
    st = SyncState
    stmt = _scoped(select(func.count()).select_from(st), st.company_id, flt, scope, join_company=True)
    return int(s.scalar(stmt.where(st.provider.in_(providers), st.lease_token.is_not(None),
                                   st.lease_expires_at > now)) or 0)


def _plain_page(s, hub, flt, scope, providers, cols, limit, offset, now, n_companies):
    """No freshness filter: page over companies by name, then read only their configs."""
    per = len(providers)
    if per == 0:
        return [], 0
    skip = offset % per
    companies = list(s.execute(
        _scoped(select(Company.id, Company.name, Company.slug), Company.id, flt, scope, join_company=False)
        .order_by(Company.name, Company.id).limit(math.ceil((skip + limit) / per)).offset(offset // per)))
    ids = [c.id for c in companies]
    configs = _configs_by_pair(s, ids, providers, cols)
    states = _states(s, hub, ids)
    rows = [_row(c.id, c.name, c.slug, p, configs.get((c.id, p)), states.get((c.id, p)), now)
            for c in companies for p in providers]
    return rows[skip:skip + limit], n_companies * per


def _cached(key: tuple, compute):
    with _counts_lock:
        hit = _counts_cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < COUNTS_SECONDS:
        return hit[1]
    value = compute()
    with _counts_lock:
        if len(_counts_cache) > 256:
            _counts_cache.clear()
        _counts_cache[key] = (time.monotonic(), value)
    return value


def _matching_pairs(s, hub, flt, scope, providers, cols, wanted) -> list[tuple[uuid.UUID, str, str, str]]:
    """(company id, provider, name, slug) of every pair in the freshness/problem filter, in grid order."""
    key = ("pairs", id(hub.engine), tuple(providers), (flt.search or "").strip().lower(),
           None if scope is None else frozenset(scope), None if flt.company_ids is None else frozenset(flt.company_ids),
           frozenset(wanted), flt.problems_only)

    def compute() -> list[tuple[uuid.UUID, str, str, str]]:
        cfg = IntegrationConfig
        if "not_configured" not in wanted:
            stmt = (select(cfg.company_id, cfg.provider, Company.name, Company.slug)
                    .join(Company, Company.id == cfg.company_id).where(cfg.provider.in_(providers)))
            if wanted != set(FRESHNESS) - {"not_configured"}:
                stmt = stmt.where(or_(*[cols["states"][f] for f in sorted(wanted)]))
            if flt.problems_only:
                stmt = stmt.where(cols["problem"])
        else:  # "not configured" pairs have no config row: company × provider in SQL
            prov = union_all(*[select(literal(name).label("provider")) for name in providers]).subquery("prov")
            states = [cols["states"][f] for f in sorted(wanted - {"not_configured"})]
            stmt = (select(Company.id, prov.c.provider, Company.name, Company.slug)
                    .select_from(Company).join(prov, true())
                    .outerjoin(cfg, and_(cfg.company_id == Company.id, cfg.provider == prov.c.provider))
                    .where(or_(cfg.id.is_(None), *states)))
        stmt = _scoped(stmt, Company.id, flt, scope, join_company=False)
        return [tuple(r) for r in s.execute(stmt.order_by(Company.name, Company.id, "provider"))]

    return _cached(key, compute)


def _configs_by_pair(s, ids, providers, cols) -> dict:
    """The shown companies' configurations, by (company_id, provider)."""
    if not ids:
        return {}
    return {(r.company_id, r.provider): r for r in s.execute(
        _config_select(cols).where(IntegrationConfig.company_id.in_(ids), IntegrationConfig.provider.in_(providers)))}


def _live_rows(s, hub, pairs, providers, cols, now) -> list[FleetRow]:
    ids = list({p[0] for p in pairs})
    configs = _configs_by_pair(s, ids, providers, cols)
    states = _states(s, hub, ids)
    return [_row(cid, name, slug, provider, configs.get((cid, provider)), states.get((cid, provider)), now)
            for cid, provider, name, slug in pairs]


def overdue_counts(hub: Hub, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """provider → {late, failing} over the whole fleet (for /api/metrics)."""
    cols = _config_columns(hub.dialect, now or utcnow())
    inner = select(IntegrationConfig.provider.label("provider"), cols["freshness"].label("f")).subquery()
    stmt = select(inner.c.provider, inner.c.f, func.count()).where(inner.c.f.in_(PROBLEMS)).group_by(inner.c.provider, inner.c.f)
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
            result = sync_service.run_sync(hub, cid, provider, actor=identity.actor, trigger="bulk")
        except (HubError, ProviderError) as exc:
            return BulkOutcome(cid, provider, False, exc.message(lang))
        except Exception as exc:  # noqa: BLE001 - one broken pair must not stop the others
            from .configs import describe_error

            return BulkOutcome(cid, provider, False, describe_error(exc, lang))
        ok = bool(getattr(result, "success", False))
        return BulkOutcome(cid, provider, ok, "" if ok else str(getattr(result, "error", "") or ""),
                           int(getattr(result, "records_synced", 0) or 0))

    outcomes: list[BulkOutcome] = []
    clear_counts()
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, total or 1)), thread_name_prefix="bulk-sync") as pool:
        for outcome in pool.map(one, selected):
            outcomes.append(outcome)
            done += 1
            if progress:
                progress(done, total)
    clear_counts()  # the grid should show the outcome at once
    return outcomes

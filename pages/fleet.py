"""Fleet: every company × provider in one grid — freshness, last sync, last error — and bulk "sync now"."""
from __future__ import annotations

import math

import streamlit as st

from integhub.providers import all_providers
from integhub.services import fleet
from integhub.services.configs import describe_error
from integhub.services.fleet import FRESHNESS, FleetFilter
from ui import auth
from ui.auth import tr

PAGE_SIZE = 50
PROVIDER_NAMES = {p.name: p.display_name for p in all_providers()}
BADGE = {"on_time": ":green-badge[{}]", "late": ":orange-badge[{}]", "failing": ":red-badge[{}]",
         "manual": ":gray-badge[{}]", "not_configured": ":gray-badge[{}]"}

hub = auth.page_hub()
identity = auth.require_page("fleet", hub)

st.title(tr("ops.fleet.title"), anchor=False)
st.caption(tr("ops.fleet.caption"))

c1, c2, c3, c4 = st.columns([3, 1, 3, 1])
search = c1.text_input(tr("ops.fleet.search"), key="fleet_search", placeholder=tr("ops.fleet.search_placeholder"))
provider = c2.selectbox(tr("ops.filter.provider"), [None, *PROVIDER_NAMES], key="fleet_provider",
                        format_func=lambda p: tr("ops.filter.all") if p is None else PROVIDER_NAMES[p])
states = c3.multiselect(tr("ops.fleet.freshness"), list(FRESHNESS), key="fleet_freshness",
                        format_func=lambda f: tr(f"ops.fleet.state.{f}"), placeholder=tr("ops.filter.all"))
problems_only = c4.toggle(tr("ops.fleet.problems_only"), key="fleet_problems")
flt = FleetFilter(search=search, provider=provider, freshness=states or None, problems_only=problems_only)

try:
    page_no = int(st.session_state.get("fleet_page", 1) or 1)
    result = fleet.fleet_page(hub, identity, flt, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    pages = max(1, math.ceil(result.total / PAGE_SIZE))
    if page_no > pages:  # the filter got narrower: back to its last page
        page_no = pages
        st.session_state["fleet_page"] = page_no
        result = fleet.fleet_page(hub, identity, flt, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
except Exception as exc:  # noqa: BLE001 - a message, never a traceback
    st.error(describe_error(exc, auth.lang()), icon=":material/error:")
    st.stop()

m = st.columns(6)
for col, state in zip(m, ("on_time", "late", "failing", "manual", "not_configured"), strict=False):
    col.metric(tr(f"ops.fleet.state.{state}"), result.counts.get(state, 0), border=True)
m[5].metric(tr("ops.fleet.running"), result.running, border=True)
c_note, c_refresh = st.columns([5, 1], vertical_alignment="center")
c_note.caption(tr("ops.fleet.counts_note", seconds=int(fleet.COUNTS_SECONDS)))
if c_refresh.button(tr("ops.fleet.refresh"), icon=":material/refresh:", key="fleet_refresh"):
    fleet.clear_counts()
    st.rerun()

if not result.rows:
    st.info(tr("ops.fleet.empty"), icon=":material/grid_view:")
    st.stop()


def _age(minutes: float | None) -> str:
    if minutes is None:
        return "–"
    if minutes < 90:
        return tr("ops.fleet.minutes", n=int(minutes))
    if minutes < 48 * 60:
        return tr("ops.fleet.hours", n=int(minutes // 60))
    return tr("ops.fleet.days", n=int(minutes // 1440))


table = [{
    tr("ops.col.company"): r.company,
    tr("ops.col.provider"): PROVIDER_NAMES.get(r.provider, r.provider),
    tr("ops.fleet.col.state"): tr(f"ops.fleet.state.{r.freshness}"),
    tr("ops.fleet.col.last_sync"): r.last_sync_at,
    tr("ops.fleet.col.age"): _age(r.minutes_since_sync),
    tr("ops.fleet.col.interval"): r.interval_minutes if r.auto_sync else None,
    tr("ops.fleet.col.running"): r.running_since,
    tr("ops.fleet.col.failures"): r.consecutive_failures,
    tr("ops.fleet.col.error"): r.last_error or "",
} for r in result.rows]
selection = st.dataframe(
    table, hide_index=True, key="fleet_table", on_select="rerun", selection_mode="multi-row",
    column_config={tr("ops.fleet.col.last_sync"): st.column_config.DatetimeColumn(format="DD.MM.YYYY HH:mm"),
                   tr("ops.fleet.col.running"): st.column_config.DatetimeColumn(format="HH:mm:ss"),
                   tr("ops.fleet.col.interval"): st.column_config.NumberColumn(format="%d min")},
)
if pages > 1:
    st.pagination(pages, key="fleet_page")
st.caption(tr("ops.fleet.showing", shown=len(result.rows), total=result.total, page=page_no, pages=pages))

# --- bulk "sync now" --------------------------------------------------------------------------------
syncable = [r for r in result.rows if r.configured and identity.can("sync.run", r.company_id)]
chosen_rows = set(getattr(getattr(selection, "selection", None), "rows", []) or [])
pick_problems = st.checkbox(tr("ops.fleet.pick_problems"), key="fleet_pick_problems")
chosen = [r for i, r in enumerate(result.rows) if i in chosen_rows or (pick_problems and r.problem)]
pairs = [(r.company_id, r.provider) for r in chosen if r in syncable]
if st.button(tr("ops.fleet.sync_selected", n=len(pairs)), type="primary", disabled=not pairs,
             icon=":material/sync:", key="fleet_sync"):
    bar = st.progress(0.0, text=tr("ops.fleet.sync_progress", done=0, total=len(pairs)))

    def _progress(done: int, total: int) -> None:
        bar.progress(done / total, text=tr("ops.fleet.sync_progress", done=done, total=total))

    try:
        outcomes = fleet.sync_now(hub, identity, pairs, lang=auth.lang(), progress=_progress)
    except Exception as exc:  # noqa: BLE001
        st.error(describe_error(exc, auth.lang()), icon=":material/error:")
    else:
        ok = [o for o in outcomes if o.ok]
        failed = [o for o in outcomes if not o.ok]
        names = {(r.company_id, r.provider): r.company for r in result.rows}
        if ok:
            st.success(tr("ops.fleet.sync_ok", n=len(ok), records=sum(o.records_synced for o in ok)),
                       icon=":material/check_circle:")
        for o in failed:
            st.warning(f"{names.get((o.company_id, o.provider), o.company_id)} · "
                       f"{PROVIDER_NAMES.get(o.provider, o.provider)}: {o.message}", icon=":material/warning:")
elif chosen and not pairs:
    st.caption(tr("ops.fleet.nothing_syncable"))

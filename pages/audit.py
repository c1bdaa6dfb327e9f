"""Audit: who changed what and when — per company and provider, filterable, CSV export."""
from __future__ import annotations

import math

import streamlit as st

from integhub.providers import all_providers
from integhub.services import audit_queries
from integhub.services.audit_queries import AuditFilter
from integhub.services.configs import describe_error
from ui import auth
from ui.auth import tr

PAGE_SIZE = 50

hub = auth.page_hub()
identity = auth.require_page("audit", hub)

st.title(tr("ops.audit.title"), anchor=False)
st.caption(tr("ops.audit.caption"))

company = auth.chosen_company()
c1, c2, c3, c4, c5 = st.columns([2, 1, 2, 2, 2])
only_company = c1.toggle(tr("ops.audit.only_company", name=company.name), value=False, key="audit_only_company") \
    if company is not None else False
provider_names = {p.name: p.display_name for p in all_providers()}
provider = c2.selectbox(tr("ops.filter.provider"), [None, *provider_names], key="audit_provider",
                        format_func=lambda p: tr("ops.filter.all") if p is None else provider_names[p])
action = c3.selectbox(tr("ops.audit.action"), [None, *audit_queries.action_names(hub, identity)], key="audit_action",
                      format_func=lambda a: tr("ops.filter.all") if a is None else a)
actor = c4.text_input(tr("ops.audit.actor"), key="audit_actor", placeholder="name@firma.de")
dates = c5.date_input(tr("ops.audit.dates"), value=(), key="audit_dates", format="DD.MM.YYYY")

since = dates[0] if len(dates) >= 1 else None
until = dates[1] if len(dates) == 2 else since
flt = AuditFilter(company_id=company.id if only_company else None, provider=provider, action=action,
                  actor=actor or None, since=since, until=until)

try:
    first = audit_queries.query_audit(hub, identity, flt, limit=PAGE_SIZE, offset=0)
    pages = max(1, math.ceil(first.total / PAGE_SIZE))
    page_no = max(1, int(st.session_state.get("audit_page", 1) or 1))
    if page_no > pages:  # a narrower filter has fewer pages
        page_no = st.session_state["audit_page"] = pages
    result = first if page_no == 1 else audit_queries.query_audit(hub, identity, flt, limit=PAGE_SIZE,
                                                                  offset=(page_no - 1) * PAGE_SIZE)
except Exception as exc:  # noqa: BLE001 - a message, never a traceback
    st.error(describe_error(exc, auth.lang()), icon=":material/error:")
    st.stop()

st.markdown(tr("ops.audit.count", total=result.total))
if not result.rows:
    st.info(tr("ops.audit.empty"), icon=":material/history:")
else:
    st.dataframe(
        [{tr("ops.col.time"): r.created_at, tr("ops.col.actor"): r.actor, tr("ops.col.company"): r.company or "–",
          tr("ops.col.provider"): r.provider or "–", tr("ops.col.action"): r.action, tr("ops.col.change"): r.summary}
         for r in result.rows],
        hide_index=True, key="audit_table",
        column_config={tr("ops.col.time"): st.column_config.DatetimeColumn(format="DD.MM.YYYY HH:mm:ss")},
    )
    if pages > 1:
        st.pagination(pages, key="audit_page")

st.download_button(tr("ops.audit.csv"), data=lambda: audit_queries.export_csv(hub, identity, flt),
                   file_name="integhub-audit.csv", mime="text/csv", icon=":material/download:",
                   on_click="ignore", key="audit_csv")

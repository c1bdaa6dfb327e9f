"""The sidebar company picker: searched and paginated in SQL, the choice kept in the URL (?company=<id>).

The selectbox is bound to the query parameter, so a copied link opens the same company, and the
choice survives page switches. Its options are one page of the search result plus the chosen
company (a bound value outside the options would be dropped from the URL).
"""
from __future__ import annotations

import math

import streamlit as st

from integhub.db import Hub
from integhub.models import Company
from integhub.services import companies, guarded
from ui import context
from ui.components import Failed, attempt
from ui.i18n import t

COMPANY_KEY = "company"
SEARCH_KEY = "company_search"
PAGE_KEY = "company_page"
PAGE_SIZE = 20


def selected_company_id() -> str | None:
    value = st.session_state.get(COMPANY_KEY) or st.query_params.get(COMPANY_KEY)
    return str(value) if value else None


def select_company(company_id: object) -> None:
    """Make `company_id` the chosen company (call before the picker renders, e.g. before a rerun)."""
    st.session_state[COMPANY_KEY] = str(company_id)
    st.session_state[SEARCH_KEY] = ""
    st.session_state[PAGE_KEY] = 1


def _reset_page() -> None:
    st.session_state[PAGE_KEY] = 1


def company_picker(hub: Hub) -> Company | None:
    """Render the picker in the sidebar; return the chosen company (or None)."""
    box = st.container(border=True)
    with box:
        st.markdown(f"**:material/domain: {t('ui.picker.title')}**")
        search = st.text_input(t("ui.picker.search"), key=SEARCH_KEY, placeholder=t("ui.picker.search_placeholder"),
                               icon=":material/search:", on_change=_reset_page, label_visibility="collapsed")
        page_no = max(1, int(st.session_state.get(PAGE_KEY) or 1))
        try:
            page = attempt(lambda: guarded.list_companies(context.identity(), hub, search, limit=PAGE_SIZE,
                                                            offset=(page_no - 1) * PAGE_SIZE))
        except Failed:
            return None
        pages = max(1, math.ceil(page.total / PAGE_SIZE))
        if page_no > pages:  # the search shrank the result
            page_no = st.session_state[PAGE_KEY] = pages
            page = attempt(lambda: guarded.list_companies(context.identity(), hub, search, limit=PAGE_SIZE,
                                                            offset=(pages - 1) * PAGE_SIZE))

        labels = {str(c.id): c.name for c in page.rows}
        chosen = selected_company_id()
        chosen_company: Company | None = None
        if chosen:
            try:
                chosen_company = _get_company(hub, chosen)
                labels = {chosen: chosen_company.name, **labels} if chosen not in labels else labels
            except Exception:  # noqa: BLE001 - a stale or mistyped link: just nothing chosen
                chosen = None
                st.session_state.pop(COMPANY_KEY, None)
        elif page.rows and not search:
            # Nothing chosen yet: open the first company, like a list would.
            chosen = str(page.rows[0].id)
            st.session_state[COMPANY_KEY] = chosen
            chosen_company = page.rows[0]

        value = st.selectbox(
            t("ui.picker.company"), list(labels), index=None, format_func=lambda cid: labels.get(cid, cid),
            key=COMPANY_KEY, bind="query-params", placeholder=t("ui.picker.choose"),
            label_visibility="collapsed",
        )
        if page.total == 0:
            st.caption(t("ui.picker.no_match") if search else t("ui.picker.empty"))
        else:
            first = (page_no - 1) * PAGE_SIZE + 1
            st.caption(t("ui.picker.range", first=first, last=first + len(page.rows) - 1, total=page.total))
        if pages > 1:
            st.pagination(pages, default=min(page_no, pages), max_visible_pages=0, key=PAGE_KEY, width="stretch")
    if value and chosen_company is not None and str(chosen_company.id) == value:
        return chosen_company
    if value:
        try:
            return _get_company(hub, value)
        except Exception:  # noqa: BLE001
            return None
    return None


def _get_company(hub: Hub, company_id: str) -> Company:
    return guarded.call(context.identity(), "status.view", company_id, companies.get_company, hub, company_id)

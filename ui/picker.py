"""The sidebar company picker: searched and paginated in SQL, the choice kept in the URL (?company=<id>).

A copied link opens the same company. The URL holds the company's id (a selectbox bound with
`bind="query-params"` would put the shown *name* there, which is neither unique nor stable), so
the picker writes the parameter itself on every run, which also restores it after a page switch.
Its options are one page of the search result plus the chosen company.
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

COMPANY_KEY = "company"  # session state and URL parameter: the chosen company's id
SELECT_KEY = "company_select"
SEARCH_KEY = "company_search"
PAGE_KEY = "company_page"
PAGE_SIZE = 20


def selected_company_id() -> str | None:
    if COMPANY_KEY not in st.session_state:  # first run of this session: the shared link decides
        st.session_state[COMPANY_KEY] = st.query_params.get(COMPANY_KEY) or None
    value = st.session_state.get(COMPANY_KEY)
    return str(value) if value else None


def select_company(company_id: object) -> None:
    """Make `company_id` the chosen company (call from a callback, i.e. before the picker renders)."""
    st.session_state[COMPANY_KEY] = str(company_id)
    st.session_state[SELECT_KEY] = str(company_id)
    st.session_state[SEARCH_KEY] = ""
    st.session_state[PAGE_KEY] = 1


def _picked() -> None:
    st.session_state[COMPANY_KEY] = st.session_state.get(SELECT_KEY)


def _sync_url(company_id: str | None) -> None:
    if company_id and st.query_params.get(COMPANY_KEY) != company_id:
        st.query_params[COMPANY_KEY] = company_id
    elif not company_id and COMPANY_KEY in st.query_params:
        del st.query_params[COMPANY_KEY]


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
                st.session_state[COMPANY_KEY] = None
        elif page.rows and not search:
            # Nothing chosen yet: open the first company, like a list would.
            chosen = str(page.rows[0].id)
            st.session_state[COMPANY_KEY] = chosen
            chosen_company = page.rows[0]
        if st.session_state.get(SELECT_KEY) != chosen:
            st.session_state[SELECT_KEY] = chosen  # the widget follows the choice (link, callback, default)
        options = list(labels)
        value = st.selectbox(
            t("ui.picker.company"), options, index=None, format_func=lambda cid: labels.get(cid, cid),
            key=SELECT_KEY, on_change=_picked, placeholder=t("ui.picker.choose"), label_visibility="collapsed",
        )
        _sync_url(value)
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

"""What the router resolved for this run (the chosen company), for the pages to read."""
from __future__ import annotations

import streamlit as st

_COMPANY = "_integhub_current_company"
_IDENTITY = "_integhub_identity"


def set_identity(identity) -> None:
    st.session_state[_IDENTITY] = identity


def identity():
    """The signed-in identity (integhub.services.access.Identity) the router resolved, or None."""
    return st.session_state.get(_IDENTITY)


def can(permission: str, company_id: object | None = None) -> bool:
    who = identity()
    return bool(who is not None and who.can(permission, company_id))


def set_company(company) -> None:
    st.session_state[_COMPANY] = company


def company():
    """The company chosen in the sidebar picker for this run, or None."""
    return st.session_state.get(_COMPANY)


_PAGES = "_integhub_pages"


def set_pages(pages: dict) -> None:
    """The pages of this session's navigation, by page key ("overview", "calcom", "companies", …)."""
    st.session_state[_PAGES] = pages


def has_page(key: str) -> bool:
    return key in st.session_state.get(_PAGES, {})


def page_link(key: str, **kwargs) -> None:
    """st.page_link to the page with this key; skipped when it is not in this session's navigation
    (not permitted, or not installed). Works for file pages and generated provider pages alike."""
    page = st.session_state.get(_PAGES, {}).get(key)
    if page is not None:
        st.page_link(page, **kwargs)


def run_page(page) -> None:
    """Run the selected page; any failure a page did not handle becomes a message, never a traceback."""
    try:
        page.run()
    except Exception as exc:  # noqa: BLE001  (st.stop/st.rerun are BaseExceptions and pass through)
        from ui.components import error_text

        st.error(error_text(exc), icon=":material/error:")

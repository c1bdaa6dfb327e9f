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


def set_pages(paths: set[str]) -> None:
    st.session_state[_PAGES] = paths


def has_page(path: str) -> bool:
    """Whether `path` (e.g. "pages/companies.py") is in this session's navigation (links need that)."""
    return path in st.session_state.get(_PAGES, set())


def page_link(path: str, **kwargs) -> None:
    """st.page_link, skipped when the page is not in this session's navigation (e.g. not permitted)."""
    if has_page(path):
        st.page_link(path, **kwargs)


def run_page(page) -> None:
    """Run the selected page; any failure a page did not handle becomes a message, never a traceback."""
    try:
        page.run()
    except Exception as exc:  # noqa: BLE001  (st.stop/st.rerun are BaseExceptions and pass through)
        from ui.components import error_text

        st.error(error_text(exc), icon=":material/error:")

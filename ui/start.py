"""The start screen: on an empty database a welcome with "Demo laden" and "Unternehmen anlegen"."""
from __future__ import annotations

import streamlit as st

from integhub.db import Hub
from integhub.services import demo, guarded
from ui import context
from ui.components import PAGE_COMPANIES, Failed, attempt, error_text, no_company_notice
from ui.i18n import t
from ui.picker import select_company

FLASH = "_integhub_demo_flash"


def start_screen(hub: Hub) -> None:
    try:
        visible = attempt(lambda: guarded.list_companies(context.identity(), hub, "", limit=1)).total
    except Failed:
        return

    if visible:
        no_company_notice()
        return
    with st.container(border=True):
        st.subheader(f":material/waving_hand: {t('ui.start.title')}", anchor=False)
        st.markdown(t("ui.start.intro"))
        demo_col, own_col = st.columns(2, gap="medium")
        with demo_col, st.container(border=True):
            st.markdown(f"#### :material/science: {t('ui.demo.title')}")
            st.markdown(t("ui.demo.explain"))
            st.button(t("ui.demo.load"), key="load_demo", type="primary", icon=":material/rocket_launch:",
                      on_click=_load_demo, args=(hub,), disabled=not context.can("company.edit"))
        with own_col, st.container(border=True):
            st.markdown(f"#### :material/domain_add: {t('ui.start.own_title')}")
            st.markdown(t("ui.start.own_explain"))
            context.page_link(PAGE_COMPANIES, label=t("ui.start.own_link"), icon=":material/arrow_forward:")


def _load_demo(hub: Hub) -> None:
    """Button callback (runs before the page, so it may choose the company in the picker)."""
    identity = context.identity()
    try:
        result = guarded.call(identity, "company.edit", None, demo.load_demo, hub, actor=identity.actor)
    except Exception as exc:  # noqa: BLE001 - shown on the start screen
        st.session_state[FLASH] = {"error": error_text(exc)}
        return
    if result.first_company_id is not None:
        select_company(result.first_company_id)
    st.session_state[FLASH] = {"ok": t("ui.demo.loaded", n=len(result.company_ids)), "notes": result.messages}


def show_demo_flash() -> None:
    flash = st.session_state.pop(FLASH, None)
    if not flash:
        return
    if "error" in flash:
        st.error(flash["error"], icon=":material/error:")
    else:
        st.toast(flash["ok"], icon=":material/science:")
        for note in flash.get("notes") or []:
            st.warning(note, icon=":material/info:")

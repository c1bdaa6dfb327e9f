"""Übersicht: one live status card per provider for the chosen company (or the start screen)."""
import streamlit as st

from ui import context
from ui.hub import get_hub
from ui.i18n import t
from ui.overview import live_status_panel
from ui.start import show_demo_flash, start_screen

hub = get_hub()
company = context.company()
st.title(f":material/hub: {t('ui.overview.title')}", anchor=False)
show_demo_flash()
if company is None:
    start_screen(hub)
else:
    st.caption(t("ui.overview.caption", company=company.name, tz=company.timezone))
    live_status_panel(hub, company)

"""Router: page config, language, sign-in, company picker, navigation. Pages live in pages/ and stay thin."""
import streamlit as st

st.set_page_config(page_title="Integration Hub", page_icon=":material/hub:", layout="wide",
                   initial_sidebar_state="expanded")

from ui import context  # noqa: E402  (after set_page_config, as Streamlit asks)
from ui.app_shell import access_filter, open_hub, require_identity, sidebar_footer, sign_in, usable  # noqa: E402
from ui.i18n import language_switch  # noqa: E402
from ui.nav import navigation  # noqa: E402
from ui.picker import company_picker  # noqa: E402

picker_slot = st.sidebar.container()
language_switch()
hub = open_hub()  # None after a clear message when the database or the key ring is not usable
identity = sign_in(hub) if hub is not None else None
context.set_identity(identity)
page = navigation(access_filter(identity))
if hub is None:
    st.stop()
require_identity(identity, hub)
with picker_slot:
    context.set_company(company_picker(hub) if usable(identity) else None)
sidebar_footer(hub)
context.run_page(page)

"""Router: page config, navigation. Pages live in pages/ and call integhub service functions."""
import streamlit as st

st.set_page_config(page_title="Integration Hub", page_icon=":material/link:", layout="wide")

overview = st.Page("pages/overview.py", title="Übersicht", icon=":material/dashboard:", default=True)
pg = st.navigation({"Integrationen": [overview]})
pg.run()

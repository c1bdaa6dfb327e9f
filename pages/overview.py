import streamlit as st

from integhub.db import Hub
from integhub.services.companies import list_companies


@st.cache_resource
def get_hub() -> Hub:
    return Hub.from_env()


st.title("Integration Hub")
hub = get_hub()
page = list_companies(hub, limit=20)
if not page.rows:
    st.info("Noch keine Unternehmen angelegt.")
for company in page.rows:
    st.write(company.name)

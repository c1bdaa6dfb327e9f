"""The hub's ASGI application: the Streamlit UI (app.py) plus the /api routes, in one process.

Run with `python -m integhub serve` (what `make run` does), `streamlit run server.py`, or
`uvicorn server:app --workers N`.
"""
import streamlit as st

from integhub.web import routes

app = st.App("app.py", routes=routes())

if __name__ == "__main__":
    app.run()

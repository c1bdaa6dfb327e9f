"""The hub's ASGI application: the Streamlit UI (app.py) plus the /api routes, in one process.

Run with `python -m integhub serve` (what `make run` does), `streamlit run server.py`, or
`uvicorn server:app --workers N`.

Several uvicorn workers: each worker process builds its own st.App (its own Streamlit runtime and
its own Hub). The /api routes keep no state in the process (the database is the shared state; the
webhook inbox's unique key de-duplicates across processes), so they scale with the workers
(tests/webhooks/test_served.py runs 50 parallel deliveries against two workers). A UI session lives
in the worker that holds its websocket: a browser keeps working, but Streamlit's plain-HTTP
requests for that session (file uploads, media) can reach another worker. With more than one
worker, route the UI with sticky sessions, or serve the UI with one worker and the routes alone
with `uvicorn --factory integhub.web:api_app --workers N` behind a proxy that sends /api/* there.
Cookies (XSRF, st.login) are signed with server.cookieSecret, which Streamlit otherwise draws at
random per process: give every worker the same one (STREAMLIT_SERVER_COOKIE_SECRET or
[auth] cookie_secret in secrets.toml).
"""
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from integhub.web import routes, tcp_nodelay_for_worker_sockets

tcp_nodelay_for_worker_sockets()  # uvicorn --workers N: see its docstring
# app.py routes with st.navigation; never fall back to the legacy pages/ folder convention (it would
# run the first request after a start, e.g. a reconnecting tab on /cal-com, without the router).
PagesManager.uses_pages_directory = False

app = st.App("app.py", routes=routes())

if __name__ == "__main__":
    app.run()

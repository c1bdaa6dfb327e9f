"""The hub behind a stand-in for an authenticating reverse proxy, for test_roles_browser.py.

A real proxy (oauth2-proxy, IAP, …) signs the person in and sets X-Forwarded-Email on every request,
the websocket handshake included, after removing any copy the client sent. Here the person is
chosen by a cookie the test sets per browser context. Run with INTEGHUB_TRUST_PROXY_HEADERS=1:

    streamlit run tests/e2e/roles_server.py --server.port N
"""
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from integhub.web import routes

ROOT = Path(__file__).resolve().parents[2]
COOKIE = "integhub_test_user"
HEADER = b"x-forwarded-email"


class CookieToUserHeader:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != HEADER]  # never trust the client's copy
            cookies = b"; ".join(v for k, v in headers if k.lower() == b"cookie").decode("latin-1")
            for part in cookies.split(";"):
                name, _, value = part.strip().partition("=")
                if name == COOKIE and value:
                    headers.append((HEADER, value.encode("latin-1")))
            scope = dict(scope, headers=headers)
        await self.app(scope, receive, send)


app = st.App(str(ROOT / "app.py"), routes=routes(), middleware=[Middleware(CookieToUserHeader)])

"""Fixtures for the webhook tests: a company with Retell/Cal.com configs and the /api routes behind
Starlette's TestClient (the same route list server.py gives st.App)."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from integhub import web

from .support import Tenant, make_tenant


@pytest.fixture
def tenant(hub) -> Tenant:
    return make_tenant(hub)


def _forget_route_hub() -> None:
    if web.route_hub.cache_info().currsize:
        web.route_hub().engine.dispose()
    web.route_hub.cache_clear()


@pytest.fixture
def api(hub_env):
    """The /api routes (the same list server.py gives st.App) behind Starlette's TestClient."""
    _forget_route_hub()
    with TestClient(web.api_app()) as client:
        yield client
    _forget_route_hub()



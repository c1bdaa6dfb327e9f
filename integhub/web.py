"""HTTP routes served next to the UI (same ASGI app; see server.py). No Streamlit imports here.

`api_app()` serves the same routes without the UI, for running the webhook receivers separately
(`uvicorn --factory integhub.web:api_app --workers N`), e.g. behind a proxy that sends /api/* there.
"""
from __future__ import annotations

import asyncio
from functools import lru_cache

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .db import Hub
from .webhooks.routes import webhook_routes


@lru_cache(maxsize=1)
def route_hub() -> Hub:
    """One Hub per server process for the routes (the UI has its own cached one)."""
    return Hub.from_env()


@lru_cache(maxsize=1)
def _head_revisions() -> str:
    """The code's migration heads; they cannot change while the process runs."""
    from . import migrate

    return migrate.head_revision()


def _health_check() -> tuple[int, dict]:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    try:
        hub = route_hub()
        with hub.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = ",".join(sorted(MigrationContext.configure(conn).get_current_heads())) or None
        head = _head_revisions()
    except Exception as exc:  # report, never raise: this is what load balancers poll
        return 503, {"status": "error", "database": "unreachable", "error": type(exc).__name__}
    if current != head:
        return 503, {"status": "error", "database": "ok", "migrations": "pending", "current": current, "head": head}
    return 200, {"status": "ok", "database": "ok", "migrations": "current", "revision": current}


async def health(request: Request) -> JSONResponse:
    status, body = await asyncio.to_thread(_health_check)
    return JSONResponse(body, status_code=status)


def routes() -> list[Route]:
    """Every extra route; later issues append theirs here."""
    from .prometheus import metrics_endpoint

    return [Route("/api/health", health, methods=["GET"]), *webhook_routes(route_hub),
            Route("/api/metrics", metrics_endpoint, methods=["GET"])]


def api_app() -> Starlette:
    """The /api routes alone (no UI)."""
    return Starlette(routes=routes())

"""HTTP routes served next to the UI (same ASGI app; see server.py). No Streamlit imports here.

`api_app()` serves the same routes without the UI, for running the webhook receivers separately
(`uvicorn --factory integhub.web:api_app --workers N`), e.g. behind a proxy that sends /api/* there.
"""
from __future__ import annotations

import asyncio
import socket
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
    from .providers import ClientLoader, all_providers

    ClientLoader(all_providers())  # in before the first Retell webhook needs the SDK, without delaying the start
    return [Route("/api/health", health, methods=["GET"]), *webhook_routes(route_hub),
            Route("/api/metrics", metrics_endpoint, methods=["GET"])]


def api_app() -> Starlette:
    """The /api routes alone (no UI)."""
    tcp_nodelay_for_worker_sockets()
    return Starlette(routes=routes())


def tcp_nodelay_for_worker_sockets() -> None:
    """Make `uvicorn --workers N` answer without the ~40 ms stall per response.

    With several workers, uvicorn binds `socket.socket(family=...)` (proto 0) and hands each worker a
    copy rebuilt with that proto. asyncio sets TCP_NODELAY on accepted connections only when proto is
    IPPROTO_TCP, so Nagle's algorithm stays on, and since uvicorn writes headers and body separately,
    every response waits for the client's delayed ACK (measured: 45 ms vs 0.7 ms per request). A
    proto-0 stream socket of an IP family is TCP, so asyncio's check is widened to include it.
    Idempotent; does nothing where asyncio lacks the hook.
    """
    import asyncio.base_events as base_events

    original = getattr(base_events, "_set_nodelay", None)
    if original is None or getattr(original, "integhub_widened", False) or not hasattr(socket, "TCP_NODELAY"):
        return

    def set_nodelay(sock: socket.socket) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM and sock.proto == 0:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            return
        original(sock)

    set_nodelay.integhub_widened = True  # type: ignore[attr-defined]
    base_events._set_nodelay = set_nodelay

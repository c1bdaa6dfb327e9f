"""The webhook routes. Async and short: they read the body (bounded), then run the receiver in a
thread, because they share Streamlit's event loop with the UI."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..db import Hub
from . import receiver
from .verify import CALCOM_HEADER, RETELL_HEADER

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # 1 MB; larger bodies get 413

RETELL_PATH = "/api/retell/webhook"
CALCOM_PATH = "/api/calcom/webhook/{company_id}"


class BodyTooLarge(Exception):
    pass


class BadLength(Exception):
    pass


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused as soon as it is known to exceed `limit`: from Content-Length when sent,
    and in any case while reading (a client may lie or send chunked)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.isdigit():
            raise BadLength()
        if int(declared) > limit:
            raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _respond(reply: receiver.Reply) -> JSONResponse:
    return JSONResponse(reply.body, status_code=reply.status)


def webhook_routes(get_hub: Callable[[], Hub]) -> list[Route]:
    """Routes bound to a Hub factory (one Hub per process, created on first use)."""

    def hub_or_none() -> Hub | None:
        try:
            return get_hub()
        except Exception as exc:  # noqa: BLE001 - e.g. database down at first use
            log.error("webhook: hub unavailable: %s", type(exc).__name__)
            return None

    async def run(request: Request, work: Callable[[Hub, bytes], receiver.Reply],
                  refused: Callable[[Hub, receiver.Reply, str], receiver.Reply] | None = None) -> JSONResponse:
        try:
            raw = await read_body(request)
        except (BodyTooLarge, BadLength, ClientDisconnect) as exc:
            reply, code = ((receiver.TOO_LARGE, "too_large") if isinstance(exc, BodyTooLarge)
                           else (receiver.BAD_REQUEST, "malformed"))
            if refused is not None:
                hub = await asyncio.to_thread(hub_or_none)
                if hub is not None:
                    await asyncio.to_thread(refused, hub, reply, code)
            return _respond(reply)

        def in_thread() -> receiver.Reply:
            hub = hub_or_none()
            return receiver.UNAVAILABLE if hub is None else work(hub, raw)

        return _respond(await asyncio.to_thread(in_thread))

    async def retell_webhook(request: Request) -> JSONResponse:
        signatures = request.headers.getlist(RETELL_HEADER)
        return await run(request, lambda hub, raw: receiver.receive_retell(hub, raw, signatures))

    async def calcom_webhook(request: Request) -> JSONResponse:
        company = request.path_params.get("company_id", "")
        signatures = request.headers.getlist(CALCOM_HEADER)
        return await run(request, lambda hub, raw: receiver.receive_calcom(hub, company, raw, signatures),
                         lambda hub, reply, code: receiver.refuse_calcom(hub, company, reply, code))

    return [
        Route(RETELL_PATH, retell_webhook, methods=["POST"]),
        Route(CALCOM_PATH, calcom_webhook, methods=["POST"]),
    ]

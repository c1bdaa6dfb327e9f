"""The simulator's Starlette app: Cal.com and Retell on one host, plus the /_sim/ control API.

Cal.com owns the `/v2/...` paths except Retell's `/v2/list-agents` and `/v2/list-phone-numbers`;
Retell owns everything else (`/get-api-key-info`, `/v3/list-calls`, `/get-agent/{id}`, ...).

Every provider request is logged (Authorization redacted), then at most one answer-changing fault
is applied or the provider module answers; with a latency fault the answer leaves no sooner than
`latency_ms` after the request arrived.

Control API (JSON):
    POST   /_sim/reset                      forget accounts, revocations, faults, request log
    GET    /_sim/faults                     active faults
    POST   /_sim/faults                     add one: {"provider", "path_prefix", "method", "api_key",
                                            "kind", "count", "latency_ms", "status", "message",
                                            "retry_after", "reset_seconds", "hang_seconds", "variant",
                                            "skip"}
    DELETE /_sim/faults[/{id}]              remove all faults / one
    POST   /_sim/revoke    {"api_key"}      the key gets 401 from now on
    POST   /_sim/accounts  {"api_key", "counts": {...}}   sizes; answers the account's facts
    GET    /_sim/requests?provider=&since=  request log {"count", "requests": [...]}
    DELETE /_sim/requests                   clear the log
    GET    /_sim/webhooks                   registered Cal.com webhooks and Retell agent webhooks
    GET    /_sim/health
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import calcom, retell
from .data import SimulatorState, account_id, dumps, key_hash
from .faults import Fault, SimRequest, SimResponse

LOGGED_HEADERS = ("cal-api-version", "content-type", "accept", "user-agent", "x-cal-client-id",
                  "x-stainless-retry-count", "x-stainless-read-timeout")
SECRET_HEADERS = ("authorization", "x-cal-secret-key")
SECRET_BODY_FIELDS = ("secret", "api_key")


def create_app(state: SimulatorState | None = None) -> Starlette:
    state = state or SimulatorState()

    async def provider_endpoint(request: Request) -> Response:
        return await _serve(request, state)

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def faults(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"faults": state.faults.list()})
        if request.method == "DELETE":
            state.faults.clear()
            return JSONResponse({"ok": True})
        spec = await _json(request)
        try:
            fault = Fault.from_spec(spec)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"id": state.faults.add(fault)}, status_code=201)

    async def fault_by_id(request: Request) -> Response:
        removed = state.faults.remove(int(request.path_params["fault_id"]))
        return JSONResponse({"ok": removed}, status_code=200 if removed else 404)

    async def revoke(request: Request) -> Response:
        body = await _json(request)
        key = body.get("api_key") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key:
            return JSONResponse({"error": "api_key required"}, status_code=400)
        state.revoke(key)
        return JSONResponse({"ok": True, "account": account_id(key)})

    async def accounts(request: Request) -> Response:
        body = await _json(request)
        key = body.get("api_key") if isinstance(body, dict) else None
        counts = body.get("counts", {}) if isinstance(body, dict) else None
        if not isinstance(key, str) or not key or not isinstance(counts, dict):
            return JSONResponse({"error": "api_key (string) and counts (object) required"}, status_code=400)
        try:
            account = state.configure(key, counts)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(account_facts(account))

    async def requests_log(request: Request) -> Response:
        if request.method == "DELETE":
            state.clear_requests()
            return JSONResponse({"ok": True})
        provider = request.query_params.get("provider")
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            return JSONResponse({"error": "since must be an integer"}, status_code=400)
        entries = state.request_log(provider=provider, since=since)
        return JSONResponse({"count": state.request_count, "requests": entries})

    async def webhooks(request: Request) -> Response:
        return JSONResponse(state.webhooks())

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "accounts": len(state.accounts), "requests": state.request_count})

    routes = [
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sim/faults/{fault_id:int}", fault_by_id, methods=["DELETE"]),
        Route("/_sim/revoke", revoke, methods=["POST"]),
        Route("/_sim/accounts", accounts, methods=["POST"]),
        Route("/_sim/requests", requests_log, methods=["GET", "DELETE"]),
        Route("/_sim/webhooks", webhooks, methods=["GET"]),
        Route("/_sim/health", health, methods=["GET"]),
        Route("/{path:path}", provider_endpoint, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.simulator = state
    return app


def account_facts(account) -> dict[str, Any]:
    """Non-secret facts about an account that tests and demos need to know."""
    owner = account.owner
    return {
        "account": account.id,
        "counts": dict(account.counts),
        "calcom": {"username": owner.username, "email": owner.email, "name": owner.name,
                   "teams": [{"id": t["id"], "slug": t["slug"], "name": t["name"]} for t in account.teams]},
        "retell": {"agent_ids": [account.agent_id(i) for i in range(min(account.counts["agents"], 100))],
                   "phone_numbers": [account.phone_number(i) for i in range(min(account.counts["phone_numbers"], 100))]},
    }


async def _serve(request: Request, state: SimulatorState) -> Response:
    arrived = time.monotonic()
    path = request.url.path
    provider_module = retell if retell.owns(path) else calcom
    provider = "retell" if provider_module is retell else "calcom"
    body = await request.body()
    req = SimRequest(method=request.method, path=path, query=request.query_params, headers=request.headers,
                     body=body, provider=provider, api_key=_bearer(request.headers.get("authorization")))
    entry = state.log(_log_entry(req))
    digest = key_hash(req.api_key) if req.api_key else None

    latency_ms, fault = state.faults.take(provider, req.method, path, digest)
    response = await _answer(req, state, provider_module, fault)
    entry["status"] = response.status
    entry["fault"] = fault.kind if fault else ("latency" if latency_ms else None)
    rendered = _render(response)
    if latency_ms:
        # The answer is built while the latency runs, as a remote server would: it leaves
        # `latency_ms` after the request arrived, not that long plus the simulator's own work.
        await asyncio.sleep(max(0.0, arrived + latency_ms / 1000 - time.monotonic()))
    return rendered


async def _answer(req: SimRequest, state: SimulatorState, module, fault: Fault | None) -> SimResponse:
    if fault is None:
        return module.handle(req, state)
    if fault.kind == "status":
        return module.status_response(req, fault)
    if fault.kind == "rate_limit":
        return module.rate_limited_response(req, fault)
    if fault.kind == "hang":
        # Async, so other requests keep being served; sliced, so a stopping server is not held up.
        deadline = time.monotonic() + fault.hang_seconds
        while not state.stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(0.05, left))
        return module.handle(req, state)
    response = module.handle(req, state).materialize()  # the faults below rewrite the payload
    if response.status >= 300:
        return response
    if fault.kind == "truncated":
        return module.truncate(response)
    # malformed
    if fault.variant == "html":
        return SimResponse(200, raw=b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                           headers=response.headers, media_type="text/html")
    if fault.variant == "no_envelope":
        return module.without_envelope(response)
    if fault.variant == "wrong_type":
        return module.wrong_type(response)
    text = _dumps(response.payload)
    return SimResponse(200, raw=text[: max(1, len(text) // 2)], headers=response.headers)


def _render(response: SimResponse) -> Response:
    if response.raw is not None:
        content = response.raw
    elif response.encoded is not None:
        content = response.encoded
    else:
        content = _dumps(response.payload)
    media_type = response.media_type
    if media_type == "application/json":
        media_type = "application/json; charset=utf-8"
    return Response(content, status_code=response.status, headers=response.headers, media_type=media_type)


def _dumps(payload: Any) -> bytes:
    return dumps(payload)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _log_entry(req: SimRequest) -> dict[str, Any]:
    headers = {name: req.headers[name] for name in LOGGED_HEADERS if name in req.headers}
    for name in SECRET_HEADERS:
        if name in req.headers:
            scheme = req.headers[name].split(" ", 1)[0]
            headers[name] = f"{scheme} REDACTED" if scheme.lower() == "bearer" else "REDACTED"
    body: Any = None
    if req.body:
        try:
            body = _redact(json.loads(req.body))
        except ValueError:
            body = f"<{len(req.body)} bytes, not JSON>"
    return {
        "time": time.time(), "provider": req.provider, "method": req.method, "path": req.path,
        "query": str(req.query), "params": dict(req.query), "headers": headers, "body": body,
        "account": account_id(req.api_key) if req.api_key else None, "status": None, "fault": None,
    }


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("REDACTED" if k in SECRET_BODY_FIELDS and v is not None else _redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return None

"""Retell.ai as the simulator serves it (../shared/reference/retell-api.md, SDK 6.2.13 shapes).

The current endpoints only (the legacy GET /list-agents etc. answer 404, so a client on old paths
fails visibly); `{items, has_more, pagination_key}` pages with an opaque key; `{"status": "error",
"message": ...}` errors, 422 for unknown assets.
"""
from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any

from .data import ITEMS_MARKER, Account, SimulatorState, encode_with_items
from .faults import Fault, SimRequest, SimResponse

MESSAGES = {
    400: "Invalid request format, please check API reference.",
    401: "API key is missing or invalid.",
    402: "Trial has ended, please add payment method.",
    403: "Forbidden",
    404: "The requested resource was not found.",
    422: "Cannot find requested asset under given api key.",
    429: "Account rate limited, please throttle your requests.",
    500: "An unexpected server error occurred.",
}
DEFAULT_LIMIT = 50  # spec copy: default 50, max 1000 on the paginated list endpoints
MAX_LIMIT = 1000
WEBHOOK_EVENTS = frozenset({
    "call_started", "call_ended", "call_analyzed", "transcript_updated", "transfer_started",
    "transfer_bridged", "transfer_cancelled", "transfer_ended",
})
# Fields the API computes itself; an update must not overwrite them.
READ_ONLY_AGENT_FIELDS = frozenset({"agent_id", "version", "last_modification_timestamp", "is_published"})


class HTTPError(Exception):
    def __init__(self, status: int, message: str | None = None) -> None:
        self.status, self.message = status, message


def error_response(req: SimRequest | None, status: int, message: str | None = None,
                   headers: dict[str, str] | None = None) -> SimResponse:
    text = message or MESSAGES.get(status) or MESSAGES[500 if status >= 500 else 400]
    return SimResponse(status, {"status": "error", "message": text}, dict(headers or {}))


def rate_limited_response(req: SimRequest, fault: Fault) -> SimResponse:
    headers: dict[str, str] = {}
    # Retell documents no rate-limit headers; send Retry-After only when a test asks for one.
    hint = fault.retry_after if fault.retry_after is not None else fault.reset_seconds
    if hint is not None:
        headers["retry-after"] = _number_text(hint)
    return error_response(req, 429, fault.message, headers)


def status_response(req: SimRequest, fault: Fault) -> SimResponse:
    headers = {"retry-after": _number_text(fault.retry_after)} if fault.retry_after is not None else None
    return error_response(req, fault.status, fault.message, headers)


def truncate(response: SimResponse) -> SimResponse:
    """A page that promises more but gives no key to fetch it."""
    if isinstance(response.payload, dict) and "has_more" in response.payload:
        response.payload["has_more"] = True
        response.payload.pop("pagination_key", None)
    return response


def without_envelope(response: SimResponse) -> SimResponse:
    if isinstance(response.payload, dict) and "items" in response.payload:
        response.payload = response.payload["items"]
    elif response.payload is not None:
        response.payload = {"data": response.payload}
    return response


def wrong_type(response: SimResponse) -> SimResponse:
    if isinstance(response.payload, dict) and "items" in response.payload:
        response.payload["items"] = {}
    elif isinstance(response.payload, dict):
        response.payload = [response.payload]
    return response


def handle(req: SimRequest, state: SimulatorState) -> SimResponse:
    route = _match(req.method, req.path)
    if route is None:
        return error_response(req, 404)
    handler, params = route
    token = req.api_key
    if not token or "invalid" in token or state.is_revoked(token):
        return error_response(req, 401)
    try:
        return handler(req, state, state.account(token), **params)
    except HTTPError as exc:
        return error_response(req, exc.status, exc.message)


# --- paging helpers ------------------------------------------------------------------------------
def _encode_key(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_key(key: str | None) -> int:
    if key is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
        kind, _, value = text.partition(":")
        offset = int(value)
        if kind != "o" or offset < 0:
            raise ValueError
        return offset
    except (ValueError, UnicodeDecodeError):
        raise HTTPError(400, "Invalid pagination_key.") from None


def _limit(raw: Any) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise HTTPError(400) from None
    if isinstance(raw, bool) or not 1 <= value <= MAX_LIMIT:
        raise HTTPError(400, f"limit must be between 1 and {MAX_LIMIT}.")
    return value


def _sort(raw: Any) -> bool:
    """True when descending (the default)."""
    if raw is None:
        return True
    if raw not in ("ascending", "descending"):
        raise HTTPError(400, "sort_order must be ascending or descending.")
    return raw == "descending"


def _page(total: int, limit: int, offset: int, descending: bool, build: Callable[[int], dict]) -> dict[str, Any]:
    positions = range(offset, min(total, offset + limit))
    items = [build(total - 1 - p if descending else p) for p in positions]
    page: dict[str, Any] = {"items": items, "has_more": offset + limit < total}
    if page["has_more"]:
        page["pagination_key"] = _encode_key(offset + limit)
    return page


def _json_body(req: SimRequest) -> dict[str, Any]:
    if not req.body:
        return {}
    try:
        body = json.loads(req.body)
    except ValueError:
        raise HTTPError(400) from None
    if not isinstance(body, dict):
        raise HTTPError(400)
    return body


# --- endpoints -----------------------------------------------------------------------------------
def api_key_info(req: SimRequest, state: SimulatorState, account: Account) -> SimResponse:
    return SimResponse(200, account.identity())


def list_agents(req: SimRequest, state: SimulatorState, account: Account) -> SimResponse:
    body = _json_body(req)
    limit = _limit(req.query.get("limit"))
    offset = _decode_key(req.query.get("pagination_key"))
    descending = _sort(req.query.get("sort_order"))
    criteria = body.get("filter_criteria") or {}
    if not isinstance(criteria, dict):
        raise HTTPError(400)
    total = account.counts["agents"]
    query = criteria.get("query")
    if isinstance(query, str) and query:
        needle = query.lower()
        matching = [i for i in range(total)
                    if needle in account.agent_name(i).lower() or needle in account.agent_id(i)]
        return SimResponse(200, _page(len(matching), limit, offset, descending,
                                      lambda p: account.agent_list_item(matching[p])))
    return SimResponse(200, _page(total, limit, offset, descending, account.agent_list_item))


def list_phone_numbers(req: SimRequest, state: SimulatorState, account: Account) -> SimResponse:
    limit = _limit(req.query.get("limit"))
    offset = _decode_key(req.query.get("pagination_key"))
    descending = _sort(req.query.get("sort_order"))
    return SimResponse(200, _page(account.counts["phone_numbers"], limit, offset, descending,
                                  account.phone_number_json))


def list_calls(req: SimRequest, state: SimulatorState, account: Account) -> SimResponse:
    body = _json_body(req)
    limit = _limit(body.get("limit"))
    offset = _decode_key(body.get("pagination_key"))
    descending = _sort(body.get("sort_order"))
    skip = body.get("skip") or 0
    if not isinstance(skip, int) or skip < 0:
        raise HTTPError(400)
    criteria = body.get("filter_criteria") or {}
    if not isinstance(criteria, dict):
        raise HTTPError(400)
    low, high = _timestamp_bounds(criteria.get("start_timestamp"))
    indexes: range | list[int] = account.call_range(low, high)
    agent_filter = criteria.get("agent")
    if agent_filter is not None:
        if not isinstance(agent_filter, list) or not all(isinstance(a, dict) and isinstance(a.get("agent_id"), str) for a in agent_filter):
            raise HTTPError(400)
        wanted = {a["agent_id"] for a in agent_filter}
        indexes = [i for i in indexes if account.call_json(i)["agent_id"] in wanted]
    total = len(indexes)
    start = offset + skip
    positions = range(start, min(total, start + limit))
    items = [account.call_bytes(indexes[total - 1 - p if descending else p]) for p in positions]
    page: dict[str, Any] = {"items": ITEMS_MARKER, "has_more": start + limit < total}
    if page["has_more"]:
        page["pagination_key"] = _encode_key(start + limit)
    if body.get("include_total"):
        page["total"] = total
    return SimResponse(200, encoded=encode_with_items(page, items))


def _timestamp_bounds(spec: Any) -> tuple[int | None, int | None]:
    """Inclusive [low, high] from a number or range filter on start_timestamp."""
    if spec is None:
        return None, None
    if not isinstance(spec, dict):
        raise HTTPError(400)
    op, kind, value = spec.get("op"), spec.get("type"), spec.get("value")
    if op == "bt" and kind == "range":
        if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
            raise HTTPError(400)
        return int(value[0]), int(value[1])
    if kind == "number" and _is_number(value):
        v = int(value)
        bounds = {"eq": (v, v), "ge": (v, None), "gt": (v + 1, None), "le": (None, v), "lt": (None, v - 1)}
        if op in bounds:
            return bounds[op]
    raise HTTPError(400)


def _agent_index(account: Account, agent_id: str) -> int:
    index = account.agent_index.get(agent_id)
    if index is None:
        raise HTTPError(422)
    return index


def get_agent(req: SimRequest, state: SimulatorState, account: Account, agent_id: str) -> SimResponse:
    return SimResponse(200, account.agent_json(_agent_index(account, agent_id)))


def update_agent(req: SimRequest, state: SimulatorState, account: Account, agent_id: str) -> SimResponse:
    index = _agent_index(account, agent_id)
    body = _json_body(req)
    if "webhook_url" in body and body["webhook_url"] is not None and not isinstance(body["webhook_url"], str):
        raise HTTPError(400)
    events = body.get("webhook_events")
    if events is not None and (not isinstance(events, list) or not set(events) <= WEBHOOK_EVENTS):
        raise HTTPError(400)
    timeout_ms = body.get("webhook_timeout_ms")
    if timeout_ms is not None and (isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int)):
        raise HTTPError(400)
    changes = {k: v for k, v in body.items() if k not in READ_ONLY_AGENT_FIELDS}
    with state.lock:
        stored = account.agent_overrides.setdefault(agent_id, {})
        stored.update(changes)
        stored["last_modification_timestamp"] = int(time.time() * 1000)
        account.agents_changed()
    return SimResponse(200, account.agent_json(index))


ROUTES: list[tuple[str, re.Pattern[str], Callable[..., SimResponse]]] = [
    ("GET", re.compile(r"/get-api-key-info"), api_key_info),
    ("POST", re.compile(r"/v2/list-agents"), list_agents),
    ("GET", re.compile(r"/v2/list-phone-numbers"), list_phone_numbers),
    ("POST", re.compile(r"/v3/list-calls"), list_calls),
    ("GET", re.compile(r"/get-agent/(?P<agent_id>[^/]+)"), get_agent),
    ("PATCH", re.compile(r"/update-agent/(?P<agent_id>[^/]+)"), update_agent),
]
_PATH_PREFIXES = ("/get-api-key-info", "/v2/list-agents", "/v2/list-phone-numbers", "/v3/list-calls",
                  "/get-agent/", "/update-agent/", "/list-agents", "/list-phone-numbers", "/v2/list-calls",
                  "/v2/get-call/", "/get-phone-number/", "/get-concurrency")


def owns(path: str) -> bool:
    """Retell's paths on the shared host; everything else belongs to Cal.com."""
    return not path.startswith("/v2/") or path.startswith(_PATH_PREFIXES)


def _match(method: str, path: str) -> tuple[Callable[..., SimResponse], dict[str, str]] | None:
    for route_method, pattern, handler in ROUTES:
        found = pattern.fullmatch(path)
        if found and route_method == method:
            return handler, found.groupdict()
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"

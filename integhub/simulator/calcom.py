"""Cal.com API v2 as the simulator serves it (../shared/reference/calcom-api.md).

Faithful where a client can get it wrong: Bearer `cal_` keys, the per-group `cal-api-version`
(a missing or unknown one gets the legacy 2024-04-15 shape, which a v2 client must reject; a known
but wrong one gets 404 like Nest's versioned routing), the envelope, the booking `pagination`
object, take/skip limits (400 beyond them), the NestJS error body, and the X-RateLimit-*-Default
headers on every answer.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .data import ITEMS_MARKER, Account, BookingRow, SimulatorState, encode_with_items, iso_ms, key_hash, new_webhook_id
from .faults import Fault, SimRequest, SimResponse

KNOWN_VERSIONS = ("2024-04-15", "2024-06-11", "2024-06-14", "2024-08-13", "2024-09-04")
RATE_LIMIT = 120  # requests per 60 s window for an API key
RATE_WINDOW_S = 60.0

WEBHOOK_TRIGGERS = frozenset({
    "BOOKING_CREATED", "BOOKING_PAYMENT_INITIATED", "BOOKING_PAID", "BOOKING_RESCHEDULED",
    "BOOKING_REQUESTED", "BOOKING_CANCELLED", "BOOKING_REJECTED", "BOOKING_NO_SHOW_UPDATED",
    "FORM_SUBMITTED", "MEETING_ENDED", "MEETING_STARTED", "RECORDING_READY", "INSTANT_MEETING",
    "RECORDING_TRANSCRIPTION_GENERATED", "OOO_CREATED", "AFTER_HOSTS_CAL_VIDEO_NO_SHOW",
    "AFTER_GUESTS_CAL_VIDEO_NO_SHOW", "FORM_SUBMITTED_NO_EVENT", "ROUTING_FORM_FALLBACK_HIT",
    "DELEGATION_CREDENTIAL_ERROR", "WRONG_ASSIGNMENT_REPORT",
})

EXCEPTION_NAMES = {
    400: "BadRequestException", 401: "UnauthorizedException", 403: "ForbiddenException",
    404: "NotFoundException", 409: "ConflictException", 422: "UnprocessableEntityException",
    429: "ThrottlerException", 500: "InternalServerErrorException", 502: "BadGatewayException",
    503: "ServiceUnavailableException", 504: "GatewayTimeoutException",
}
DEFAULT_MESSAGES = {
    400: "Bad Request Exception", 401: "Your api key is not valid", 403: "Forbidden resource",
    404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity",
    429: "Too many requests. Please try again later.", 500: "Internal server error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}
NO_AUTH_MESSAGE = (
    "No authentication method provided. Either pass an API key as 'Bearer' header or OAuth client "
    "credentials as 'x-cal-secret-key' and 'x-cal-client-id' headers"
)


class HTTPError(Exception):
    def __init__(self, status: int, message: str | None = None, details: Any = None) -> None:
        self.status, self.message, self.details = status, message, details


# --- error bodies ------------------------------------------------------------------------------
def error_response(req: SimRequest, status: int, message: str | None = None, details: Any = None,
                   headers: dict[str, str] | None = None) -> SimResponse:
    """The http-exception filter's body: {status, timestamp, path, error: {code, message, details}}."""
    message = message or DEFAULT_MESSAGES.get(status, "Error")
    if details is None:
        details = {"message": message, "error": DEFAULT_MESSAGES.get(status, "Error"), "statusCode": status}
    payload = {
        "status": "error",
        "timestamp": iso_ms(int(time.time() * 1000)),
        "path": req.full_path,
        "error": {"code": EXCEPTION_NAMES.get(status, "HttpException"), "message": message, "details": details},
    }
    return SimResponse(status, payload, {"X-Request-Id": "unknown-request-id", **(headers or {})})


def rate_limited_response(req: SimRequest, fault: Fault) -> SimResponse:
    reset = 60 if fault.reset_seconds is None else fault.reset_seconds
    headers = {
        "X-RateLimit-Limit-Default": str(RATE_LIMIT),
        "X-RateLimit-Remaining-Default": "0",
        "X-RateLimit-Reset-Default": _number_text(reset),
    }
    if fault.retry_after is not None:
        headers["Retry-After"] = _number_text(fault.retry_after)
    return error_response(req, 429, fault.message, headers=headers)


def status_response(req: SimRequest, fault: Fault) -> SimResponse:
    headers = {"Retry-After": _number_text(fault.retry_after)} if fault.retry_after is not None else None
    return error_response(req, fault.status, fault.message, headers=headers)


# --- fault mangling of successful answers ------------------------------------------------------
def truncate(response: SimResponse) -> SimResponse:
    """Half the page goes missing while `pagination` still promises all of it."""
    payload = response.payload
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        data = payload["data"]
        payload["data"] = data[: len(data) // 2]
    return response


def without_envelope(response: SimResponse) -> SimResponse:
    if isinstance(response.payload, dict) and "data" in response.payload:
        response.payload = response.payload["data"]
    return response


def wrong_type(response: SimResponse) -> SimResponse:
    if isinstance(response.payload, dict) and "data" in response.payload:
        response.payload["data"] = {} if isinstance(response.payload["data"], list) else []
    return response


# --- request handling ----------------------------------------------------------------------------
def handle(req: SimRequest, state: SimulatorState) -> SimResponse:
    route = _match(req.method, req.path)
    if route is None:
        return error_response(req, 404, f"Cannot {req.method} {req.path}")
    handler, params = route
    account_or_error = _authenticate(req, state)
    if isinstance(account_or_error, SimResponse):
        response = account_or_error
    else:
        try:
            response = handler(req, state, account_or_error, **params)
        except HTTPError as exc:
            response = error_response(req, exc.status, exc.message, exc.details)
    if req.api_key:
        response.headers.update(_rate_headers(state, req.api_key))
    return response


def _authenticate(req: SimRequest, state: SimulatorState) -> Account | SimResponse:
    token = req.api_key
    if token is None:
        return error_response(req, 401, NO_AUTH_MESSAGE)
    if not token.startswith("cal_"):
        # Anything without the API-key prefix is checked as an OAuth access token (and fails).
        return error_response(req, 401, "Invalid Access Token.")
    if "invalid" in token or state.is_revoked(token):
        return error_response(req, 401, "Your api key is not valid")
    return state.account(token)


def _rate_headers(state: SimulatorState, api_key: str) -> dict[str, str]:
    now = time.monotonic()
    with state.lock:
        window = state.rate_windows.setdefault(key_hash(api_key), [now, 0])
        if now - window[0] >= RATE_WINDOW_S:
            window[0], window[1] = now, 0
        window[1] += 1
        remaining = max(0, RATE_LIMIT - int(window[1]))
        reset = max(1, int(RATE_WINDOW_S - (now - window[0]) + 0.999))
    return {
        "X-RateLimit-Limit-Default": str(RATE_LIMIT),
        "X-RateLimit-Remaining-Default": str(remaining),
        "X-RateLimit-Reset-Default": str(reset),
    }


def _success(data: Any, status: int = 200, **extra: Any) -> SimResponse:
    return SimResponse(status, {"status": "success", "data": data, **extra})


def _version(req: SimRequest, required: str) -> str:
    """'ok', 'legacy' (missing/unknown header: Cal.com falls back to 2024-04-15) or raises 404."""
    value = req.headers.get("cal-api-version")
    if value == required:
        return "ok"
    if value in KNOWN_VERSIONS and value != "2024-04-15":
        # A versioned route that does not exist in the requested version.
        raise HTTPError(404, f"Cannot {req.method} {req.path}")
    return "legacy"


def _int_param(req: SimRequest, name: str, default: int, low: int, high: int | None) -> int:
    raw = req.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bound = f" and not greater than {high}" if high is not None else ""
        constraint = f"{name} must be an integer not less than {low}{bound}"
        raise HTTPError(400, details={"errors": [{"property": name, "value": raw, "constraints": {"range": constraint}}]})
    return value


def _date_param(req: SimRequest, name: str) -> int | None:
    raw = req.query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPError(400, details={"errors": [{"property": name, "value": raw,
                                                  "constraints": {"isDateString": f"{name} must be a valid ISO 8601 date string"}}]}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


# --- endpoints ---------------------------------------------------------------------------------
def me(req: SimRequest, state: SimulatorState, account: Account) -> SimResponse:
    return _success(account.me())


def event_types(req: SimRequest, state: SimulatorState, account: Account) -> SimResponse:
    if _version(req, "2024-06-14") == "legacy":
        return _success(account.legacy_event_types())
    username = req.query.get("username")
    if username is not None and username != account.owner.username:
        members = {account.person(i).username for i in range(min(account.counts["members"], 1000))}
        if username not in members:
            raise HTTPError(404, f'User with username "{username}" not found')
        return _success([])
    return _success([account.event_type_json(k) for k in account.personal_event_type_indexes()])


def teams(req: SimRequest, state: SimulatorState, account: Account) -> SimResponse:
    return _success([account.team_json(t) for t in range(len(account.teams))])


def _team(state: SimulatorState, account: Account, team_id: str) -> int:
    t = account.team_index(int(team_id))
    if t is None:
        if int(team_id) in state.team_owner:
            raise HTTPError(403, "Forbidden resource")
        raise HTTPError(404, f"Team with id={team_id} not found")
    return t


def team_event_types(req: SimRequest, state: SimulatorState, account: Account, team_id: str) -> SimResponse:
    t = _team(state, account, team_id)
    return _success([account.event_type_json(k) for k in account.team_event_type_indexes(t)])


def memberships(req: SimRequest, state: SimulatorState, account: Account, team_id: str) -> SimResponse:
    t = _team(state, account, team_id)
    take = _int_param(req, "take", 250, 1, 250)
    skip = _int_param(req, "skip", 0, 0, None)
    total = account.counts["members"]
    emails = req.query.get("emails")
    if emails:
        wanted = {e.strip().lower() for e in emails.split(",") if e.strip()}
        indexes = [i for i in range(total) if account.person(i).email in wanted]
    else:
        indexes = range(total)
    page = indexes[skip: skip + take]
    return _success([account.membership(t, i) for i in page])


def bookings(req: SimRequest, state: SimulatorState, account: Account) -> SimResponse:
    if _version(req, "2024-08-13") == "legacy":
        rows = account.own_bookings[:100]
        return _success({"bookings": [account.legacy_booking_json(r) for r in rows],
                         "recurringInfo": [], "nextCursor": None})
    return _booking_page(req, account, "own", account.own_bookings, max_take=None)


def team_bookings(req: SimRequest, state: SimulatorState, account: Account, team_id: str) -> SimResponse:
    # The spec declares no cal-api-version for this team route, so no legacy fallback here.
    t = _team(state, account, team_id)
    return _booking_page(req, account, f"team{t}", account.team_bookings(t), max_take=250)


_SORTS: dict[str, Callable[[BookingRow], Any]] = {
    "sortStart": lambda r: (r.start_ms, r.id),
    "sortEnd": lambda r: (r.end_ms, r.id),
    "sortCreated": lambda r: (r.created_ms, r.id),
    "sortUpdatedAt": lambda r: (r.created_ms, r.id),
}


def _booking_page(req: SimRequest, account: Account, series: str, rows: list[BookingRow],
                  max_take: int | None) -> SimResponse:
    take = _int_param(req, "take", 100, 1, max_take)
    skip = _int_param(req, "skip", 0, 0, None)
    after_start = _date_param(req, "afterStart")
    before_end = _date_param(req, "beforeEnd")
    statuses = {s.strip() for s in (req.query.get("status") or "").split(",") if s.strip()}
    now = int(time.time() * 1000)

    def wanted(r: BookingRow) -> bool:
        if after_start is not None and r.start_ms < after_start:
            return False
        if before_end is not None and r.end_ms > before_end:
            return False
        if statuses:
            active = r.status not in ("cancelled", "rejected")
            kinds = {
                "upcoming": active and r.end_ms >= now, "past": active and r.end_ms < now,
                "cancelled": r.status == "cancelled", "unconfirmed": r.status == "pending",
                "recurring": False,
            }
            return any(kinds.get(s, False) for s in statuses)
        return True

    order_key, descending, order_name = _SORTS["sortStart"], False, "sortStart"  # default [INFERRED]
    for name, key in _SORTS.items():
        direction = req.query.get(name)
        if direction in ("asc", "desc"):
            order_key, descending, order_name = key, direction == "desc", name
            break
        if direction is not None:
            raise HTTPError(400, details={"errors": [{"property": name, "value": direction,
                                                      "constraints": {"isEnum": f"{name} must be one of: asc, desc"}}]})
    # Paging through 20,000 bookings asks the same question 200 times: remember the answer
    # (status filters depend on "now", so those are not cached).
    cache_key = (series, after_start, before_end, order_name, descending)
    selected = None if statuses else account.page_cache.get(cache_key)
    if selected is None:
        selected = [r for r in rows if wanted(r)]
        selected.sort(key=order_key, reverse=descending)
        if not statuses:
            if len(account.page_cache) >= 16:
                account.page_cache.clear()
            account.page_cache[cache_key] = selected
    page = selected[skip: skip + take]
    total = len(selected)
    pagination = {
        "totalItems": total,
        "remainingItems": max(0, total - (skip + take)),
        "returnedItems": len(page),
        "itemsPerPage": take,
        "currentPage": skip // take + 1,
        "totalPages": -(-total // take),
        "hasNextPage": skip + take < total,
        "hasPreviousPage": skip > 0,
    }
    envelope = {"status": "success", "data": ITEMS_MARKER, "pagination": pagination}
    return SimResponse(200, encoded=encode_with_items(envelope, [account.booking_bytes(r) for r in page]))


def list_webhooks(req: SimRequest, state: SimulatorState, account: Account) -> SimResponse:
    take = _int_param(req, "take", 250, 1, 250)
    skip = _int_param(req, "skip", 0, 0, None)
    return _success([dict(h) for h in account.calcom_webhooks[skip: skip + take]])


def _webhook_body(req: SimRequest, *, create: bool) -> dict[str, Any]:
    """CreateWebhookInputDto (create) or UpdateWebhookInputDto (every field optional), validated
    like Nest's ValidationPipe: 400 with one entry per offending property."""
    try:
        body = json.loads(req.body or b"null")
    except ValueError:
        raise HTTPError(400, "Unexpected token in JSON at position 0") from None
    errors = []
    if not isinstance(body, dict):
        body = {}
        errors.append({"property": "body", "constraints": {"isObject": "body must be an object"}})
    if (create or "subscriberUrl" in body) and (not isinstance(body.get("subscriberUrl"), str)
                                                 or not body.get("subscriberUrl")):
        errors.append({"property": "subscriberUrl", "constraints": {"isString": "subscriberUrl must be a string"}})
    if (create or "active" in body) and not isinstance(body.get("active"), bool):
        errors.append({"property": "active", "constraints": {"isBoolean": "active must be a boolean value"}})
    triggers = body.get("triggers")
    if (create or "triggers" in body) and (
            not isinstance(triggers, list) or not all(t in WEBHOOK_TRIGGERS for t in triggers)):
        errors.append({"property": "triggers", "constraints": {
            "isEnum": "each value in triggers must be one of the following values: " + ", ".join(sorted(WEBHOOK_TRIGGERS))}})
    for optional in ("secret", "payloadTemplate"):
        if optional in body and body[optional] is not None and not isinstance(body[optional], str):
            errors.append({"property": optional, "constraints": {"isString": f"{optional} must be a string"}})
    if errors:
        raise HTTPError(400, details={"errors": errors})
    return body


def create_webhook(req: SimRequest, state: SimulatorState, account: Account) -> SimResponse:
    body = _webhook_body(req, create=True)
    hook = {
        "id": new_webhook_id(),  # a UUID string, although the spec says number (calcom-api.md §6 #2)
        "userId": account.user_id(0),
        "subscriberUrl": body["subscriberUrl"],
        "triggers": list(body["triggers"]),
        "active": body["active"],
        "payloadTemplate": body.get("payloadTemplate"),
        "secret": body.get("secret"),
    }
    with state.lock:
        account.calcom_webhooks.append(hook)
    return _success(dict(hook), status=201)


def _own_webhook(state: SimulatorState, account: Account, webhook_id: str) -> dict[str, Any]:
    """The key owner's webhook; 403 for someone else's (Cal.com's IsUserWebhookGuard), 404 when none."""
    for hook in account.calcom_webhooks:
        if hook["id"] == webhook_id:
            return hook
    if any(h["id"] == webhook_id for a in list(state.accounts.values()) for h in a.calcom_webhooks):
        raise HTTPError(403, "Forbidden resource")
    raise HTTPError(404, f"Webhook ({webhook_id}) not found")


def get_webhook(req: SimRequest, state: SimulatorState, account: Account, webhook_id: str) -> SimResponse:
    with state.lock:
        return _success(dict(_own_webhook(state, account, webhook_id)))


def update_webhook(req: SimRequest, state: SimulatorState, account: Account, webhook_id: str) -> SimResponse:
    body = _webhook_body(req, create=False)
    with state.lock:
        hook = _own_webhook(state, account, webhook_id)
        for field in ("subscriberUrl", "triggers", "active", "payloadTemplate", "secret"):
            if field in body:
                hook[field] = list(body[field]) if field == "triggers" else body[field]
        return _success(dict(hook))


def delete_webhook(req: SimRequest, state: SimulatorState, account: Account, webhook_id: str) -> SimResponse:
    with state.lock:
        hook = _own_webhook(state, account, webhook_id)
        account.calcom_webhooks.remove(hook)
        return _success(dict(hook))


ROUTES: list[tuple[str, re.Pattern[str], Callable[..., SimResponse]]] = [
    ("GET", re.compile(r"/v2/me"), me),
    ("GET", re.compile(r"/v2/event-types"), event_types),
    ("GET", re.compile(r"/v2/teams"), teams),
    ("GET", re.compile(r"/v2/teams/(?P<team_id>\d+)/event-types"), team_event_types),
    ("GET", re.compile(r"/v2/teams/(?P<team_id>\d+)/memberships"), memberships),
    ("GET", re.compile(r"/v2/bookings"), bookings),
    ("GET", re.compile(r"/v2/teams/(?P<team_id>\d+)/bookings"), team_bookings),
    ("GET", re.compile(r"/v2/webhooks"), list_webhooks),
    ("POST", re.compile(r"/v2/webhooks"), create_webhook),
    ("GET", re.compile(r"/v2/webhooks/(?P<webhook_id>[^/]+)"), get_webhook),
    ("PATCH", re.compile(r"/v2/webhooks/(?P<webhook_id>[^/]+)"), update_webhook),
    ("DELETE", re.compile(r"/v2/webhooks/(?P<webhook_id>[^/]+)"), delete_webhook),
]


def _match(method: str, path: str) -> tuple[Callable[..., SimResponse], dict[str, str]] | None:
    path = path.rstrip("/") or "/"
    for route_method, pattern, handler in ROUTES:
        found = pattern.fullmatch(path)
        if found and route_method == method:
            return handler, found.groupdict()
    return None


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"

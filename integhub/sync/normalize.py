"""One normalised form per remote object, whatever channel it came through.

Cal.com's REST v2 bookings (cal-api-version 2024-08-13) say `start`/`end` and a lower-case
`status`; its webhooks say `startTime`/`endTime` and an UPPER-case `status`. Retell's call objects
carry epoch milliseconds. Each function here returns a dict of column values of the matching model in
integhub.models (without `company_id`, `synced_at`, `deleted_at`: the caller adds those), so the sync
engine and the webhook receivers write exactly the same rows.

References: ../shared/reference/calcom-api.md §2.2–2.4 and §4, retell-api.md §2.1–2.6 and §5.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import or_

BOOKING_STATUSES = ("accepted", "cancelled", "rejected", "pending")
# Webhook triggers that say what the booking's status now is, whatever the payload's `status` says.
TRIGGER_STATUS = {
    "BOOKING_CANCELLED": "cancelled",
    "BOOKING_REJECTED": "rejected",
    "BOOKING_REQUESTED": "pending",
    "BOOKING_CREATED": None,  # the payload's status: ACCEPTED, or PENDING when confirmation is required
    "BOOKING_RESCHEDULED": None,
}

# How far a call's lifecycle has got; a stored row is only overwritten by an equal or later stage.
STAGE_REGISTERED = 0
STAGE_ONGOING = 1
STAGE_ENDED = 2
STAGE_ANALYZED = 3
_STAGE_FOR_STATUS = {"registered": STAGE_REGISTERED, "not_connected": STAGE_REGISTERED,
                     "ongoing": STAGE_ONGOING, "ended": STAGE_ENDED, "error": STAGE_ENDED}
_STAGE_FOR_EVENT = {"call_started": STAGE_ONGOING, "call_ended": STAGE_ENDED, "call_analyzed": STAGE_ANALYZED,
                    "transcript_updated": STAGE_ONGOING, "transfer_started": STAGE_ONGOING,
                    "transfer_bridged": STAGE_ONGOING, "transfer_cancelled": STAGE_ONGOING,
                    "transfer_ended": STAGE_ONGOING}


_ZERO = timedelta(0)
_EPOCH = datetime(1970, 1, 1)


# --- which stored rows a newer write may overwrite (`only_if` of integhub.sync.upsert) ----------------
def booking_not_older(stored, incoming):
    """Update only with a booking state at least as new as the stored one (unknown times do not
    block): a late webhook or a listing read before a webhook arrived never wins over newer data."""
    return or_(stored.c.remote_updated_at.is_(None), incoming.remote_updated_at.is_(None),
               stored.c.remote_updated_at <= incoming.remote_updated_at)


def call_stage_not_earlier(stored, incoming):
    """Update only with a call at the same or a later stage (ended, analyzed)."""
    return stored.c.stage <= incoming.stage


# --- small parsers ---------------------------------------------------------------------------------
def parse_iso(value: Any) -> datetime | None:
    """ISO 8601 (with `Z` or an offset) → naive UTC; a naive value is taken as UTC. Bad input → None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)  # the common case: "2026-09-26T11:30:00.000Z"
    except ValueError:
        value = value.strip()
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is not None:
        if moment.utcoffset() == _ZERO:
            return moment.replace(tzinfo=None)
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def from_epoch_ms(value: Any) -> datetime | None:
    """Epoch milliseconds → naive UTC (exact: no float rounding of the milliseconds)."""
    ms = _int(value)
    if ms is None:
        return None
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return None


def _int(value: Any) -> int | None:
    if type(value) is int:  # the common case first; bool is a subclass of int and is refused below
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _str(value: Any, limit: int | None = None) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:limit] if limit and len(text) > limit else text


def _clip(value: Any, limit: int) -> str | None:
    """`_str` with the common case (None, or a string that fits) decided without a second call."""
    if value is None or (type(value) is str and len(value) <= limit):
        return value
    return _str(value, limit)


def _first_attendee(item: dict[str, Any]) -> dict[str, Any]:
    attendees = item.get("attendees")
    if isinstance(attendees, list) and attendees and isinstance(attendees[0], dict):
        return attendees[0]
    return {}


def normalize_email(value: Any) -> str | None:
    """The form emails are compared in: trimmed, lower-case; empty → None."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value or None


# --- Cal.com ---------------------------------------------------------------------------------------
def booking_status(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    status = value.strip().lower()
    return "cancelled" if status == "canceled" else status


def booking_from_rest(item: dict[str, Any]) -> dict[str, Any]:
    """A REST v2 booking (BookingOutput_2024_08_13 and its recurring/seated variants)."""
    get = item.get
    event_type = get("eventType")
    event_type_id = event_type.get("id") if isinstance(event_type, dict) else None
    attendee = _first_attendee(item)
    remote_id = get("id")
    return {
        "uid": str(item["uid"]),
        "remote_id": remote_id if type(remote_id) is int else _int(remote_id),
        "title": _clip(get("title"), 500),
        "status": booking_status(get("status")),
        "start_at": parse_iso(get("start")),
        "end_at": parse_iso(get("end")),
        "event_type_id": _int(event_type_id) if event_type_id is not None else _int(get("eventTypeId")),
        "attendee_name": _clip(attendee.get("name"), 255),
        "attendee_email": _clip(attendee.get("email"), 320),
        "remote_updated_at": parse_iso(get("updatedAt")),
        "data": item,
        "source": "sync",
    }


def booking_from_webhook(payload: dict[str, Any], trigger: str, *, created_at: Any = None) -> dict[str, Any]:
    """A webhook's `payload` object for `trigger` (the envelope's triggerEvent).

    `created_at` (the envelope's createdAt, ISO) becomes `remote_updated_at`: the moment Cal.com
    produced this state of the booking.
    """
    trigger = (trigger or "").upper()
    status = TRIGGER_STATUS.get(trigger) or booking_status(payload.get("status"))
    if status is None and trigger in ("BOOKING_CREATED", "BOOKING_RESCHEDULED"):
        status = "accepted"
    attendee = _first_attendee(payload)
    remote_id = payload.get("bookingId") if payload.get("bookingId") is not None else payload.get("id")
    return {
        "uid": str(payload["uid"]),
        "remote_id": _int(remote_id),
        "title": _str(payload.get("title"), 500),
        "status": status,
        "start_at": parse_iso(payload.get("startTime")),
        "end_at": parse_iso(payload.get("endTime")),
        "event_type_id": _int(payload.get("eventTypeId")),
        "attendee_name": _str(attendee.get("name"), 255),
        "attendee_email": _str(attendee.get("email"), 320),
        "remote_updated_at": parse_iso(created_at) if created_at is not None else None,
        "data": payload,
        "source": "webhook",
    }


def event_type_from_api(item: dict[str, Any], *, team_id: int | None = None) -> dict[str, Any]:
    """EventTypeOutput_2024_06_14 or TeamEventTypeOutput_2024_06_14 (v1 called the length `length`)."""
    length = item.get("lengthInMinutes", item.get("length"))
    return {
        "remote_id": int(item["id"]),
        "title": _str(item.get("title"), 255) or "",
        "slug": _str(item.get("slug"), 255),
        "length_minutes": _int(length),
        "hidden": bool(item.get("hidden", False)),
        "team_id": _int(item.get("teamId")) if item.get("teamId") is not None else team_id,
        "data": item,
    }


def user_from_me(me: dict[str, Any]) -> dict[str, Any]:
    """The key's owner (GET /v2/me) as a Cal.com user."""
    return {
        "remote_id": int(me["id"]),
        "email": _str(me.get("email"), 320),
        "username": _str(me.get("username"), 255),
        "name": _str(me.get("name"), 255),
        "role": None,
        "data": me,
    }


def user_from_membership(membership: dict[str, Any]) -> dict[str, Any]:
    """A team membership (GET /v2/teams/{id}/memberships): the user is nested under `user`."""
    user = membership.get("user") if isinstance(membership.get("user"), dict) else {}
    user_id = membership.get("userId") if membership.get("userId") is not None else user.get("id")
    return {
        "remote_id": int(user_id),
        "email": _str(user.get("email"), 320),
        "username": _str(user.get("username"), 255),
        "name": _str(user.get("name"), 255),
        "role": _str(membership.get("role"), 20),
        "data": membership,
    }


# --- Retell ----------------------------------------------------------------------------------------
def call_stage(call: dict[str, Any]) -> int:
    if isinstance(call.get("call_analysis"), dict):
        return STAGE_ANALYZED
    return _STAGE_FOR_STATUS.get(str(call.get("call_status") or ""), STAGE_REGISTERED)


def call_stage_for_event(event: str) -> int:
    """The stage a webhook event proves (call_started 1, call_ended 2, call_analyzed 3)."""
    return _STAGE_FOR_EVENT.get(event, STAGE_REGISTERED)


def call_from_api(item: dict[str, Any]) -> dict[str, Any]:
    """A call object from /v3/list-calls, /v2/get-call or a webhook's `call`."""
    get = item.get  # a sync normalises tens of thousands of these: plain values take the short way
    start_ms, end_ms, duration = get("start_timestamp"), get("end_timestamp"), get("duration_ms")
    if type(start_ms) is not int:
        start_ms = _int(start_ms)
    if type(end_ms) is not int:
        end_ms = _int(end_ms)
    if type(duration) is not int:
        duration = _int(duration)
    if duration is None and start_ms is not None and end_ms is not None:
        duration = max(0, end_ms - start_ms)
    return {
        "call_id": str(item["call_id"]),
        "agent_id": _clip(get("agent_id"), 128),
        "call_status": _clip(get("call_status"), 30),
        "call_type": _clip(get("call_type"), 20),
        "direction": _clip(get("direction"), 20),
        "from_number": _clip(get("from_number"), 32),
        "to_number": _clip(get("to_number"), 32),
        "start_at": None if start_ms is None else from_epoch_ms(start_ms),
        "end_at": None if end_ms is None else from_epoch_ms(end_ms),
        "start_timestamp_ms": start_ms,
        "duration_ms": duration,
        "disconnection_reason": _clip(get("disconnection_reason"), 100),
        "stage": call_stage(item),
        "data": item,
        "source": "sync",
    }


def call_from_webhook(event: str, call: dict[str, Any]) -> dict[str, Any]:
    """A webhook's call: the later of what the event and the call object prove."""
    row = call_from_api(call)
    row["stage"] = max(row["stage"], call_stage_for_event(event))
    row["source"] = "webhook"
    return row


def agent_from_api(item: dict[str, Any]) -> dict[str, Any]:
    """A /v2/list-agents item or a full AgentResponse. `webhook_url` only when the source has it
    (list items do not), so a listing never wipes a stored webhook URL."""
    row = {
        "agent_id": str(item["agent_id"]),
        "name": _str(item.get("agent_name"), 255),
        "channel": _str(item.get("channel"), 20),
        "data": item,
    }
    if "webhook_url" in item:
        row["webhook_url"] = _str(item.get("webhook_url"))
    return row


def phone_number_from_api(item: dict[str, Any]) -> dict[str, Any]:
    """PhoneNumberResponse: agents are weighted lists now (`inbound_agents`); older payloads had
    a single `inbound_agent_id`."""
    agent_id = item.get("inbound_agent_id")
    bindings = item.get("inbound_agents")
    if isinstance(bindings, list):
        weighted = [b for b in bindings if isinstance(b, dict) and b.get("agent_id")]
        if weighted:
            agent_id = max(weighted, key=lambda b: b.get("weight") or 0)["agent_id"]
    return {
        "phone_number": str(item["phone_number"]),
        "nickname": _str(item.get("nickname") or item.get("phone_number_pretty"), 255),
        "inbound_agent_id": _str(agent_id, 128),
        "data": item,
    }

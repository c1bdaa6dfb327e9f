"""What an accepted delivery does to the local tables: the same normalised rows as the sync engine
(integhub.sync.normalize) written with the same upsert (integhub.sync.upsert).

- Retell call events upsert the call by call_id; a row is only overwritten by an equal or later
  lifecycle stage (`RetellCall.stage`), so `call_started` arriving after `call_analyzed` changes nothing.
- Cal.com booking triggers upsert the booking by uid; a row is only overwritten by a state at least as
  new (`remote_updated_at`, the envelope's createdAt for webhooks, updatedAt for the REST sync).
- Everything else (chat events, MEETING_*, BOOKING_NO_SHOW_UPDATED, PING, ...) is stored in the inbox
  and acknowledged.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session

from ..models import CalcomBooking, RetellCall, utcnow
from ..sync.normalize import (
    booking_from_webhook,
    booking_not_older,
    call_from_webhook,
    call_stage_not_earlier,
    parse_iso,
)
from ..sync.upsert import upsert_rows

RETELL_CALL_EVENTS = frozenset({"call_started", "call_ended", "call_analyzed", "transcript_updated",
                                "transfer_started", "transfer_bridged", "transfer_cancelled", "transfer_ended"})
# Triggers whose payload is a booking (calcom-api.md §4); others are stored and acknowledged.
CALCOM_BOOKING_TRIGGERS = frozenset({"BOOKING_CREATED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED",
                                     "BOOKING_REQUESTED", "BOOKING_REJECTED", "BOOKING_PAYMENT_INITIATED",
                                     "BOOKING_PAID"})
MAX_ID = 255


class BadPayload(ValueError):
    """The body is not the JSON shape the provider sends (→ 400). The message names no content."""


def _loads(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise BadPayload("body is not JSON") from None
    if not isinstance(doc, dict):
        raise BadPayload("body is not a JSON object")
    return doc


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        text = str(value).strip()
        return text if 0 < len(text) <= MAX_ID else None
    return None


# --- Retell ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetellEvent:
    event: str
    kind: str  # "call" or "chat"
    obj: dict[str, Any]
    object_id: str
    agent_id: str


def parse_retell(text: str) -> RetellEvent:
    """`{"event": ..., "call": {...}}` (chat agents: `"chat"`; older deliveries: `"data"`)."""
    doc = _loads(text)
    event = doc.get("event")
    if not isinstance(event, str) or not event or len(event) > 100:
        raise BadPayload("no event")
    for kind, field in (("call", "call"), ("chat", "chat"), ("call", "data")):
        obj = doc.get(field)
        if isinstance(obj, dict):
            break
    else:
        raise BadPayload("no call object")
    object_id = _id(obj.get("chat_id" if kind == "chat" else "call_id"))
    agent_id = _id(obj.get("agent_id"))
    if object_id is None or agent_id is None:
        raise BadPayload("call without call_id or agent_id")
    return RetellEvent(event, kind, obj, object_id, agent_id)


def process_retell(session: Session, company_id: uuid.UUID, parsed: RetellEvent) -> int:
    """Rows written (0 when the event carries nothing newer than what is stored)."""
    if parsed.kind != "call" or parsed.event not in RETELL_CALL_EVENTS:
        return 0
    row = call_from_webhook(parsed.event, parsed.obj)
    row.update(company_id=company_id, synced_at=utcnow(), deleted_at=None)
    result = upsert_rows(session, RetellCall, [row], key_cols=("company_id", "call_id"),
                         only_if=call_stage_not_earlier)
    return result.written


# --- Cal.com ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CalcomEvent:
    trigger: str
    payload: dict[str, Any]
    created_at: str | None
    uid: str | None


def parse_calcom(text: str) -> CalcomEvent:
    """`{"triggerEvent": ..., "createdAt": ..., "payload": {...}}` (no payload template)."""
    doc = _loads(text)
    trigger = doc.get("triggerEvent")
    if not isinstance(trigger, str) or not trigger or len(trigger) > 100:
        raise BadPayload("no triggerEvent")
    payload = doc.get("payload")
    if not isinstance(payload, dict):
        # MEETING_STARTED/ENDED are described as flat (booking fields next to triggerEvent).
        payload = {k: v for k, v in doc.items() if k not in ("triggerEvent", "createdAt")}
    created_at = doc.get("createdAt") if isinstance(doc.get("createdAt"), str) else None
    uid = _id(payload.get("uid")) or _id(payload.get("bookingUid"))
    if trigger in CALCOM_BOOKING_TRIGGERS and _id(payload.get("uid")) is None:
        raise BadPayload("booking trigger without uid")
    return CalcomEvent(trigger, payload, created_at, uid)


def process_calcom(session: Session, company_id: uuid.UUID, parsed: CalcomEvent) -> int:
    if parsed.trigger not in CALCOM_BOOKING_TRIGGERS:
        return 0
    row = booking_from_webhook(parsed.payload, parsed.trigger, created_at=parsed.created_at)
    row.update(company_id=company_id, synced_at=utcnow(), deleted_at=None)
    written = upsert_rows(session, CalcomBooking, [row], key_cols=("company_id", "uid"), only_if=booking_not_older).written
    old_uid = _id(parsed.payload.get("rescheduleUid"))
    if parsed.trigger == "BOOKING_RESCHEDULED" and old_uid and old_uid != row["uid"]:
        # The rescheduled booking gets a new uid; the original one is cancelled at Cal.com.
        when = parse_iso(parsed.created_at)
        conditions = [CalcomBooking.company_id == company_id, CalcomBooking.uid == old_uid]
        values: dict[str, Any] = {"status": "cancelled", "synced_at": utcnow()}
        if when is not None:
            conditions.append(or_(CalcomBooking.remote_updated_at.is_(None), CalcomBooking.remote_updated_at <= when))
            values["remote_updated_at"] = when
        result = session.execute(update(CalcomBooking).where(and_(*conditions)).values(**values)
                                 .execution_options(synchronize_session=False))
        written += max(result.rowcount or 0, 0)
    return written

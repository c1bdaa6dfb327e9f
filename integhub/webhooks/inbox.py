"""The inbox: every accepted delivery is stored once, keyed by (provider, company, event key).

Event keys follow what each provider repeats on a retry:
- Retell: `(event, call_id)` for the once-per-call lifecycle events (retell-api.md §5.1 advises
  idempotency on exactly that); events that legitimately repeat for one call (`transcript_updated`,
  transfers) add a digest of the body, so a retry is a duplicate but a new update is not.
- Cal.com: `(triggerEvent, payload uid, createdAt)` (calcom-api.md §4); without a uid or createdAt,
  a digest of the body.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Uuid, bindparam, delete, exists, func, select, text, update
from sqlalchemy.orm import Session, aliased

from ..models import utcnow
from ..models_webhooks import INBOX_FAILED, INBOX_PROCESSED, REPLAYABLE, WebhookInbox

MAX_KEY = 255
MAX_ERROR = 500

RETELL_ONCE_PER_OBJECT = frozenset({"call_started", "call_ended", "call_analyzed",
                                    "chat_started", "chat_ended", "chat_analyzed"})


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _fit(key: str) -> str:
    """Keys longer than the column become a digest (still unique, still stable)."""
    return key if len(key) <= MAX_KEY else "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def retell_event_key(event: str, object_id: str, body: str) -> str:
    if event in RETELL_ONCE_PER_OBJECT:
        return _fit(f"{event}:{object_id}")
    return _fit(f"{event}:{object_id}:{body_digest(body)[:32]}")


def calcom_event_key(trigger: str, uid: str | None, created_at: Any, body: str) -> str:
    if uid and isinstance(created_at, str) and created_at:
        return _fit(f"{trigger}:{uid}:{created_at}")
    return _fit(f"{trigger}:sha256:{body_digest(body)}")


# Plain SQL, valid on PostgreSQL and SQLite (>= 3.35 for RETURNING): the dialects' ON CONFLICT
# constructs carry no cache key, so SQLAlchemy would compile them for every delivery.
_INSERT_ONCE = text(
    "INSERT INTO webhook_inbox (provider, company_id, event_key, event_type, object_id, body, status, attempts,"
    " last_error, received_at, processed_at)"
    " VALUES (:provider, :company_id, :event_key, :event_type, :object_id, :body, :status, 1, :last_error,"
    " :received_at, :processed_at)"
    " ON CONFLICT (provider, company_id, event_key) DO NOTHING RETURNING id"
).bindparams(bindparam("company_id", type_=Uuid()), bindparam("received_at", type_=DateTime()),
             bindparam("processed_at", type_=DateTime()))


def insert_once(session: Session, *, provider: str, company_id: uuid.UUID, event_key: str, event_type: str,
                object_id: str | None, body: str, status: str, error: str | None = None) -> int | None:
    """Insert the delivery; None when the same event is already stored (a duplicate)."""
    now = utcnow()
    return session.execute(_INSERT_ONCE, {
        "provider": provider, "company_id": company_id, "event_key": event_key, "event_type": event_type[:100],
        "object_id": object_id[:255] if object_id else None, "body": body, "status": status,
        "last_error": error[:MAX_ERROR] if error else None, "received_at": now,
        "processed_at": now if status == INBOX_PROCESSED else None,
    }).scalar_one_or_none()


def mark(session: Session, inbox_id: int, *, ok: bool, error: str | None = None) -> None:
    values: dict[str, Any] = {"attempts": WebhookInbox.attempts + 1}
    if ok:
        values.update(status=INBOX_PROCESSED, processed_at=utcnow(), last_error=None)
    else:
        values.update(status=INBOX_FAILED, last_error=(error or "")[:MAX_ERROR] or None)
    session.execute(update(WebhookInbox).where(WebhookInbox.id == inbox_id).values(**values))


def replayable_ids(session: Session, *, company_id: uuid.UUID | None = None, provider: str | None = None,
                   older_than: datetime | None = None, limit: int | None = None) -> list[int]:
    """Failed rows, and pending rows older than `older_than` (a delivery still in flight is pending)."""
    query = select(WebhookInbox.id, WebhookInbox.status, WebhookInbox.received_at).where(
        WebhookInbox.status.in_(REPLAYABLE))
    if company_id is not None:
        query = query.where(WebhookInbox.company_id == company_id)
    if provider is not None:
        query = query.where(WebhookInbox.provider == provider)
    query = query.order_by(WebhookInbox.received_at, WebhookInbox.id)
    ids = []
    for row_id, status, received_at in session.execute(query):
        if status == INBOX_FAILED or older_than is None or received_at <= older_than:
            ids.append(row_id)
            if limit is not None and len(ids) >= limit:
                break
    return ids


def delete_processed(session: Session, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` processed rows received and processed before `before`, oldest first,
    in one statement. Failed and pending rows are never touched (they wait for `webhooks replay`),
    nor the newest row of each (company, provider): the status card shows its time as the last
    event. Returns how many rows went."""
    newer = aliased(WebhookInbox)
    doomed = (
        select(WebhookInbox.id)
        .where(WebhookInbox.status == INBOX_PROCESSED, WebhookInbox.received_at < before,
               func.coalesce(WebhookInbox.processed_at, WebhookInbox.received_at) < before,
               exists().where(newer.company_id == WebhookInbox.company_id, newer.provider == WebhookInbox.provider,
                              newer.received_at > WebhookInbox.received_at))
        .order_by(WebhookInbox.received_at, WebhookInbox.id)
        .limit(limit)
    )
    result = session.execute(delete(WebhookInbox).where(WebhookInbox.id.in_(doomed))
                             .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def count_unprocessed(session: Session, *, before: datetime) -> int:
    """Failed or pending rows received before `before` (kept by retention)."""
    return int(session.scalar(select(func.count()).select_from(WebhookInbox).where(
        WebhookInbox.status.in_(REPLAYABLE), WebhookInbox.received_at < before)) or 0)

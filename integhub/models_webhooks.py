"""Tables of the webhook receivers: the inbox of accepted deliveries and the registrations we made.

Migration: integhub/migrations/versions/0004_webhooks.py. Times are naive UTC like everywhere else.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntPK, utcnow

# Inbox states. `pending` exists only inside a delivery's transaction or after a crash mid-way;
# `failed` rows wait for `webhooks replay`.
INBOX_PENDING = "pending"
INBOX_PROCESSED = "processed"
INBOX_FAILED = "failed"
REPLAYABLE = (INBOX_PENDING, INBOX_FAILED)


class WebhookInbox(Base):
    """One row per accepted (signature-verified) delivery; a repeated delivery of the same event
    (same provider, company and event key) is not stored again."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("provider", "company_id", "event_key", name="uq_webhook_inbox_event"),
        Index("idx_webhook_inbox_company_provider_time", "company_id", "provider", "received_at"),
        Index("idx_webhook_inbox_status", "status", "received_at"),
    )
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(50))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(255), nullable=True)  # call_id / booking uid
    body: Mapped[str] = mapped_column(Text)  # the raw body exactly as signed, for replay
    status: Mapped[str] = mapped_column(String(20), default=INBOX_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    def __repr__(self) -> str:  # never the body
        return f"WebhookInbox(id={self.id}, provider={self.provider!r}, event_key={self.event_key!r}, status={self.status!r})"


class WebhookRegistration(Base):
    """A subscription the hub created at a provider: a Cal.com webhook (target "account") or a
    Retell agent's webhook_url (target = agent id). A Retell registration also makes its agent
    resolvable to the company when deliveries arrive."""

    __tablename__ = "webhook_registrations"
    __table_args__ = (Index("idx_webhook_registrations_target", "provider", "target"),)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(50), primary_key=True)
    target: Mapped[str] = mapped_column(String(128), primary_key=True)
    remote_id: Mapped[str | None] = mapped_column(String(128), nullable=True)  # Cal.com webhook id
    url: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    registered_by: Mapped[str] = mapped_column(String(255), default="system")

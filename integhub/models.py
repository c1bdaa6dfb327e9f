"""SQLAlchemy 2.0 typed models. Times are naive UTC (the spec's DDL uses TIMESTAMP)."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSONB on PostgreSQL, JSON elsewhere; BIGSERIAL on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp column stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Company(Base):
    __tablename__ = "companies"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin", server_default="Europe/Berlin")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"Company(id={self.id}, slug={self.slug!r})"


class Branch(Base):
    __tablename__ = "branches"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    branch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"), nullable=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class IntegrationConfig(Base):
    """The spec's integration_configs, plus `version` for optimistic locking."""

    __tablename__ = "integration_configs"
    __table_args__ = (
        UniqueConstraint("company_id", "provider"),
        Index("idx_integration_configs_company_provider", "company_id", "provider"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"))
    provider: Mapped[str] = mapped_column(String(50))
    api_key: Mapped[str | None] = mapped_column(Text, nullable=True)  # ciphertext
    webhook_secret: Mapped[str | None] = mapped_column(Text, nullable=True)  # ciphertext
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:  # never the ciphertexts either
        return f"IntegrationConfig(company_id={self.company_id}, provider={self.provider!r}, version={self.version})"


class IntegrationMetric(Base):
    """One row per action (sync, validate, status, webhook): the spec's IntegrationMetrics::record."""

    __tablename__ = "integration_metrics"
    __table_args__ = (
        Index("idx_integration_metrics_company_provider_time", "company_id", "provider", "created_at"),
        Index("idx_integration_metrics_time", "created_at"),
        Index("idx_integration_metrics_provider_time", "provider", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    provider: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50))
    success: Mapped[bool] = mapped_column(Boolean)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    records_synced: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    """Append-only (database triggers refuse UPDATE and DELETE). Never holds a secret value."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("idx_audit_events_company_time", "company_id", "created_at"),)
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(255))
    company_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    provider: Mapped[str | None] = mapped_column(String(50), nullable=True)
    action: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    old_key_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    new_key_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AppMeta(Base):
    """Small key/value facts about the installation, e.g. the encryption canary."""

    __tablename__ = "app_meta"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

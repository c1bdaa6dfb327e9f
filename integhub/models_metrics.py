"""Roll-up of integration_metrics for the metrics page (both databases).

Migrations: 0003_sync_engine (metrics_daily, metrics_daily_durations, metrics_rollup_state),
0006_rollup_and_key_counts (the hourly tables, metrics_dimensions; new duration buckets).
integhub/services/metrics_queries.py fills them, a slot at a time, and explains how they are read.
Times are naive UTC; a row for an hour (day) holds the rows of that hour (day) up to
`metrics_rollup_state.rolled_up_until`.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class MetricsDaily(Base):
    """Per UTC day, company, provider and action: runs and sums, for the per-company table."""

    __tablename__ = "metrics_daily"
    __table_args__ = (Index("idx_metrics_daily_action_day", "action", "day"),
                      Index("idx_metrics_daily_company_last", "company_id", "provider", "last_at"))
    day: Mapped[datetime] = mapped_column(DateTime, primary_key=True)  # midnight UTC
    company_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    provider: Mapped[str] = mapped_column(String(50), primary_key=True)
    action: Mapped[str] = mapped_column(String(50), primary_key=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_max: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(DateTime)  # the day's newest row ...
    last_error_code: Mapped[str | None] = mapped_column(String(50), nullable=True)  # ... and its error code


class _DurationHistogram:
    """A duration histogram row per time slot, provider and action (all companies): log-spaced
    buckets (metrics_queries.DURATION_BOUNDS) with the exact minimum and maximum inside each."""

    provider: Mapped[str] = mapped_column(String(50), primary_key=True)
    action: Mapped[str] = mapped_column(String(50), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    min_ms: Mapped[int] = mapped_column(Integer, default=0)
    max_ms: Mapped[int] = mapped_column(Integer, default=0)


class MetricsDailyDuration(_DurationHistogram, Base):
    """Duration histogram per UTC day."""

    __tablename__ = "metrics_daily_durations"
    day: Mapped[datetime] = mapped_column(DateTime, primary_key=True)


class MetricsHourly(Base):
    """Per UTC hour, provider and action (all companies): runs, successes, records."""

    __tablename__ = "metrics_hourly"
    hour: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    provider: Mapped[str] = mapped_column(String(50), primary_key=True)
    action: Mapped[str] = mapped_column(String(50), primary_key=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    records: Mapped[int] = mapped_column(BigInteger, default=0)


class MetricsHourlyError(Base):
    """Failures per UTC hour, provider, action and error code (all companies)."""

    __tablename__ = "metrics_hourly_errors"
    hour: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    provider: Mapped[str] = mapped_column(String(50), primary_key=True)
    action: Mapped[str] = mapped_column(String(50), primary_key=True)
    error_code: Mapped[str] = mapped_column(String(50), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(DateTime)


class MetricsHourlyDuration(_DurationHistogram, Base):
    """Duration histogram per UTC hour (the hour view and the ragged ends of ranges)."""

    __tablename__ = "metrics_hourly_durations"
    hour: Mapped[datetime] = mapped_column(DateTime, primary_key=True)


class MetricsDimension(Base):
    """Every (provider, action) pair ever rolled up: the choices of the page's filters."""

    __tablename__ = "metrics_dimensions"
    provider: Mapped[str] = mapped_column(String(50), primary_key=True)
    action: Mapped[str] = mapped_column(String(50), primary_key=True)


class MetricsRollupState(Base):
    """How far the roll-up reaches: every row before `rolled_up_until` is in the roll-up tables."""

    __tablename__ = "metrics_rollup_state"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    rolled_up_until: Mapped[datetime] = mapped_column(DateTime)

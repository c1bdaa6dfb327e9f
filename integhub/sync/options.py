"""Tunables of the sync engine and the worker, with defaults and environment overrides.

Tests and benchmarks shorten the lease or the retry waits through the environment, so the same
values reach worker subprocesses (e.g. INTEGHUB_SYNC_LEASE_SECONDS=3 for the kill test).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..providers.http import RetryPolicy


def _env_float(name: str, default: float, minimum: float = 0.0) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return max(minimum, float(raw))
    except ValueError:
        return default


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    return int(_env_float(name, default, minimum))


@dataclass(frozen=True)
class SyncOptions:
    request_timeout: float = 20.0  # seconds per provider request
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=10.0,
                                                                   max_total=60.0))
    lease_seconds: float = 60.0  # a killed run's work is taken over at most this long after its last heartbeat
    heartbeat_seconds: float | None = None  # default: a third of the lease
    calls_overlap_minutes: float = 60.0  # incremental Retell calls: re-read this much before the newest synced start
    delete_guard_ratio: float = 0.5  # refuse to soft-delete more than this share of an object type...
    delete_guard_min: int = 2  # ...when that is at least this many rows
    backoff_base_seconds: float = 60.0  # first retry of a failing pair after this long, doubling each time
    backoff_max_seconds: float = 3600.0
    listing_attempts: int = 2  # a malformed or truncated page: read the whole listing again once
    bookings_page_size: int = 100  # Cal.com's default `take`; no documented maximum
    calls_page_size: int = 1000  # Retell's documented maximum `limit`

    @property
    def heartbeat_interval(self) -> float:
        return self.heartbeat_seconds if self.heartbeat_seconds else max(0.2, self.lease_seconds / 3)

    @classmethod
    def from_env(cls) -> "SyncOptions":
        base = cls()
        retry = RetryPolicy(
            max_attempts=_env_int("INTEGHUB_SYNC_RETRY_ATTEMPTS", base.retry.max_attempts, 1),
            base_delay=_env_float("INTEGHUB_SYNC_RETRY_BASE_SECONDS", base.retry.base_delay),
            max_delay=_env_float("INTEGHUB_SYNC_RETRY_MAX_DELAY_SECONDS", base.retry.max_delay),
            max_total=_env_float("INTEGHUB_SYNC_RETRY_MAX_TOTAL_SECONDS", base.retry.max_total),
        )
        return cls(
            request_timeout=_env_float("INTEGHUB_SYNC_TIMEOUT_SECONDS", base.request_timeout, 0.1),
            retry=retry,
            lease_seconds=_env_float("INTEGHUB_SYNC_LEASE_SECONDS", base.lease_seconds, 1.0),
            heartbeat_seconds=_env_float("INTEGHUB_SYNC_HEARTBEAT_SECONDS", 0.0) or None,
            calls_overlap_minutes=_env_float("INTEGHUB_SYNC_CALLS_OVERLAP_MINUTES", base.calls_overlap_minutes),
            backoff_base_seconds=_env_float("INTEGHUB_SYNC_BACKOFF_BASE_SECONDS", base.backoff_base_seconds),
            backoff_max_seconds=_env_float("INTEGHUB_SYNC_BACKOFF_MAX_SECONDS", base.backoff_max_seconds),
            listing_attempts=_env_int("INTEGHUB_SYNC_LISTING_ATTEMPTS", base.listing_attempts, 1),
            bookings_page_size=_env_int("INTEGHUB_SYNC_BOOKINGS_PAGE_SIZE", base.bookings_page_size, 1),
            calls_page_size=_env_int("INTEGHUB_SYNC_CALLS_PAGE_SIZE", base.calls_page_size, 1),
        )

    def backoff_delay(self, consecutive_failures: int) -> float:
        """Exponential and capped: base, 2×base, 4×base, … up to the cap."""
        if consecutive_failures <= 0:
            return 0.0
        return min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** min(consecutive_failures - 1, 30))

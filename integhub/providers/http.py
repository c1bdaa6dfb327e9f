"""Retry policy shared by both provider clients.

Both clients make exactly one HTTP request per attempt (the Retell SDK runs with max_retries=0)
and let `call_with_retries` decide about the next one, so Cal.com and Retell have the same budget.

Wall time of one call is bounded by `max_total` plus one request timeout: a retry is only started
when its wait still fits into what is left of `max_total`.
"""
from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

import httpx

from .errors import ProviderError

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3  # attempts in total, the first one included
    base_delay: float = 0.2  # seconds; the cap of the n-th backoff is base_delay * 2**n
    max_delay: float = 5.0  # cap of one backoff wait (a provider's own hint may be longer)
    max_total: float = 15.0  # budget for all attempts and waits together

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Full jitter (AWS architecture blog): spreads simultaneous clients over the whole window."""
        cap = min(self.max_delay, self.base_delay * (2 ** max(0, retry_number)))
        return (rng or random).uniform(0.0, cap)

    def delay_for(self, retry_number: int, error: ProviderError, rng: random.Random | None = None) -> float:
        """The wait before retry `retry_number` (0-based): the provider's hint if it gave one."""
        if error.retry_after is not None:
            return max(0.0, float(error.retry_after))
        return self.backoff(retry_number, rng)


NO_RETRY = RetryPolicy(max_attempts=1)


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every client (same rules as httpx's default: SSL_CERT_FILE/DIR, certifi).

    Loading the CA bundle costs ~20 ms per httpx.Client; a status check builds fresh clients and
    answers within a few hundred ms, so that cost would show. SSLContext is safe to share.
    """
    return httpx.create_ssl_context()


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    retry_if: Callable[[ProviderError], bool] | None = None,
) -> T:
    """Run `fn`, retrying transient `ProviderError`s with backoff inside the policy's budget.

    `retry_if` narrows which transient errors are retried (e.g. a non-idempotent POST retries only
    a 429, where the provider certainly did not act). When the next wait would not fit into the
    remaining budget the last error is raised at once, carrying the provider's hint for the caller.
    """
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except ProviderError as error:
            if not error.transient or attempt >= policy.max_attempts:
                raise
            if retry_if is not None and not retry_if(error):
                raise
            delay = policy.delay_for(attempt - 1, error)
            remaining = policy.max_total - (clock() - started)
            if delay > remaining:
                raise
            log.info(
                "%s: %s (status %s), retry %d/%d in %.2fs",
                error.provider, error.code, error.status, attempt, policy.max_attempts - 1, delay,
            )
            sleep(delay)

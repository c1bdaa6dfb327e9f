"""The error taxonomy and the retry policy, without network."""
from __future__ import annotations

import pickle
import random
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from integhub import i18n
from integhub.providers import errors
from integhub.providers.errors import (
    BadRequest,
    Forbidden,
    InvalidCredentials,
    MalformedResponse,
    NotFound,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    RateLimited,
    Unreachable,
    error_from_status,
    retry_after_from_headers,
)
from integhub.providers.http import RetryPolicy, call_with_retries

ALL_CLASSES = [InvalidCredentials, Forbidden, NotFound, RateLimited, ProviderServerError, Unreachable,
               ProviderTimeout, MalformedResponse, BadRequest]

CAL_401 = ('{"status":"error","timestamp":"2026-01-01T00:00:00.000Z","path":"/v2/me",'
           '"error":{"code":"UnauthorizedException","message":"Your api key is not valid"}}')


@pytest.mark.parametrize(("provider", "status", "cls"), [
    ("calcom", 401, InvalidCredentials), ("retell", 401, InvalidCredentials), ("calcom", 498, InvalidCredentials),
    ("calcom", 403, Forbidden), ("calcom", 404, NotFound), ("retell", 404, NotFound),
    ("retell", 422, NotFound), ("calcom", 422, BadRequest), ("calcom", 400, BadRequest),
    ("retell", 402, BadRequest), ("calcom", 409, BadRequest), ("calcom", 408, ProviderTimeout),
    ("calcom", 429, RateLimited), ("retell", 429, RateLimited),
    ("calcom", 500, ProviderServerError), ("retell", 503, ProviderServerError), ("calcom", 599, ProviderServerError),
    ("calcom", 302, MalformedResponse),
])
def test_status_mapping(provider, status, cls):
    error = error_from_status(provider, status, {}, "")
    assert type(error) is cls
    assert error.provider == provider
    assert error.status == status


def test_transient_flags():
    assert {c for c in ALL_CLASSES if c.transient} == {RateLimited, ProviderServerError, Unreachable, ProviderTimeout}
    assert {c.code for c in ALL_CLASSES} == {
        "invalid_credentials", "forbidden", "not_found", "rate_limited", "provider_error", "unreachable",
        "timeout", "malformed_response", "bad_request"}


def test_detail_is_the_remote_message():
    assert error_from_status("calcom", 401, {}, CAL_401).detail == "Your api key is not valid"
    assert error_from_status("retell", 401, {}, '{"status":"error","message":"API key is missing or invalid."}').detail \
        == "API key is missing or invalid."
    assert error_from_status("retell", 500, {}, "<html>oops</html>").detail == "<html>oops</html>"
    long = error_from_status("retell", 500, {}, "x" * 5000).detail
    assert len(long) <= errors.DETAIL_MAX_CHARS


@pytest.mark.parametrize(("headers", "expected"), [
    ({"X-RateLimit-Reset-Default": "42"}, 42.0),
    ({"x-ratelimit-reset-default": "7"}, 7.0),  # lower-cased by a proxy
    ({"X-RateLimit-Reset-Bookings": "3", "X-RateLimit-Reset-Default": "9"}, 9.0),  # all windows must reset
    ({"X-RateLimit-Reset-Default": "0.5"}, 0.5),
    ({"retry-after": "12"}, 12.0),
    ({"Retry-After-Ms": "1500"}, 1.5),
    ({"retry-after-ms": "250", "retry-after": "30"}, 0.25),  # ms is the more precise hint
    ({"X-RateLimit-Reset-Default": "soon"}, None),
    ({"X-RateLimit-Limit-Default": "120"}, None),
    ({}, None),
])
def test_rate_limit_hints(headers, expected):
    error = error_from_status("calcom", 429, headers, "")
    assert error.retry_after == expected


def test_retry_after_as_http_date():
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    hint = retry_after_from_headers({"Retry-After": format_datetime(when, usegmt=True)})
    assert 25 <= hint <= 31


def test_reset_header_is_no_hint_for_a_server_error():
    # Cal.com sends the window reset on every answer; waiting it out after a 500 would be wrong.
    assert error_from_status("calcom", 500, {"X-RateLimit-Reset-Default": "55"}, "").retry_after is None
    assert error_from_status("calcom", 503, {"Retry-After": "2"}, "").retry_after == 2.0


def test_messages_in_both_languages():
    error = InvalidCredentials("calcom", status=401)
    assert error.message("de") == "Der API-Schlüssel wurde von Cal.com abgelehnt (401)."
    assert error.message("en") == "Cal.com rejected the API key (401)."
    limited = RateLimited("retell", status=429, retry_after=2.2)
    assert "3 Sekunden" in limited.message("de") and "Retell.ai" in limited.message("de")
    assert "60 seconds" in RateLimited("calcom", status=429).message("en")


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_every_class_has_a_message_and_no_raw_key(cls):
    error = cls("calcom", status=400, detail="remote says no")
    for lang in ("de", "en"):
        text = error.message(lang)
        assert text and not text.startswith("error.")
    assert str(error).startswith(error.message("en"))
    assert f"[{error.code}]" in str(error) and "remote says no" in str(error)
    assert "error." not in str(error)
    assert cls.__name__ in repr(error)


def test_bad_request_falls_back_until_the_catalogue_has_it():
    text = BadRequest("calcom", status=400).message("en")
    if "error.bad_request" in i18n.MESSAGES:
        assert text == i18n.t("error.bad_request", "en", provider="Cal.com", status=400, retry_after=60)
    else:
        assert text == i18n.t("error.provider_error", "en", provider="Cal.com", status=400)


def test_pickle_roundtrip():
    error = RateLimited("calcom", status=429, retry_after=3, detail="slow down")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RateLimited and copy.retry_after == 3 and copy.detail == "slow down"


def test_scrub_secret():
    error = BadRequest("calcom", status=400, detail="key cal_live_123 is odd")
    errors.scrub_secret(error, "cal_live_123")
    assert "cal_live_123" not in str(error) and "cal_live_123" not in repr(error)
    assert "cal_live_123" not in str(error.args)


# --- retry policy ------------------------------------------------------------------------------
class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(errors_then_value):
    queue = list(errors_then_value)
    calls = []

    def fn():
        calls.append(1)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    fn.calls = calls
    return fn


def test_retries_transient_errors_then_succeeds():
    fake = FakeTime()
    fn = failing([ProviderServerError("calcom", status=502), Unreachable("calcom"), "ok"])
    assert call_with_retries(fn, RetryPolicy(), sleep=fake.sleep, clock=fake.clock) == "ok"
    assert len(fn.calls) == 3 and len(fake.sleeps) == 2


@pytest.mark.parametrize("cls", [InvalidCredentials, Forbidden, NotFound, MalformedResponse, BadRequest])
def test_permanent_errors_are_not_retried(cls):
    fake = FakeTime()
    fn = failing([cls("retell"), "ok"])
    with pytest.raises(cls):
        call_with_retries(fn, RetryPolicy(), sleep=fake.sleep, clock=fake.clock)
    assert len(fn.calls) == 1 and fake.sleeps == []


def test_gives_up_after_max_attempts():
    fake = FakeTime()
    fn = failing([ProviderTimeout("calcom")] * 5)
    with pytest.raises(ProviderTimeout):
        call_with_retries(fn, RetryPolicy(max_attempts=3), sleep=fake.sleep, clock=fake.clock)
    assert len(fn.calls) == 3


def test_full_jitter_stays_inside_the_exponential_cap():
    policy = RetryPolicy(base_delay=0.2, max_delay=5.0)
    rng = random.Random(1)
    for n, cap in [(0, 0.2), (1, 0.4), (2, 0.8), (5, 5.0), (10, 5.0)]:
        samples = [policy.backoff(n, rng) for _ in range(300)]
        assert all(0 <= s <= cap for s in samples)
        assert max(samples) > cap * 0.8 and min(samples) < cap * 0.2  # spread over the whole window


def test_provider_hint_is_honoured_exactly():
    fake = FakeTime()
    fn = failing([RateLimited("calcom", status=429, retry_after=4.0), "ok"])
    assert call_with_retries(fn, RetryPolicy(max_delay=1.0), sleep=fake.sleep, clock=fake.clock) == "ok"
    assert fake.sleeps == [4.0]  # the hint may exceed max_delay, but not the budget


def test_hint_beyond_the_budget_raises_at_once():
    fake = FakeTime()
    fn = failing([RateLimited("calcom", status=429, retry_after=60.0), "ok"])
    with pytest.raises(RateLimited) as caught:
        call_with_retries(fn, RetryPolicy(max_total=15.0), sleep=fake.sleep, clock=fake.clock)
    assert fake.sleeps == [] and caught.value.retry_after == 60.0


def test_total_budget_counts_time_spent_in_attempts():
    fake = FakeTime()

    def slow_failure():
        fake.now += 4.0  # each attempt burns 4 s (e.g. a timeout)
        raise ProviderTimeout("retell")

    with pytest.raises(ProviderTimeout):
        call_with_retries(slow_failure, RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=1.0, max_total=10.0),
                          sleep=fake.sleep, clock=fake.clock)
    assert fake.now <= 10.0 + 4.0  # never starts a retry whose wait would overrun the budget


def test_retry_if_narrows_what_is_retried():
    fake = FakeTime()
    fn = failing([ProviderServerError("calcom", status=500), "ok"])
    with pytest.raises(ProviderServerError):
        call_with_retries(fn, RetryPolicy(), sleep=fake.sleep, clock=fake.clock,
                          retry_if=lambda e: isinstance(e, RateLimited))
    assert len(fn.calls) == 1


def test_non_provider_exceptions_pass_through():
    fn = failing([KeyError("bug"), "ok"])
    with pytest.raises(KeyError):
        call_with_retries(fn, RetryPolicy(), sleep=lambda s: None)


def test_provider_error_base_defaults():
    error = ProviderError("calcom")
    assert error.code == "error" and error.transient is False and error.status is None

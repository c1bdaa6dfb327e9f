"""Signature checks against signatures made the way the providers make them."""
from __future__ import annotations

import time

import pytest
from retell.lib import verify as sdk_verify

from integhub.webhooks.verify import CALCOM_NO_SECRET, verify_calcom, verify_retell

from .support import CALCOM_SECRET, OTHER_RETELL_KEY, RETELL_KEY, calcom_sign, retell_body, retell_sign

BODY = retell_body("call_ended", "call_9f8e7d6c5b4a")
MINUTE_MS = 60_000


def now_ms() -> int:
    return int(time.time() * 1000)


def test_retell_signature_made_like_retell_is_accepted():
    assert verify_retell(BODY, RETELL_KEY, retell_sign(BODY, RETELL_KEY))


def test_retell_non_ascii_body_is_signed_over_its_utf8():
    body = retell_body("call_analyzed", "call_ümlaut", transcript="Grüße aus Köln – 😀")
    assert verify_retell(body, RETELL_KEY, retell_sign(body, RETELL_KEY))


@pytest.mark.parametrize("offset_ms", [-5 * MINUTE_MS + 2000, 5 * MINUTE_MS - 2000])
def test_retell_window_is_five_minutes_both_ways(offset_ms):
    assert verify_retell(BODY, RETELL_KEY, retell_sign(BODY, RETELL_KEY, now_ms() + offset_ms))


@pytest.mark.parametrize("label, header", [
    ("tampered body", lambda: retell_sign(BODY.replace("user_hangup", "agent_hangup"), RETELL_KEY)),
    ("wrong key", lambda: retell_sign(BODY, OTHER_RETELL_KEY)),
    ("stale", lambda: retell_sign(BODY, RETELL_KEY, now_ms() - 5 * MINUTE_MS - 5000)),
    ("future", lambda: retell_sign(BODY, RETELL_KEY, now_ms() + 5 * MINUTE_MS + 5000)),
    ("uppercase hex", lambda: retell_sign(BODY, RETELL_KEY).upper().replace("V=", "v=").replace(",D=", ",d=")),
    ("space after comma", lambda: retell_sign(BODY, RETELL_KEY).replace(",", ", ")),
    ("prefix", lambda: "sha256=" + retell_sign(BODY, RETELL_KEY)),
    ("extra field", lambda: retell_sign(BODY, RETELL_KEY) + ",x=1"),
    ("digest only", lambda: retell_sign(BODY, RETELL_KEY).split(",d=")[1]),
    ("short digest", lambda: retell_sign(BODY, RETELL_KEY)[:-2]),
    ("empty", lambda: ""),
    ("missing", lambda: None),
    ("non-ASCII digits", lambda: _arabic_digits(retell_sign(BODY, RETELL_KEY))),
])
def test_retell_forged_variants_are_refused(label, header):
    assert verify_retell(BODY, RETELL_KEY, header()) is False, label


def _arabic_digits(header: str) -> str:
    """Python's `\\d` and int() accept these; the signed string would differ from what was sent."""
    ts, rest = header[2:].split(",", 1)
    return "v=" + ts.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) + "," + rest


def test_retell_decision_is_the_sdks():
    """Our check agrees with retell.lib.verify on every well-formed header."""
    headers = [retell_sign(BODY, RETELL_KEY), retell_sign(BODY, OTHER_RETELL_KEY),
               retell_sign(BODY, RETELL_KEY, now_ms() - 6 * MINUTE_MS), retell_sign(BODY + " ", RETELL_KEY)]
    for header in headers:
        assert verify_retell(BODY, RETELL_KEY, header) == sdk_verify(BODY, RETELL_KEY, header)


def test_calcom_signature_made_like_calcom_is_accepted():
    body = b'{"triggerEvent":"BOOKING_CREATED","createdAt":"2026-05-28T09:00:00.000Z","payload":{"uid":"b1"}}'
    assert verify_calcom(body, CALCOM_SECRET, calcom_sign(body, CALCOM_SECRET))


@pytest.mark.parametrize("label, make", [
    ("tampered body", lambda b: calcom_sign(b + b" ", CALCOM_SECRET)),
    ("wrong secret", lambda b: calcom_sign(b, CALCOM_SECRET + "x")),
    ("uppercase hex", lambda b: calcom_sign(b, CALCOM_SECRET).upper()),
    ("sha256= prefix", lambda b: "sha256=" + calcom_sign(b, CALCOM_SECRET)),
    ("no secret provided", lambda b: CALCOM_NO_SECRET),
    ("truncated", lambda b: calcom_sign(b, CALCOM_SECRET)[:63]),
    ("padded", lambda b: " " + calcom_sign(b, CALCOM_SECRET)),
    ("empty", lambda b: ""),
    ("missing", lambda b: None),
])
def test_calcom_forged_variants_are_refused(label, make):
    body = b'{"triggerEvent":"BOOKING_CANCELLED","payload":{"uid":"b1"}}'
    assert verify_calcom(body, CALCOM_SECRET, make(body)) is False, label

"""Signature checks, exactly as the providers sign.

Retell (retell-api.md §5.2): header `x-retell-signature: v=<ms>,d=<64 lowercase hex>`, HMAC-SHA256
keyed by the company's Retell API key over `body + str(ms)`, within 5 minutes either way. The decision
is the official SDK's (`retell.lib.verify`, pinned retell-sdk 6.2.13); we only refuse up front what
the SDK would refuse anyway or cannot take (no header, several headers, non-ASCII digits, which
Python's `\\d` and `int()` would otherwise accept).

Cal.com (calcom-api.md §4): header `X-Cal-Signature-256` = lowercase hex HMAC-SHA256 of the raw body
keyed by the webhook secret; no prefix, no timestamp. The literal `no-secret-provided` (what Cal.com
sends for a webhook without a secret) and anything not exactly 64 lowercase hex digits are refused.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

RETELL_HEADER = "x-retell-signature"
CALCOM_HEADER = "x-cal-signature-256"
CALCOM_NO_SECRET = "no-secret-provided"

_RETELL_FORMAT = re.compile(r"v=[0-9]+,d=[0-9a-f]{64}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def single_header(values: Sequence[str]) -> str | None:
    """The one header value, or None when it is missing or repeated (ambiguous)."""
    return values[0] if len(values) == 1 else None


def retell_signature_well_formed(header: str | None) -> bool:
    return bool(header) and _RETELL_FORMAT.fullmatch(header) is not None


def verify_retell(body: str, api_key: str, header: str | None) -> bool:
    """True when `header` is the Retell signature of `body` under `api_key`, made within 5 minutes."""
    if not isinstance(body, str) or not api_key or not retell_signature_well_formed(header):
        return False
    from retell.lib import verify as retell_sdk_verify  # the SDK is loaded when it is first needed

    return bool(retell_sdk_verify(body, api_key, header))


def verify_calcom(raw_body: bytes, secret: str, header: str | None) -> bool:
    """True when `header` is the lowercase hex HMAC-SHA256 of `raw_body` under `secret`."""
    if not header or not secret or header == CALCOM_NO_SECRET or _HEX64.fullmatch(header) is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)

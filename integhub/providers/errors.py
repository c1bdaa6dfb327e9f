"""One error taxonomy for every provider client.

Both clients (Cal.com over httpx, Retell over its SDK) raise only `ProviderError` subclasses, so
the service layer, the UI and the CLI branch on `code` / `transient` and never on a provider's own
exception types. Messages come from `integhub.i18n` (German and English) and never contain a
secret: an error only knows the provider, the HTTP status, a retry hint and a short remote detail.
"""
from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from integhub import i18n

PROVIDER_DISPLAY_NAMES = {"calcom": "Cal.com", "retell": "Retell.ai"}

DETAIL_MAX_CHARS = 200


class ProviderError(Exception):
    """Base class: a call to a provider failed. `code` is the taxonomy key, `transient` = retried."""

    code: str = "error"
    transient: bool = False

    def __init__(
        self,
        provider: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.detail = _shorten(detail)
        super().__init__(self.provider, self.status, self.detail)

    @property
    def provider_name(self) -> str:
        return PROVIDER_DISPLAY_NAMES.get(self.provider, self.provider)

    def message(self, lang: str | None = None) -> str:
        """The admin-facing sentence in `lang` (default: INTEGHUB_LANG, else German)."""
        key = f"error.{self.code}"
        if key not in i18n.MESSAGES:
            # Until the catalogue has a text for this code (e.g. bad_request), the generic
            # provider message is the closest an admin can act on.
            key = "error.provider_error"
        return i18n.t(
            key,
            lang,
            provider=self.provider_name,
            status=self.status or "-",
            retry_after=int(math.ceil(self.retry_after or 60)),
        )

    def __str__(self) -> str:
        text = f"{self.message('en')} [{self.code}]"
        return f"{text}: {self.detail}" if self.detail else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, status={self.status!r}, "
            f"retry_after={self.retry_after!r}, detail={self.detail!r})"
        )

    def __reduce__(self):
        # Keyword-only arguments defeat Exception's default pickling (needed across processes).
        return (_rebuild, (type(self), self.provider, self.status, self.retry_after, self.detail))


def _rebuild(cls, provider, status, retry_after, detail):
    return cls(provider, status=status, retry_after=retry_after, detail=detail)


class InvalidCredentials(ProviderError):
    code = "invalid_credentials"


class Forbidden(ProviderError):
    code = "forbidden"


class NotFound(ProviderError):
    code = "not_found"


class RateLimited(ProviderError):
    code = "rate_limited"
    transient = True


class ProviderServerError(ProviderError):
    code = "provider_error"
    transient = True


class Unreachable(ProviderError):
    code = "unreachable"
    transient = True


class ProviderTimeout(ProviderError):
    code = "timeout"
    transient = True


class MalformedResponse(ProviderError):
    code = "malformed_response"


class BadRequest(ProviderError):
    code = "bad_request"


def error_from_status(
    provider: str, status: int, headers: Mapping[str, str] | None, body_text: str | None
) -> ProviderError:
    """Map an HTTP error response to the taxonomy, with the remote message as `detail`."""
    headers = headers or {}
    detail = remote_message(body_text)
    kwargs = {"status": status, "detail": detail}
    if status == 429:
        return RateLimited(provider, retry_after=retry_after_from_headers(headers, rate_limited=True), **kwargs)
    if status >= 500:
        # A 5xx may carry Retry-After (503); the rate-limit window headers are no hint here.
        return ProviderServerError(provider, retry_after=retry_after_from_headers(headers), **kwargs)
    if status in (401, 498):  # 498: Cal.com's "access token expired"
        return InvalidCredentials(provider, **kwargs)
    if status == 403:
        return Forbidden(provider, **kwargs)
    if status == 404:
        return NotFound(provider, **kwargs)
    if status == 422 and provider == "retell":
        # Retell answers 422 "Cannot find requested asset under given api key" for unknown ids.
        return NotFound(provider, **kwargs)
    if status == 408:
        return ProviderTimeout(provider, **kwargs)
    if 400 <= status < 500:
        return BadRequest(provider, **kwargs)
    # 1xx/3xx where a JSON answer was expected (e.g. a redirect from a wrong base URL).
    return MalformedResponse(provider, status=status, detail=detail or f"unexpected HTTP status {status}")


_RESET_HEADER = re.compile(r"^x-ratelimit-reset(-.+)?$", re.IGNORECASE)


def retry_after_from_headers(headers: Mapping[str, str], *, rate_limited: bool = False) -> float | None:
    """Seconds to wait according to the provider, or None.

    Order: `retry-after-ms`, `retry-after` (seconds or HTTP date), and for a 429 also Cal.com's
    `X-RateLimit-Reset-<Name>` (seconds until the window ends; any suffix; the largest wins when a
    key has several throttlers, because all of them must have reset).
    """
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    value = _number(lowered.get("retry-after-ms"))
    if value is not None:
        return max(0.0, value / 1000.0)
    raw = lowered.get("retry-after")
    if raw is not None:
        value = _number(raw)
        if value is None:
            try:
                value = parsedate_to_datetime(raw).timestamp() - time.time()
            except (TypeError, ValueError, IndexError, OverflowError):
                value = None
        if value is not None:
            return max(0.0, value)
    if not rate_limited:
        return None
    resets = [_number(v) for k, v in lowered.items() if _RESET_HEADER.match(k)]
    resets = [r for r in resets if r is not None]
    if not resets:
        return None
    value = max(resets)
    if value > 1_000_000_000:
        # Cal.com sends seconds; tolerate a Unix timestamp in case a proxy or version differs.
        value -= time.time()
    return max(0.0, value)


def scrub_secret(error: ProviderError, secret: str) -> None:
    """Belt and braces: a remote message must never echo the API key into our logs or UI."""
    if secret and secret in error.detail:
        error.detail = error.detail.replace(secret, "***")
        error.args = (error.provider, error.status, error.detail)


def remote_message(body_text: str | None) -> str:
    """The provider's own error message: Cal.com `error.message`, Retell `message`, else raw text."""
    if not body_text:
        return ""
    try:
        body = json.loads(body_text)
    except ValueError:
        return _shorten(body_text)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return _shorten(error["message"])
        if isinstance(body.get("message"), str):
            return _shorten(body["message"])
        if isinstance(error, str):
            return _shorten(error)
    return _shorten(body_text)


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _shorten(text: str) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= DETAIL_MAX_CHARS else text[: DETAIL_MAX_CHARS - 1] + "…"

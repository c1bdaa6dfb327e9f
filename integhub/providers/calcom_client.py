"""Cal.com API v2 client (sync, httpx).

Follows ../shared/reference/calcom-api.md: `Authorization: Bearer <key>`, the per-group
`cal-api-version` header (event types 2024-06-14, bookings 2024-08-13, none on me/teams/webhooks),
the `{"status": "success", "data": ...}` envelope, take/skip paging. Every request has a timeout,
every failure becomes an `integhub.providers.errors.ProviderError`.
"""
from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from . import errors
from .errors import MalformedResponse, ProviderError, ProviderTimeout, RateLimited, Unreachable
from .http import RetryPolicy, call_with_retries, shared_ssl_context

log = logging.getLogger(__name__)

PROVIDER = "calcom"
DEFAULT_BASE_URL = "https://api.cal.com"
BASE_URL_ENV = "INTEGHUB_CALCOM_BASE_URL"

EVENT_TYPES_VERSION = "2024-06-14"
BOOKINGS_VERSION = "2024-08-13"

LIST_MAX_TAKE = 250  # spec: take 1..250 on memberships, webhooks and team bookings
PAGES_AHEAD = 2  # booking pages requested ahead of the caller, one after another

# The `triggers` enum of CreateWebhookInputDto (the spec's *example* lists values outside it).
WEBHOOK_TRIGGERS = frozenset({
    "BOOKING_CREATED", "BOOKING_PAYMENT_INITIATED", "BOOKING_PAID", "BOOKING_RESCHEDULED",
    "BOOKING_REQUESTED", "BOOKING_CANCELLED", "BOOKING_REJECTED", "BOOKING_NO_SHOW_UPDATED",
    "FORM_SUBMITTED", "MEETING_ENDED", "MEETING_STARTED", "RECORDING_READY", "INSTANT_MEETING",
    "RECORDING_TRANSCRIPTION_GENERATED", "OOO_CREATED", "AFTER_HOSTS_CAL_VIDEO_NO_SHOW",
    "AFTER_GUESTS_CAL_VIDEO_NO_SHOW", "FORM_SUBMITTED_NO_EVENT", "ROUTING_FORM_FALLBACK_HIT",
    "DELEGATION_CREDENTIAL_ERROR", "WRONG_ASSIGNMENT_REPORT",
})


class CalcomClient:
    """One API key, one connection pool. Use as a context manager or call `close()`."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ValueError("Cal.com API key is empty")
        self._api_key = api_key.strip()
        self.base_url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = float(timeout)
        self.retry = retry or RetryPolicy()
        self.requests_made = 0
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.timeout),
            transport=transport,
            verify=shared_ssl_context(),
            # httpx masks Authorization in Headers.__repr__; we never log headers anyway.
            headers={"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"},
            # A redirect means a wrong base URL; following it could send the key elsewhere.
            follow_redirects=False,
        )

    # --- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CalcomClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CalcomClient(base_url={self.base_url!r}, timeout={self.timeout})"

    # --- endpoints -------------------------------------------------------------------------------
    def me(self) -> dict:
        """GET /v2/me: validates the key and names its owner (`username`, `email`, ...)."""
        return self._get("/v2/me", expect=dict)

    def event_types(self, username: str) -> list[dict]:
        """The user's personal event types (`username` is passed because older server revisions
        return [] without it, even when authenticated)."""
        return self._get("/v2/event-types", params={"username": username},
                         version=EVENT_TYPES_VERSION, expect=list)

    def teams(self) -> list[dict]:
        return self._get("/v2/teams", expect=list)

    def find_team(self, slug: str) -> dict | None:
        """No endpoint filters by slug, so list the teams and match here (slugs are lower-case)."""
        wanted = slug.strip().lower()
        for team in self.teams():
            if str(team.get("slug") or "").lower() == wanted:
                return team
        return None

    def team_event_types(self, team_id: int) -> list[dict]:
        # The spec declares no Authorization here; we send it anyway (hidden events need it).
        return self._get(f"/v2/teams/{int(team_id)}/event-types", version=EVENT_TYPES_VERSION, expect=list)

    def team_memberships(self, team_id: int, page_size: int = 250) -> list[dict]:
        return list(self._iter_take_skip(f"/v2/teams/{int(team_id)}/memberships",
                                         min(max(1, page_size), LIST_MAX_TAKE)))

    def iter_bookings(
        self,
        *,
        after_start: datetime | None = None,
        team_id: int | None = None,
        page_size: int = 100,
    ) -> Iterator[dict]:
        """Personal (GET /v2/bookings) or team (GET /v2/teams/{id}/bookings) bookings, page by page.

        Sorted by creation time ascending: with offset paging, bookings created during the scan
        land behind the cursor instead of shifting items we have not read yet.

        Offset paging says where every later page starts. The first page's `totalItems` tells how
        many pages there are, so those pages are requested back to back on one thread (one request
        in flight at a time, at most PAGES_AHEAD pages ahead of the caller: the key's rate limit sees
        the same requests, only without the pauses in between) while the caller works through the
        pages already here. Each page's own pagination still decides whether to go on: a listing
        that shrank during the scan stops early (pages fetched ahead are dropped), one that grew
        goes on page by page, one request ahead.
        """
        if team_id is None:
            path, take = "/v2/bookings", max(1, page_size)
        else:
            path, take = f"/v2/teams/{int(team_id)}/bookings", min(max(1, page_size), LIST_MAX_TAKE)
        params: dict[str, Any] = {"take": take, "sortCreated": "asc"}
        if after_start is not None:
            params["afterStart"] = _iso_utc(after_start)

        def fetch(skip: int) -> httpx.Response:
            # Only the round trip (with its retries): the page is decoded by the caller, so the
            # next planned request goes out without waiting for this one's JSON to be parsed.
            return self._send("GET", path, params={**params, "skip": skip}, version=BOOKINGS_VERSION)

        def decoded(response: httpx.Response) -> dict:
            return self._decoded(response, path, list)

        skip = 0
        previous_first = None
        ahead: deque[tuple[int, Future]] = deque()  # (skip, its page), in order
        prefetch: ThreadPoolExecutor | None = None
        try:
            body = decoded(fetch(skip))
            planned_end = _total_items(body.get("pagination"))  # pages to plan up to; None: page by page
            planned_next = take
            while True:
                items = body["data"]
                _require_dicts(items, path)
                has_next = _has_next_page(body.get("pagination"), items, take, path)
                previous_first = _refuse_repeated_page(items, previous_first, path)
                if has_next:
                    skip += len(items)
                    if prefetch is None:
                        prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calcom-next-page")
                    while planned_end is not None and len(ahead) < PAGES_AHEAD and planned_next < planned_end:
                        ahead.append((planned_next, prefetch.submit(fetch, planned_next)))
                        planned_next += take
                    if not ahead or ahead[0][0] != skip:
                        # The plan no longer matches the server's answers: go on one page at a time.
                        _drop(ahead)
                        planned_end = None
                        ahead.append((skip, prefetch.submit(fetch, skip)))
                else:
                    _drop(ahead)
                yield from items
                if not has_next:
                    return
                body = decoded(ahead.popleft()[1].result())
        finally:
            if prefetch is not None:
                # A caller that stops early (error, cancel) waits for at most the one request in flight.
                prefetch.shutdown(wait=True, cancel_futures=True)

    def webhooks(self) -> list[dict]:
        return list(self._iter_take_skip("/v2/webhooks", LIST_MAX_TAKE))

    def create_webhook(self, *, subscriber_url: str, triggers: list[str], secret: str, active: bool = True) -> dict:
        _check_triggers(triggers)
        payload = {"subscriberUrl": subscriber_url, "triggers": list(triggers), "active": active, "secret": secret}
        # Not idempotent: retry only a 429, where Cal.com certainly did not create anything.
        return self._request("POST", "/v2/webhooks", json=payload, expect=dict,
                             retry_if=lambda e: isinstance(e, RateLimited))["data"]

    def update_webhook(self, webhook_id: str, *, subscriber_url: str | None = None, triggers: list[str] | None = None,
                       secret: str | None = None, active: bool | None = None) -> dict:
        """PATCH /v2/webhooks/{webhookId} (UpdateWebhookInputDto: every field optional; only the
        given ones are sent). Returns the webhook as Cal.com now has it. Idempotent (the same body
        twice gives the same webhook), so transient failures are retried."""
        payload: dict[str, Any] = {}
        if subscriber_url is not None:
            payload["subscriberUrl"] = subscriber_url
        if triggers is not None:
            _check_triggers(triggers)
            payload["triggers"] = list(triggers)
        if active is not None:
            payload["active"] = bool(active)
        if secret is not None:
            payload["secret"] = secret
        if not payload:
            raise ValueError("nothing to update on the Cal.com webhook")
        return self._request("PATCH", _webhook_path(webhook_id), json=payload, expect=dict)["data"]

    def delete_webhook(self, webhook_id: str) -> dict:
        """DELETE /v2/webhooks/{webhookId}; returns the deleted webhook. A webhook that is already
        gone raises `NotFound` (also when a retried DELETE finds its first attempt succeeded)."""
        return self._request("DELETE", _webhook_path(webhook_id), expect=dict)["data"]

    # --- plumbing --------------------------------------------------------------------------------
    def _iter_take_skip(self, path: str, take: int) -> Iterator[dict]:
        """Lists without pagination metadata: `skip += take` until a page is shorter than `take`."""
        skip = 0
        previous_first = None
        while True:
            items = self._get(path, params={"take": take, "skip": skip}, expect=list)
            _require_dicts(items, path)
            previous_first = _refuse_repeated_page(items, previous_first, path)
            yield from items
            if len(items) < take:
                return
            if len(items) > take:
                # The server ignored `take` and sent everything; asking again would loop forever.
                return
            skip += take

    def _get(self, path: str, *, params: dict | None = None, version: str | None = None, expect: type) -> Any:
        return self._request("GET", path, params=params, version=version, expect=expect)["data"]

    def _request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                 version: str | None = None, expect: type, retry_if=None) -> dict:
        return self._decoded(self._send(method, path, params=params, json=json, version=version, retry_if=retry_if),
                             path, expect)

    def _send(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
              version: str | None = None, retry_if=None) -> httpx.Response:
        """One request under the retry policy: a 2xx response, or the ProviderError of the last attempt."""
        headers = {"cal-api-version": version} if version else None

        def attempt() -> httpx.Response:
            self.requests_made += 1
            try:
                response = self._http.request(method, path, params=params, json=json, headers=headers)
            except httpx.TimeoutException as exc:
                raise ProviderTimeout(PROVIDER, detail=f"no answer within {self.timeout:g}s ({type(exc).__name__})") from exc
            except httpx.TransportError as exc:
                raise Unreachable(PROVIDER, detail=f"{type(exc).__name__} for {self.base_url}") from exc
            if not 200 <= response.status_code < 300:
                raise errors.error_from_status(PROVIDER, response.status_code, response.headers, response.text)
            return response

        try:
            return call_with_retries(attempt, self.retry, retry_if=retry_if)
        except ProviderError as error:
            self._scrub(error)
            raise

    def _decoded(self, response: httpx.Response, path: str, expect: type) -> dict:
        """The `{status: success, data}` envelope of a 2xx response. A body that is not one is not
        transient to a request retry (MalformedResponse); the sync re-reads the whole listing."""
        try:
            body = orjson.loads(response.content)  # 2-3× json's speed on a page of bookings
        except ValueError:
            raise MalformedResponse(PROVIDER, status=response.status_code,
                                    detail=f"{path}: response is not JSON") from None
        if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
            raise MalformedResponse(PROVIDER, status=response.status_code,
                                    detail=f"{path}: missing {{status: success, data}} envelope")
        if not isinstance(body["data"], expect):
            # A dict where a list belongs is what a missing/wrong cal-api-version produces (legacy shape).
            raise MalformedResponse(PROVIDER, status=response.status_code,
                                    detail=f"{path}: data is {type(body['data']).__name__}, expected {expect.__name__}")
        return body

    def _scrub(self, error: ProviderError) -> None:
        errors.scrub_secret(error, self._api_key)


def _check_triggers(triggers: list[str]) -> None:
    unknown = sorted(set(triggers) - WEBHOOK_TRIGGERS)
    if unknown or not triggers:
        raise ValueError(f"unknown or missing Cal.com webhook triggers: {unknown}")


def _webhook_path(webhook_id: str) -> str:
    """`webhookId` is a string path parameter (a UUID in Cal.com's database, calcom-api.md §2.5)."""
    text = str(webhook_id).strip()
    if not text:
        raise ValueError("empty Cal.com webhook id")
    return "/v2/webhooks/" + quote(text, safe="")


def _iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # naive datetimes are taken as UTC
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _total_items(pagination: Any) -> int | None:
    total = pagination.get("totalItems") if isinstance(pagination, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None


def _drop(ahead: deque[tuple[int, Future]]) -> None:
    """Pages fetched ahead that are not wanted: cancel those not yet asked for, forget the rest."""
    while ahead:
        ahead.popleft()[1].cancel()


def _require_dicts(items: list, path: str) -> None:
    if not all(isinstance(item, dict) for item in items):
        raise MalformedResponse(PROVIDER, detail=f"{path}: list items are not objects")


def _refuse_repeated_page(items: list[dict], previous_first: dict | None, path: str) -> dict | None:
    """A server that ignores `skip` would send the same page forever; stop instead of looping."""
    first = items[0] if items else None
    if first is not None and first == previous_first:
        raise MalformedResponse(PROVIDER, detail=f"{path}: the same page came back twice (skip ignored?)")
    return first


def _has_next_page(pagination: Any, items: list, take: int, path: str) -> bool:
    """Decide from the pagination object whether to go on, refusing pages that contradict it."""
    if pagination is None:
        return len(items) >= take  # no metadata: a full page means there may be more
    if not isinstance(pagination, dict):
        raise MalformedResponse(PROVIDER, detail=f"{path}: pagination is not an object")
    has_next = pagination.get("hasNextPage")
    returned = pagination.get("returnedItems")
    if not isinstance(has_next, bool) or (returned is not None and not isinstance(returned, (int, float))):
        raise MalformedResponse(PROVIDER, detail=f"{path}: pagination has wrong types")
    if returned is not None and int(returned) != len(items):
        raise MalformedResponse(PROVIDER, detail=f"{path}: truncated page ({len(items)} of {int(returned)} items)")
    if has_next and not items:
        raise MalformedResponse(PROVIDER, detail=f"{path}: empty page although hasNextPage is true")
    return has_next

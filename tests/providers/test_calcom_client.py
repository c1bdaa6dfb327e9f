"""CalcomClient against the simulator over real HTTP: endpoints, paging, every error class."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from integhub.providers.calcom_client import CalcomClient
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
)
from integhub.providers.http import RetryPolicy

KEY = "cal_test_0123456789abcdef0123456789abcdef"


@pytest.fixture
def client(simulator, fast_retry):
    with CalcomClient(KEY, base_url=simulator.url, timeout=2.0, retry=fast_retry) as c:
        yield c


def calcom_requests(simulator, path=None):
    return [r for r in simulator.requests("calcom") if path is None or r["path"] == path]


# --- endpoints -----------------------------------------------------------------------------------
def test_me_validates_key_and_names_owner(client, simulator):
    me = client.me()
    facts = simulator.facts(KEY)
    assert me["username"] == facts["calcom"]["username"]
    assert me["email"].endswith(f"@praxis-{facts['account'][:6]}.de")
    assert me["timeZone"] == "Europe/Berlin"
    sent = calcom_requests(simulator, "/v2/me")[0]["headers"]
    assert sent["authorization"] == "Bearer REDACTED"
    assert "cal-api-version" not in sent


def test_event_types_send_their_version_and_username(client, simulator):
    username = client.me()["username"]
    types = client.event_types(username)
    assert len(types) == 3 and all(t["title"].endswith("Min") for t in types)
    request = calcom_requests(simulator, "/v2/event-types")[0]
    assert request["headers"]["cal-api-version"] == "2024-06-14"
    assert request["params"] == {"username": username}


def test_teams_and_find_team(client, simulator):
    tag = simulator.facts(KEY)["account"][:6]
    slugs = {t["slug"] for t in client.teams()}
    assert slugs == {f"team-{tag}", "mein-team"}
    assert client.find_team("MEIN-TEAM ")["slug"] == "mein-team"
    assert client.find_team("no-such-team") is None
    assert "cal-api-version" not in calcom_requests(simulator, "/v2/teams")[0]["headers"]


def test_team_event_types(client, simulator):
    team = client.find_team("mein-team")
    types = client.team_event_types(team["id"])
    assert len(types) == 2 and all(t["teamId"] == team["id"] for t in types)
    request = calcom_requests(simulator, f"/v2/teams/{team['id']}/event-types")[0]
    assert request["headers"]["authorization"] == "Bearer REDACTED"  # sent although the spec omits it
    assert request["headers"]["cal-api-version"] == "2024-06-14"


def test_memberships_page_with_take_and_skip(client, simulator):
    simulator.configure(KEY, members=520)
    team = client.find_team("mein-team")
    members = client.team_memberships(team["id"])
    assert len(members) == 520
    assert len({m["user"]["email"] for m in members}) == 520
    pages = [r["params"] for r in calcom_requests(simulator, f"/v2/teams/{team['id']}/memberships")]
    assert pages == [{"take": "250", "skip": "0"}, {"take": "250", "skip": "250"}, {"take": "250", "skip": "500"}]


def test_memberships_exact_multiple_of_page_size(client, simulator):
    simulator.configure(KEY, members=20)
    team = client.find_team("mein-team")
    assert len(client.team_memberships(team["id"], page_size=10)) == 20
    assert len(calcom_requests(simulator, f"/v2/teams/{team['id']}/memberships")) == 3  # last page is empty


def test_personal_bookings_paginate(client, simulator):
    simulator.configure(KEY, bookings=230)
    bookings = list(client.iter_bookings(page_size=100))
    assert len(bookings) == 230 and len({b["uid"] for b in bookings}) == 230
    requests = calcom_requests(simulator, "/v2/bookings")
    assert [r["params"]["skip"] for r in requests] == ["0", "100", "200"]
    assert all(r["headers"]["cal-api-version"] == "2024-08-13" for r in requests)
    assert all(r["params"]["sortCreated"] == "asc" for r in requests)
    created = [b["createdAt"] for b in bookings]
    assert created == sorted(created)


def test_team_bookings_paginate_and_overlap_with_personal(client, simulator):
    simulator.configure(KEY, bookings=200, team_bookings=150)
    team_id = client.teams()[0]["id"]
    team = list(client.iter_bookings(team_id=team_id, page_size=50))
    personal = {b["uid"] for b in client.iter_bookings()}
    assert len(team) == len({b["uid"] for b in team}) > 150
    assert {b["uid"] for b in team} & personal  # the owner's team bookings appear in both lists
    assert all(r["headers"]["cal-api-version"] == "2024-08-13"
               for r in calcom_requests(simulator, f"/v2/teams/{team_id}/bookings"))


def test_team_bookings_page_size_is_capped_at_the_spec_maximum(client, simulator):
    team_id = client.teams()[0]["id"]
    list(client.iter_bookings(team_id=team_id, page_size=1000))
    assert calcom_requests(simulator, f"/v2/teams/{team_id}/bookings")[0]["params"]["take"] == "250"


def test_bookings_after_start(client, simulator):
    simulator.configure(KEY, bookings=300)
    since = datetime.now(timezone.utc) - timedelta(days=10)
    recent = list(client.iter_bookings(after_start=since))
    everything = list(client.iter_bookings())
    expected = [b for b in everything if b["start"] >= since.isoformat(timespec="milliseconds").replace("+00:00", "Z")]
    assert 0 < len(recent) < len(everything)
    assert {b["uid"] for b in recent} == {b["uid"] for b in expected}
    sent = calcom_requests(simulator, "/v2/bookings")[0]["params"]["afterStart"]
    assert sent.endswith("Z") and datetime.fromisoformat(sent.replace("Z", "+00:00")) == since.replace(
        microsecond=since.microsecond // 1000 * 1000)


def test_webhooks_create_and_list(client, simulator):
    hook = client.create_webhook(subscriber_url="https://hub.example/api/calcom/webhook/c1",
                                 triggers=["BOOKING_CREATED", "BOOKING_CANCELLED"], secret="whsec-123")
    assert isinstance(hook["id"], str) and len(hook["id"]) == 36
    assert client.webhooks() == [hook]
    registered = simulator.webhooks()["calcom"]
    assert registered[0]["subscriberUrl"] == "https://hub.example/api/calcom/webhook/c1"
    body = calcom_requests(simulator, "/v2/webhooks")[0]["body"]
    assert body["secret"] == "REDACTED" and body["active"] is True


def test_webhook_triggers_outside_the_enum_are_refused_before_sending(client, simulator):
    with pytest.raises(ValueError):
        client.create_webhook(subscriber_url="https://x", triggers=["BOOKING_CONFIRMED"], secret="s")
    with pytest.raises(ValueError):
        client.update_webhook("wh_1", triggers=["BOOKING_COMPLETED"])
    with pytest.raises(ValueError):
        client.update_webhook("wh_1")  # an empty PATCH would change nothing
    with pytest.raises(ValueError):
        client.delete_webhook(" ")
    assert calcom_requests(simulator) == []


def test_webhook_update_sends_only_the_given_fields(client, simulator):
    hook = client.create_webhook(subscriber_url="https://hub.example/api/calcom/webhook/c1",
                                 triggers=["BOOKING_CREATED"], secret="whsec-old", active=False)
    updated = client.update_webhook(hook["id"], secret="whsec-new", active=True,
                                    triggers=["BOOKING_CREATED", "BOOKING_CANCELLED"])
    assert updated["id"] == hook["id"] and updated["active"] is True
    assert updated["triggers"] == ["BOOKING_CREATED", "BOOKING_CANCELLED"]
    assert updated["subscriberUrl"] == hook["subscriberUrl"]  # not sent, so unchanged
    [stored] = simulator.webhooks()["calcom"]
    assert stored["secret"] == "whsec-new"
    [patch] = [r for r in calcom_requests(simulator) if r["method"] == "PATCH"]
    assert patch["path"] == f"/v2/webhooks/{hook['id']}"
    assert patch["body"] == {"triggers": ["BOOKING_CREATED", "BOOKING_CANCELLED"], "active": True,
                             "secret": "REDACTED"}
    assert "cal-api-version" not in patch["headers"]


def test_webhook_delete_removes_it_and_a_second_delete_is_not_found(client, simulator):
    keep = client.create_webhook(subscriber_url="https://hub.example/a", triggers=["BOOKING_CREATED"], secret="s1")
    gone = client.create_webhook(subscriber_url="https://hub.example/b", triggers=["BOOKING_CREATED"], secret="s2")
    deleted = client.delete_webhook(gone["id"])
    assert deleted["id"] == gone["id"]
    assert [h["id"] for h in client.webhooks()] == [keep["id"]]
    with pytest.raises(NotFound):
        client.delete_webhook(gone["id"])
    with pytest.raises(NotFound):
        client.update_webhook(gone["id"], active=False)


def test_someone_elses_webhook_is_forbidden(client, simulator):
    with CalcomClient("cal_live_someone_else_000000000000", base_url=simulator.url) as other:
        theirs = other.create_webhook(subscriber_url="https://elsewhere/x", triggers=["BOOKING_CREATED"], secret="s")
    with pytest.raises(Forbidden):
        client.delete_webhook(theirs["id"])
    with pytest.raises(Forbidden):
        client.update_webhook(theirs["id"], secret="hijack")
    assert simulator.webhooks()["calcom"][0]["secret"] == "s"


def test_webhook_update_and_delete_are_retried_after_a_server_error(client, simulator):
    hook = client.create_webhook(subscriber_url="https://x/y", triggers=["BOOKING_CREATED"], secret="s")
    simulator.fault(provider="calcom", path_prefix="/v2/webhooks/", method="PATCH", kind="status", status=502, count=1)
    assert client.update_webhook(hook["id"], secret="t")["id"] == hook["id"]  # the same body twice is harmless
    simulator.fault(provider="calcom", path_prefix="/v2/webhooks/", method="DELETE", kind="status", status=503, count=1)
    client.delete_webhook(hook["id"])
    assert simulator.webhooks()["calcom"] == []
    assert [r["status"] for r in calcom_requests(simulator) if r["method"] in ("PATCH", "DELETE")] == [502, 200, 503, 200]


def test_base_url_from_environment(simulator, monkeypatch):
    monkeypatch.setenv("INTEGHUB_CALCOM_BASE_URL", simulator.url + "/")
    with CalcomClient(KEY) as client:
        assert client.base_url == simulator.url
        assert client.me()["username"]


def test_requests_made_counts_attempts(client, simulator):
    simulator.fault(provider="calcom", kind="status", status=502, count=1)
    client.me()
    client.teams()
    assert client.requests_made == 3 == len(calcom_requests(simulator))


# --- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["cal_invalid_key", "not_a_cal_key", "cal_revoked"])
def test_rejected_keys(simulator, fast_retry, key):
    if key == "cal_revoked":
        simulator.revoke(key)
    with CalcomClient(key, base_url=simulator.url, retry=fast_retry) as client:
        with pytest.raises(InvalidCredentials) as caught:
            client.me()
    assert caught.value.status == 401
    assert client.requests_made == 1  # never retried
    assert caught.value.detail in ("Your api key is not valid", "Invalid Access Token.")
    assert "abgelehnt (401)" in caught.value.message("de")


@pytest.mark.parametrize(("status", "cls"), [(403, Forbidden), (404, NotFound), (400, BadRequest), (422, BadRequest)])
def test_permanent_status_faults(client, simulator, status, cls):
    simulator.fault(provider="calcom", kind="status", status=status, count=1)
    with pytest.raises(cls) as caught:
        client.me()
    assert caught.value.status == status and client.requests_made == 1


def test_server_errors_are_retried_until_success(client, simulator):
    simulator.fault(provider="calcom", path_prefix="/v2/me", kind="status", status=503, count=2)
    assert client.me()["username"]
    statuses = [r["status"] for r in calcom_requests(simulator)]
    assert statuses == [503, 503, 200]


def test_server_errors_give_up_after_max_attempts(client, simulator):
    simulator.fault(provider="calcom", kind="status", status=500)
    with pytest.raises(ProviderServerError) as caught:
        client.me()
    assert client.requests_made == 3 and caught.value.status == 500
    assert caught.value.detail == "Internal server error"


def test_rate_limit_waits_for_the_reset_header(simulator):
    simulator.fault(provider="calcom", kind="rate_limit", reset_seconds=0.4, count=1)
    with CalcomClient(KEY, base_url=simulator.url, retry=RetryPolicy(max_delay=0.01)) as client:
        started = time.monotonic()
        assert client.me()
        elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 0.9  # waited the hint, not the (tiny) backoff
    first = calcom_requests(simulator)[0]
    assert first["status"] == 429


def test_rate_limit_longer_than_the_budget_is_reported_at_once(client, simulator):
    simulator.fault(provider="calcom", kind="rate_limit", reset_seconds=60, count=1)
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        client.me()
    assert time.monotonic() - started < 0.5
    assert caught.value.retry_after == 60 and client.requests_made == 1
    assert "60 Sekunden" in caught.value.message("de")


def test_hang_times_out(simulator):
    simulator.fault(provider="calcom", kind="hang", hang_seconds=1.5)
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01, max_total=5)
    with CalcomClient(KEY, base_url=simulator.url, timeout=0.3, retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(ProviderTimeout):
            client.me()
        elapsed = time.monotonic() - started
    assert client.requests_made == 2
    assert 0.6 <= elapsed < 1.2


def test_latency_below_the_timeout_is_fine(simulator):
    simulator.fault(provider="calcom", kind="latency", latency_ms=150)
    with CalcomClient(KEY, base_url=simulator.url, timeout=1.0) as client:
        started = time.monotonic()
        client.me()
        assert 0.15 <= time.monotonic() - started < 0.8


def test_unreachable(closed_port_url, fast_retry):
    with CalcomClient(KEY, base_url=closed_port_url, timeout=1.0, retry=fast_retry) as client:
        with pytest.raises(Unreachable) as caught:
            client.me()
    assert client.requests_made == 3  # transient: retried
    assert caught.value.transient and "nicht erreichbar" in caught.value.message("de")


def test_retries_are_bounded_by_total_time(simulator):
    simulator.fault(provider="calcom", kind="status", status=503, retry_after=0.3)
    policy = RetryPolicy(max_attempts=50, base_delay=0.01, max_delay=0.01, max_total=1.0)
    with CalcomClient(KEY, base_url=simulator.url, retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(ProviderServerError):
            client.me()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 0.3
    assert 3 <= client.requests_made <= 4  # 0 s, 0.3 s, 0.6 s, 0.9 s; the next wait would overrun


@pytest.mark.parametrize("variant", ["invalid_json", "html", "no_envelope", "wrong_type"])
def test_malformed_responses(client, simulator, variant):
    simulator.fault(provider="calcom", kind="malformed", variant=variant, count=1)
    with pytest.raises(MalformedResponse):
        client.teams()
    assert client.requests_made == 1  # a broken answer is not retried


def test_missing_envelope_on_an_object_endpoint(client, simulator):
    simulator.fault(provider="calcom", path_prefix="/v2/me", kind="malformed", variant="no_envelope", count=1)
    with pytest.raises(MalformedResponse):
        client.me()


def test_next_booking_page_is_requested_while_the_caller_works_through_this_one(client, simulator):
    simulator.configure(KEY, bookings=300)
    simulator.fault(provider="calcom", path_prefix="/v2/bookings", kind="latency", latency_ms=200)
    started = time.monotonic()
    for _booking in client.iter_bookings(page_size=100):
        time.sleep(0.002)  # 200 ms of work per page, as long as a request takes
    elapsed = time.monotonic() - started
    # Strictly one after the other: 3 × 200 ms requests + 3 × 200 ms work = 1.2 s.
    assert elapsed < 1.0
    assert [r["params"]["skip"] for r in calcom_requests(simulator, "/v2/bookings")] == ["0", "100", "200"]


def test_planned_pages_are_fetched_back_to_back_but_never_more_than_two_ahead(client, simulator):
    simulator.configure(KEY, bookings=1000)
    simulator.fault(provider="calcom", path_prefix="/v2/bookings", kind="latency", latency_ms=100)
    bookings = client.iter_bookings(page_size=100)
    next(bookings)
    time.sleep(0.6)  # the caller is busy with the first page; the next two pages come meanwhile
    assert [r["params"]["skip"] for r in calcom_requests(simulator, "/v2/bookings")] == ["0", "100", "200"]
    assert len({b["uid"] for b in bookings}) == 999
    skips = [int(r["params"]["skip"]) for r in calcom_requests(simulator, "/v2/bookings")]
    assert skips == list(range(0, 1000, 100))  # each page once, none beyond the total


def test_a_caller_stopping_early_leaves_at_most_two_requests_ahead(client, simulator):
    simulator.configure(KEY, bookings=1000)
    bookings = client.iter_bookings(page_size=100)
    first = [next(bookings) for _ in range(150)]
    bookings.close()
    assert len({b["uid"] for b in first}) == 150
    time.sleep(0.2)
    # Pages ahead may have been cancelled before they went out; nothing beyond them is ever asked for.
    skips = [int(r["params"]["skip"]) for r in calcom_requests(simulator, "/v2/bookings")]
    assert skips[:2] == [0, 100] and skips == sorted(skips) and max(skips) <= 300


def _paged(pages: dict[int, tuple[int, int]]):
    """A Cal.com double serving `pages[skip] = (items on the page, totalItems said with it)`."""
    requested: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        skip, take = int(request.url.params["skip"]), int(request.url.params["take"])
        requested.append(skip)
        count, total = pages.get(skip, (0, skip))
        return httpx.Response(200, json={"status": "success", "data": [{"uid": f"b{skip + i}"} for i in range(count)],
                                         "pagination": {"totalItems": total, "returnedItems": count,
                                                        "hasNextPage": skip + take < total}})

    return handler, requested


def test_a_listing_that_grows_during_the_scan_is_read_to_its_new_end():
    handler, requested = _paged({0: (2, 4), 2: (2, 6), 4: (2, 6)})  # two more bookings arrived meanwhile
    with CalcomClient(KEY, base_url="http://calcom.test", transport=httpx.MockTransport(handler)) as client:
        uids = [b["uid"] for b in client.iter_bookings(page_size=2)]
    assert uids == [f"b{i}" for i in range(6)]
    assert requested == [0, 2, 4]


def test_a_listing_that_shrinks_during_the_scan_stops_where_the_server_says():
    handler, requested = _paged({0: (2, 8), 2: (2, 4)})  # planned four pages; the second says it is the last
    with CalcomClient(KEY, base_url="http://calcom.test", transport=httpx.MockTransport(handler)) as client:
        uids = [b["uid"] for b in client.iter_bookings(page_size=2)]
    assert uids == ["b0", "b1", "b2", "b3"]  # pages fetched ahead are dropped, not yielded
    assert requested[:2] == [0, 2] and set(requested) <= {0, 2, 4, 6}


def test_truncated_booking_page(client, simulator):
    simulator.configure(KEY, bookings=250)
    simulator.fault(provider="calcom", path_prefix="/v2/bookings", kind="truncated", count=1)
    with pytest.raises(MalformedResponse) as caught:
        list(client.iter_bookings())
    assert "truncated" in caught.value.detail


def test_inconsistent_pagination_is_refused():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "success", "data": [],
                                         "pagination": {"returnedItems": 0, "hasNextPage": True}})

    with CalcomClient(KEY, base_url="http://calcom.test", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(MalformedResponse) as caught:
            list(client.iter_bookings())
    assert "hasNextPage" in caught.value.detail


def test_bookings_without_pagination_object_page_until_short():
    pages = {0: [{"uid": str(i)} for i in range(3)], 3: [{"uid": "3"}]}

    def handler(request: httpx.Request) -> httpx.Response:
        skip = int(request.url.params["skip"])
        return httpx.Response(200, json={"status": "success", "data": pages.get(skip, [])})

    with CalcomClient(KEY, base_url="http://calcom.test", transport=httpx.MockTransport(handler)) as client:
        assert [b["uid"] for b in client.iter_bookings(page_size=3)] == ["0", "1", "2", "3"]


def test_redirect_is_not_followed():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "https://elsewhere.example/v2/me"})

    with CalcomClient(KEY, base_url="http://calcom.test", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(MalformedResponse):
            client.me()


def test_webhook_creation_is_not_retried_after_a_server_error(client, simulator):
    simulator.fault(provider="calcom", path_prefix="/v2/webhooks", kind="status", status=502, count=1)
    with pytest.raises(ProviderServerError):
        client.create_webhook(subscriber_url="https://x/y", triggers=["BOOKING_CREATED"], secret="s")
    assert client.requests_made == 1  # Cal.com may have created it; a retry could duplicate it


def test_webhook_creation_is_retried_after_a_rate_limit(client, simulator):
    simulator.fault(provider="calcom", path_prefix="/v2/webhooks", kind="rate_limit", reset_seconds=0.05, count=1)
    client.create_webhook(subscriber_url="https://x/y", triggers=["BOOKING_CREATED"], secret="s")
    assert client.requests_made == 2 and len(simulator.webhooks()["calcom"]) == 1


# --- secrets -------------------------------------------------------------------------------------
def test_key_never_appears_in_errors_reprs_or_logs(simulator, fast_retry, caplog, closed_port_url):
    caplog.set_level(logging.DEBUG)
    secret = "cal_live_supersecret0000000000000000"
    raised: list[ProviderError] = []
    with CalcomClient(secret, base_url=simulator.url, timeout=0.3, retry=fast_retry) as client:
        assert secret not in repr(client) and secret not in str(client)
        for spec in ({"kind": "status", "status": 500}, {"kind": "status", "status": 403},
                     {"kind": "rate_limit", "reset_seconds": 100}, {"kind": "malformed"},
                     {"kind": "hang", "hang_seconds": 1}):
            simulator.clear_faults()
            simulator.fault(provider="calcom", **spec)
            with pytest.raises(ProviderError) as caught:
                client.me()
            raised.append(caught.value)
    simulator.clear_faults()
    simulator.revoke(secret)
    with CalcomClient(secret, base_url=simulator.url, retry=fast_retry) as client, pytest.raises(ProviderError) as caught:
        client.me()
    raised.append(caught.value)
    with CalcomClient(secret, base_url=closed_port_url, retry=fast_retry) as client, pytest.raises(ProviderError) as caught:
        client.me()
    raised.append(caught.value)
    assert {type(e) for e in raised} >= {ProviderServerError, Forbidden, RateLimited, MalformedResponse,
                                         ProviderTimeout, InvalidCredentials, Unreachable}
    for error in raised:
        for text in (str(error), repr(error), error.message("de"), error.message("en"), str(error.args)):
            assert secret not in text
    assert secret not in caplog.text
    assert all(secret not in str(r) for r in simulator.requests())


def test_remote_message_echoing_the_key_is_scrubbed():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"status": "error", "error": {"code": "BadRequestException",
                                                                      "message": f"bad key {KEY}"}})

    with CalcomClient(KEY, base_url="http://calcom.test", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(BadRequest) as caught:
            client.me()
    assert KEY not in str(caught.value) and "***" in caught.value.detail


def test_empty_key_is_refused():
    with pytest.raises(ValueError):
        CalcomClient("  ")


def test_a_server_ignoring_skip_does_not_loop_forever():
    def handler(request: httpx.Request) -> httpx.Response:
        page = [{"id": i, "user": {"email": f"u{i}@x.de"}} for i in range(int(request.url.params["take"]))]
        return httpx.Response(200, json={"status": "success", "data": page})

    with CalcomClient(KEY, base_url="http://calcom.test", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(MalformedResponse) as caught:
            client.team_memberships(1, page_size=10)
    assert "same page" in caught.value.detail and client.requests_made == 2


def test_clients_share_one_tls_context(monkeypatch):
    from integhub.providers import http as provider_http

    provider_http.shared_ssl_context()
    monkeypatch.setattr(httpx, "create_ssl_context", lambda *a, **k: pytest.fail("TLS context rebuilt"))
    with CalcomClient(KEY), CalcomClient(KEY):
        pass

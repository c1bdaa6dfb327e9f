"""RetellClient (official SDK underneath) against the simulator over real HTTP."""
from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest

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
from integhub.providers.retell_client import RetellClient

KEY = "key_test_5f1c0e9a7b3d4c2e"
DAY_MS = 86_400_000


@pytest.fixture
def client(simulator, fast_retry):
    with RetellClient(KEY, base_url=simulator.url, timeout=2.0, retry=fast_retry) as c:
        yield c


def retell_requests(simulator, path=None):
    return [r for r in simulator.requests("retell") if path is None or r["path"] == path]


# --- endpoints -----------------------------------------------------------------------------------
def test_api_key_info(client, simulator):
    info = client.api_key_info()
    assert info["org_id"].startswith("org_") and info["org_name"].startswith("Praxis ")
    request = retell_requests(simulator, "/get-api-key-info")[0]
    assert request["method"] == "GET" and request["headers"]["authorization"] == "Bearer REDACTED"


def test_sdk_retries_are_off_and_our_timeout_is_sent(client, simulator):
    list(client.iter_calls())
    client.agents()
    for request in retell_requests(simulator):
        assert request["headers"]["x-stainless-retry-count"] == "0"
        # list-calls would get 300 s from the SDK unless we pass the timeout explicitly
        assert float(request["headers"]["x-stainless-read-timeout"]) == 2.0


def test_agents_paginate(client, simulator):
    simulator.configure(KEY, agents=30)
    agents = client.agents(page_size=7)
    assert len(agents) == 30 and len({a["agent_id"] for a in agents}) == 30
    requests = retell_requests(simulator, "/v2/list-agents")
    assert len(requests) == 5 and all(r["method"] == "POST" for r in requests)
    assert "pagination_key" not in requests[0]["params"]
    assert all("pagination_key" in r["params"] for r in requests[1:])


def test_default_agents_and_numbers(client, simulator):
    agents = client.agents()
    numbers = client.phone_numbers()
    assert len(agents) == 2 and len(numbers) == 2
    assert all(n["phone_number"].startswith("+4930") for n in numbers)
    assert {n["inbound_agents"][0]["agent_id"] for n in numbers} <= {a["agent_id"] for a in agents}


def test_phone_numbers_paginate(client, simulator):
    simulator.configure(KEY, phone_numbers=11)
    numbers = client.phone_numbers(page_size=5)
    assert len({n["phone_number"] for n in numbers}) == 11
    assert [r["method"] for r in retell_requests(simulator, "/v2/list-phone-numbers")] == ["GET"] * 3


def test_calls_paginate_oldest_first(client, simulator):
    simulator.configure(KEY, calls=2500)
    calls = list(client.iter_calls(page_size=1000))
    assert len(calls) == 2500 and len({c["call_id"] for c in calls}) == 2500
    starts = [c["start_timestamp"] for c in calls]
    assert starts == sorted(starts)
    bodies = [r["body"] for r in retell_requests(simulator, "/v3/list-calls")]
    assert len(bodies) == 3
    assert all(b["sort_order"] == "ascending" and b["limit"] == 1000 for b in bodies)
    assert "filter_criteria" not in bodies[0]


def test_next_call_page_is_requested_while_the_caller_works_through_this_one(client, simulator):
    simulator.configure(KEY, calls=300)
    simulator.fault(provider="retell", path_prefix="/v3/list-calls", kind="latency", latency_ms=200)
    started = time.monotonic()
    for _call in client.iter_calls(page_size=100):
        time.sleep(0.002)  # 200 ms of work per page, as long as a request takes
    # Strictly one after the other: 3 × 200 ms requests + 3 × 200 ms work = 1.2 s.
    assert time.monotonic() - started < 1.0
    keys = [r["body"].get("pagination_key") for r in retell_requests(simulator, "/v3/list-calls")]
    assert len(keys) == 3 and keys[0] is None and len(set(keys)) == 3


def test_call_pages_are_requested_back_to_back_but_never_more_than_two_ahead(client, simulator):
    simulator.configure(KEY, calls=1000)
    simulator.fault(provider="retell", path_prefix="/v3/list-calls", kind="latency", latency_ms=100)
    calls = client.iter_calls(page_size=100)
    next(calls)
    time.sleep(0.6)  # the caller is busy with the first page; the next two pages come meanwhile, no more
    assert len(retell_requests(simulator, "/v3/list-calls")) == 3
    assert len({c["call_id"] for c in calls}) == 999
    keys = [r["body"].get("pagination_key") for r in retell_requests(simulator, "/v3/list-calls")]
    assert len(keys) == 10 and len(set(keys)) == 10  # each page once


def test_a_caller_stopping_early_leaves_no_call_page_reader_behind(client, simulator):
    simulator.configure(KEY, calls=1000)
    simulator.fault(provider="retell", path_prefix="/v3/list-calls", kind="latency", latency_ms=50)
    calls = client.iter_calls(page_size=100)
    first = [next(calls) for _ in range(150)]
    calls.close()  # waits for the one request in flight
    assert len({c["call_id"] for c in first}) == 150
    asked = len(retell_requests(simulator, "/v3/list-calls"))
    assert asked <= 4
    time.sleep(0.3)
    assert len(retell_requests(simulator, "/v3/list-calls")) == asked  # nothing more goes out afterwards
    assert not [t for t in threading.enumerate() if t.name == "retell-next-page"]


def test_a_malformed_later_page_reaches_the_caller_after_the_good_ones(client, simulator):
    simulator.configure(KEY, calls=300)
    simulator.fault(provider="retell", path_prefix="/v3/list-calls", kind="malformed", variant="html", count=1,
                    skip=1)
    seen = []
    with pytest.raises(MalformedResponse):
        for call in client.iter_calls(page_size=100):
            seen.append(call["call_id"])
    assert len(seen) == 100


def test_calls_since_a_timestamp(client, simulator):
    simulator.configure(KEY, calls=300)
    everything = list(client.iter_calls())
    since = everything[200]["start_timestamp"]
    recent = list(client.iter_calls(start_after_ms=since, page_size=40))
    assert [c["call_id"] for c in recent] == [c["call_id"] for c in everything[200:]]
    body = retell_requests(simulator, "/v3/list-calls")[-1]["body"]
    window = body["filter_criteria"]["start_timestamp"]
    assert window["op"] == "bt" and window["type"] == "range" and window["value"][0] == since
    assert abs(window["value"][1] - time.time() * 1000) < 60_000
    # "now" is frozen for the whole scan, so every page asks the same window
    windows = {tuple(r["body"]["filter_criteria"]["start_timestamp"]["value"])
               for r in retell_requests(simulator, "/v3/list-calls")[1:]}
    assert len(windows) == 1


def test_call_shapes(client):
    calls = list(client.iter_calls())
    assert len(calls) == 15
    for call in calls:
        assert call["call_type"] in ("phone_call", "web_call")
        assert isinstance(call["start_timestamp"], int) and call["start_timestamp"] > 1_600_000_000_000
        if call["call_type"] == "phone_call":
            assert call["from_number"].startswith("+49") and call["direction"] in ("inbound", "outbound")


def test_get_and_update_agent_webhook(client, simulator):
    agent_id = client.agents()[0]["agent_id"]
    updated = client.update_agent(agent_id, webhook_url="https://hub.example/api/retell/webhook",
                                  webhook_events=["call_started", "call_ended", "call_analyzed"])
    assert updated["webhook_url"] == "https://hub.example/api/retell/webhook"
    assert client.get_agent(agent_id)["webhook_url"] == "https://hub.example/api/retell/webhook"
    request = retell_requests(simulator, f"/update-agent/{agent_id}")[0]
    assert request["method"] == "PATCH" and request["body"]["webhook_url"].endswith("/api/retell/webhook")
    assert simulator.webhooks()["retell"][0]["agent_id"] == agent_id
    client.update_agent(agent_id, webhook_url=None)
    assert client.get_agent(agent_id).get("webhook_url") is None


def test_base_url_from_environment(simulator, monkeypatch):
    monkeypatch.setenv("INTEGHUB_RETELL_BASE_URL", simulator.url)
    with RetellClient(KEY) as client:
        assert client.base_url == simulator.url
        assert client.api_key_info()["org_id"]


def test_caller_supplied_http_client_stays_open(simulator):
    http = httpx.Client()
    client = RetellClient(KEY, base_url=simulator.url, http_client=http)
    client.api_key_info()
    client.close()
    assert not http.is_closed
    http.close()


# --- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["key_invalid", "revoked_key"])
def test_rejected_keys(simulator, fast_retry, key):
    if key == "revoked_key":
        simulator.revoke(key)
    with RetellClient(key, base_url=simulator.url, retry=fast_retry) as client:
        with pytest.raises(InvalidCredentials) as caught:
            client.api_key_info()
    assert caught.value.status == 401 and client.requests_made == 1
    assert caught.value.detail == "API key is missing or invalid."
    assert caught.value.message("en") == "Retell.ai rejected the API key (401)."


def test_unknown_agent_is_not_found(client):
    with pytest.raises(NotFound) as caught:
        client.get_agent("agent_does_not_exist")
    assert caught.value.status == 422 and "Cannot find requested asset" in caught.value.detail
    with pytest.raises(NotFound):
        client.update_agent("agent_does_not_exist", webhook_url="https://x")


@pytest.mark.parametrize(("status", "cls"), [(403, Forbidden), (404, NotFound), (400, BadRequest), (402, BadRequest)])
def test_permanent_status_faults(client, simulator, status, cls):
    simulator.fault(provider="retell", kind="status", status=status, count=1)
    with pytest.raises(cls) as caught:
        client.agents()
    assert caught.value.status == status and client.requests_made == 1


def test_server_errors_are_retried_until_success(client, simulator):
    simulator.fault(provider="retell", kind="status", status=500, count=2)
    assert len(client.agents()) == 2
    assert [r["status"] for r in retell_requests(simulator)] == [500, 500, 200]


def test_server_errors_give_up(client, simulator):
    simulator.fault(provider="retell", kind="status", status=502)
    with pytest.raises(ProviderServerError):
        client.api_key_info()
    assert client.requests_made == 3


def test_rate_limit_honours_retry_after(simulator):
    simulator.fault(provider="retell", kind="rate_limit", retry_after=0.4, count=1)
    with RetellClient(KEY, base_url=simulator.url, retry=RetryPolicy(max_delay=0.01)) as client:
        started = time.monotonic()
        client.api_key_info()
        elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 0.9
    assert client.requests_made == 2


def test_rate_limit_without_hint_uses_backoff(client, simulator):
    simulator.fault(provider="retell", kind="rate_limit")
    with pytest.raises(RateLimited) as caught:
        client.api_key_info()
    assert caught.value.retry_after is None and client.requests_made == 3


def test_hang_times_out(simulator):
    simulator.fault(provider="retell", kind="hang", hang_seconds=1.5)
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01)
    with RetellClient(KEY, base_url=simulator.url, timeout=0.3, retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(ProviderTimeout):
            list(client.iter_calls())
        elapsed = time.monotonic() - started
    assert client.requests_made == 2 and 0.6 <= elapsed < 1.2


def test_unreachable(closed_port_url, fast_retry):
    with RetellClient(KEY, base_url=closed_port_url, timeout=1.0, retry=fast_retry) as client:
        with pytest.raises(Unreachable):
            client.api_key_info()
    assert client.requests_made == 3


@pytest.mark.parametrize("variant", ["invalid_json", "html", "no_envelope", "wrong_type"])
@pytest.mark.parametrize("call", ["api_key_info", "agents", "phone_numbers", "calls", "get_agent"])
def test_malformed_responses(client, simulator, variant, call):
    agent_id = client.agents()[0]["agent_id"]
    simulator.fault(provider="retell", kind="malformed", variant=variant, count=1)
    actions = {
        "api_key_info": client.api_key_info, "agents": client.agents, "phone_numbers": client.phone_numbers,
        "calls": lambda: list(client.iter_calls()), "get_agent": lambda: client.get_agent(agent_id),
    }
    before = client.requests_made
    with pytest.raises(MalformedResponse):
        actions[call]()
    assert client.requests_made == before + 1


def test_truncated_page(client, simulator):
    simulator.configure(KEY, calls=30)
    simulator.fault(provider="retell", path_prefix="/v3/list-calls", kind="truncated", count=1)
    with pytest.raises(MalformedResponse) as caught:
        list(client.iter_calls(page_size=10))
    assert "pagination_key" in caught.value.detail


def test_repeating_pagination_key_is_refused():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [{"agent_id": "agent_1", "agent_name": "a", "channel": "voice",
                                                    "is_suspended": False, "tags": {}, "user_modified_timestamp": 1}],
                                         "has_more": True, "pagination_key": "same"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with RetellClient(KEY, base_url="http://retell.test", http_client=http) as client:
        with pytest.raises(MalformedResponse):
            client.agents()
    http.close()


# --- secrets -------------------------------------------------------------------------------------
def test_key_never_appears_in_errors_reprs_or_logs(simulator, fast_retry, caplog, closed_port_url):
    caplog.set_level(logging.DEBUG)
    secret = "key_live_verysecret_abcdef123456"
    raised: list[ProviderError] = []
    with RetellClient(secret, base_url=simulator.url, timeout=0.3, retry=fast_retry) as client:
        assert secret not in repr(client) and secret not in str(client)
        for spec in ({"kind": "status", "status": 500}, {"kind": "status", "status": 403},
                     {"kind": "status", "status": 422}, {"kind": "rate_limit", "reset_seconds": 100},
                     {"kind": "malformed"}, {"kind": "hang", "hang_seconds": 1}):
            simulator.clear_faults()
            simulator.fault(provider="retell", **spec)
            with pytest.raises(ProviderError) as caught:
                client.api_key_info()
            raised.append(caught.value)
    simulator.clear_faults()
    simulator.revoke(secret)
    with RetellClient(secret, base_url=simulator.url, retry=fast_retry) as client, pytest.raises(ProviderError) as caught:
        client.api_key_info()
    raised.append(caught.value)
    with RetellClient(secret, base_url=closed_port_url, retry=fast_retry) as client, pytest.raises(ProviderError) as caught:
        client.api_key_info()
    raised.append(caught.value)
    assert {type(e) for e in raised} >= {ProviderServerError, Forbidden, NotFound, RateLimited, MalformedResponse,
                                         ProviderTimeout, InvalidCredentials, Unreachable}
    for error in raised:
        for text in (str(error), repr(error), error.message("de"), error.message("en"), str(error.args)):
            assert secret not in text
    assert secret not in caplog.text
    assert all(secret not in str(r) for r in simulator.requests())


def test_empty_key_is_refused():
    with pytest.raises(ValueError):
        RetellClient("")


def test_redirect_is_not_followed():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/get-api-key-info"})

    http = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=False)
    with RetellClient(KEY, base_url="http://retell.test", http_client=http) as client:
        with pytest.raises(MalformedResponse) as caught:
            client.api_key_info()
    assert caught.value.status == 302
    http.close()


def test_clients_share_one_tls_context(monkeypatch):
    # Building a TLS context loads the CA bundle (~20 ms); status checks build fresh clients.
    from integhub.providers import http as provider_http

    provider_http.shared_ssl_context()
    monkeypatch.setattr(httpx, "create_ssl_context", lambda *a, **k: pytest.fail("TLS context rebuilt"))
    with RetellClient(KEY), RetellClient(KEY):
        pass

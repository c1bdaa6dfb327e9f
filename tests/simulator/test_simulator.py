"""The provider simulator on its own: data, auth rules, real error bodies, faults, control API."""
from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import httpx
import pytest

from integhub.simulator import SimulatorServer, SimulatorState, create_app, run
from integhub.simulator.data import DAY_MS, FIRST_NAMES, LAST_NAMES, Account, account_id

CAL = "cal_test_simulator000000000000000000"
RETELL = "key_simulator_1"


@pytest.fixture
def sim(simulator):
    """The shared session simulator (tests/conftest.py), reset for this test."""
    return simulator


@pytest.fixture
def http(sim):
    with httpx.Client(base_url=sim.url, timeout=5.0) as client:
        yield client


def cal(http, path, key=CAL, version=None, **params):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if version:
        headers["cal-api-version"] = version
    return http.get(path, params=params, headers=headers)


def ret(http, method, path, key=RETELL, **kwargs):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return http.request(method, path, headers=headers, **kwargs)


# --- deterministic data ------------------------------------------------------------------------
def test_same_key_same_data_other_key_other_data():
    now = time.time()
    a, b, other = Account(CAL, now=now), Account(CAL, now=now), Account("cal_other", now=now)
    assert a.me() == b.me() and a.booking_json(a.own_bookings[5]) == b.booking_json(b.own_bookings[5])
    assert a.call_json(3) == b.call_json(3) and a.agent_json(1) == b.agent_json(1)
    assert a.me() != other.me() and a.own_bookings[0].id != other.own_bookings[0].id


def test_default_account_is_a_small_german_practice():
    account = Account(CAL)
    tag = account.tag
    owner = account.owner
    assert owner.first in FIRST_NAMES and owner.last in LAST_NAMES
    assert owner.email.endswith(f"@praxis-{tag}.de") and owner.email == owner.email.lower()
    assert account.me()["timeZone"] == "Europe/Berlin"
    titles = [account.event_type_json(k)["title"] for k in account.personal_event_type_indexes()]
    assert titles == ["Erstberatung 30 Min", "Folgetermin 15 Min", "Kontrolltermin 45 Min"]
    assert [t["slug"] for t in account.teams] == [f"team-{tag}", "mein-team"]
    assert account.counts["members"] == 2 and len(account.own_bookings) == 12
    now = account.now_ms
    for row in account.own_bookings:
        assert now - 61 * DAY_MS <= row.start_ms <= now + 31 * DAY_MS
        local = datetime.fromtimestamp(row.start_ms / 1000, tz=timezone.utc).astimezone(
            __import__("zoneinfo").ZoneInfo("Europe/Berlin"))
        assert 8 <= local.hour < 18  # office hours in Berlin
    assert any(r.start_ms < now for r in account.own_bookings) and any(r.start_ms > now for r in account.own_bookings)
    calls = [account.call_json(i) for i in range(account.counts["calls"])]
    assert len(calls) == 15 and all(now - 61 * DAY_MS <= c["start_timestamp"] <= now for c in calls)
    assert len({account.person(i).email for i in range(2000)}) == 2000  # unique even for big teams


def test_names_with_umlauts_become_ascii_emails():
    emails = [Account(f"cal_{i}").person(j).email for i in range(30) for j in range(5)]
    assert all(re.fullmatch(r"[a-z0-9.\-]+@praxis-[0-9a-f]{6}\.de", e) for e in emails)


def test_large_accounts_are_lazy(sim, http):
    started = time.monotonic()
    response = http.post("/_sim/accounts", json={"api_key": RETELL, "counts": {"calls": 100_000, "bookings": 100_000}})
    assert response.status_code == 200 and response.json()["counts"]["calls"] == 100_000
    page = ret(http, "POST", "/v3/list-calls", json={"limit": 1000, "sort_order": "descending"}).json()
    assert len(page["items"]) == 1000 and page["has_more"]
    assert time.monotonic() - started < 2.0


# --- Cal.com behaviour -------------------------------------------------------------------------
def test_calcom_auth_rules_and_error_body(sim, http):
    missing = cal(http, "/v2/me", key=None)
    assert missing.status_code == 401 and "No authentication method provided" in missing.json()["error"]["message"]
    oauth = cal(http, "/v2/me", key="key_without_prefix")
    assert oauth.status_code == 401 and oauth.json()["error"]["message"] == "Invalid Access Token."
    bad = cal(http, "/v2/me", key="cal_invalid_123")
    body = bad.json()
    assert bad.status_code == 401 and body["status"] == "error" and body["path"] == "/v2/me"
    assert body["error"]["code"] == "UnauthorizedException" and body["error"]["message"] == "Your api key is not valid"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["timestamp"])
    assert cal(http, "/v2/me").status_code == 200
    assert http.post("/_sim/revoke", json={"api_key": CAL}).json()["account"] == account_id(CAL)
    assert cal(http, "/v2/me").status_code == 401


def test_calcom_rate_limit_headers_on_every_authed_answer(sim, http):
    first, second = cal(http, "/v2/me"), cal(http, "/v2/teams")
    assert first.headers["X-RateLimit-Limit-Default"] == "120"
    assert int(second.headers["X-RateLimit-Remaining-Default"]) == int(first.headers["X-RateLimit-Remaining-Default"]) - 1
    assert 0 < int(first.headers["X-RateLimit-Reset-Default"]) <= 60
    assert "x-ratelimit-reset-default" in cal(http, "/v2/me", key="cal_invalid").headers


def test_cal_api_version_is_enforced(sim, http):
    current = cal(http, "/v2/event-types", version="2024-06-14").json()
    assert isinstance(current["data"], list)
    legacy = cal(http, "/v2/event-types").json()  # missing header: Cal.com falls back to 2024-04-15
    assert legacy["status"] == "success" and "eventTypeGroups" in legacy["data"]
    assert "bookings" in cal(http, "/v2/bookings", version="garbage").json()["data"]
    assert "pagination" in cal(http, "/v2/bookings", version="2024-08-13").json()
    wrong = cal(http, "/v2/bookings", version="2024-06-14")
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "NotFoundException"


def test_calcom_booking_pagination_object(sim, http):
    sim.configure(CAL, bookings=25)
    page = cal(http, "/v2/bookings", version="2024-08-13", take=10, skip=20).json()
    assert page["pagination"] == {"totalItems": 25, "remainingItems": 0, "returnedItems": 5, "itemsPerPage": 10,
                                  "currentPage": 3, "totalPages": 3, "hasNextPage": False, "hasPreviousPage": True}
    booking = page["data"][0]
    assert booking["status"] in ("accepted", "cancelled", "rejected", "pending")
    assert booking["attendees"][0]["timeZone"] == "Europe/Berlin" and booking["hosts"][0]["timeZone"] == "Europe/Berlin"
    assert booking["eventType"]["id"] == booking["eventTypeId"]


def test_calcom_validation_errors(sim, http):
    team_id = cal(http, "/v2/teams").json()["data"][0]["id"]
    too_many = cal(http, f"/v2/teams/{team_id}/memberships", take=251)
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "BadRequestException"
    assert cal(http, f"/v2/teams/{team_id}/bookings", take=300).status_code == 400
    assert cal(http, "/v2/bookings", version="2024-08-13", afterStart="yesterday").status_code == 400
    webhook = http.post("/v2/webhooks", json={"subscriberUrl": "https://x", "triggers": ["BOOKING_CONFIRMED"], "active": True},
                        headers={"Authorization": f"Bearer {CAL}"})
    assert webhook.status_code == 400  # not in the trigger enum, although the spec's example lists it


def test_calcom_foreign_and_unknown_teams(sim, http):
    other = cal(http, "/v2/teams", key="cal_someone_else").json()["data"][0]["id"]
    assert cal(http, f"/v2/teams/{other}/memberships").status_code == 403
    assert cal(http, "/v2/teams/1/memberships").status_code == 404
    unknown = cal(http, "/v2/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"]["message"] == "Cannot GET /v2/nothing-here"


def test_calcom_webhooks_persist(sim, http):
    created = http.post("/v2/webhooks", headers={"Authorization": f"Bearer {CAL}"},
                        json={"subscriberUrl": "https://hub/x", "triggers": ["BOOKING_CREATED"], "active": True, "secret": "s"})
    assert created.status_code == 201
    hook_id = created.json()["data"]["id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", hook_id)
    assert [h["id"] for h in cal(http, "/v2/webhooks").json()["data"]] == [hook_id]
    assert cal(http, "/v2/webhooks", key="cal_other").json()["data"] == []
    assert http.get("/_sim/webhooks").json()["calcom"][0]["id"] == hook_id


def test_calcom_webhooks_update_and_delete(sim, http):
    auth = {"Authorization": f"Bearer {CAL}"}
    hook_id = http.post("/v2/webhooks", headers=auth, json={"subscriberUrl": "https://hub/x", "triggers": ["BOOKING_CREATED"],
                                                           "active": False, "secret": "s"}).json()["data"]["id"]
    patched = http.patch(f"/v2/webhooks/{hook_id}", headers=auth, json={"active": True, "secret": "t"})
    assert patched.status_code == 200
    data = patched.json()["data"]
    assert (data["id"], data["active"], data["subscriberUrl"], data["triggers"]) == (
        hook_id, True, "https://hub/x", ["BOOKING_CREATED"])  # fields not sent stay as they were
    assert http.get("/_sim/webhooks").json()["calcom"][0]["secret"] == "t"
    assert cal(http, f"/v2/webhooks/{hook_id}").json()["data"]["active"] is True
    bad = http.patch(f"/v2/webhooks/{hook_id}", headers=auth, json={"triggers": ["BOOKING_COMPLETED"], "active": "yes"})
    assert bad.status_code == 400
    assert {e["property"] for e in bad.json()["error"]["details"]["errors"]} == {"triggers", "active"}
    foreign = http.delete(f"/v2/webhooks/{hook_id}", headers={"Authorization": "Bearer cal_other"})
    assert foreign.status_code == 403
    deleted = http.delete(f"/v2/webhooks/{hook_id}", headers=auth)
    assert deleted.status_code == 200 and deleted.json()["data"]["id"] == hook_id
    assert cal(http, "/v2/webhooks").json()["data"] == []
    again = http.delete(f"/v2/webhooks/{hook_id}", headers=auth)
    assert again.status_code == 404 and again.json()["error"]["code"] == "NotFoundException"
    assert http.patch(f"/v2/webhooks/{hook_id}", headers=auth, json={"active": True}).status_code == 404


# --- Retell behaviour --------------------------------------------------------------------------
def test_retell_auth_and_error_body(sim, http):
    missing = ret(http, "GET", "/get-api-key-info", key=None)
    assert missing.status_code == 401 and missing.json() == {"status": "error", "message": "API key is missing or invalid."}
    assert ret(http, "GET", "/get-api-key-info", key="anything-goes").status_code == 200  # no prefix rule
    assert ret(http, "GET", "/get-api-key-info", key="my-invalid-key").status_code == 401


def test_retell_unknown_asset_is_422(sim, http):
    response = ret(http, "GET", "/get-agent/agent_nope")
    assert response.status_code == 422
    assert response.json() == {"status": "error", "message": "Cannot find requested asset under given api key."}
    assert ret(http, "PATCH", "/update-agent/agent_nope", json={"webhook_url": "https://x"}).status_code == 422


def test_retell_legacy_paths_are_gone(sim, http):
    assert ret(http, "GET", "/list-agents").status_code == 404
    assert ret(http, "GET", "/v2/list-agents").status_code == 404  # the current one is POST


def test_retell_paging_and_validation(sim, http):
    sim.configure(RETELL, agents=5)
    first = ret(http, "POST", "/v2/list-agents", params={"limit": 2}, json={}).json()
    assert len(first["items"]) == 2 and first["has_more"] and first["pagination_key"]
    second = ret(http, "POST", "/v2/list-agents", params={"limit": 2, "pagination_key": first["pagination_key"]}, json={}).json()
    assert {a["agent_id"] for a in first["items"]}.isdisjoint(a["agent_id"] for a in second["items"])
    assert ret(http, "POST", "/v2/list-agents", params={"pagination_key": "garbage!"}, json={}).status_code == 400
    assert ret(http, "POST", "/v2/list-agents", params={"limit": 0}, json={}).status_code == 400
    assert ret(http, "POST", "/v3/list-calls", json={"limit": 5000}).status_code == 400
    assert ret(http, "POST", "/v3/list-calls", json={"filter_criteria": {"start_timestamp": {"op": "bt"}}}).status_code == 400


def test_retell_calls_filter_and_order(sim, http):
    sim.configure(RETELL, calls=50)
    everything = ret(http, "POST", "/v3/list-calls", json={"limit": 1000, "sort_order": "ascending"}).json()["items"]
    starts = [c["start_timestamp"] for c in everything]
    assert starts == sorted(starts) and len(starts) == 50
    window = [starts[10], starts[19]]
    body = {"limit": 1000, "filter_criteria": {"start_timestamp": {"op": "bt", "type": "range", "value": window}},
            "include_total": True}
    page = ret(http, "POST", "/v3/list-calls", json=body).json()
    assert page["total"] == 10 and [c["start_timestamp"] for c in page["items"]] == sorted(starts[10:20], reverse=True)


def test_update_agent_persists_webhook_and_ignores_read_only_fields(sim, http):
    agent_id = sim.facts(RETELL)["retell"]["agent_ids"][0]
    before = ret(http, "GET", f"/get-agent/{agent_id}").json()
    patched = ret(http, "PATCH", f"/update-agent/{agent_id}",
                  json={"webhook_url": "https://hub/api/retell/webhook", "agent_id": "agent_hijack", "version": 99}).json()
    assert patched["webhook_url"] == "https://hub/api/retell/webhook"
    assert patched["agent_id"] == agent_id and patched["version"] == before["version"]
    assert ret(http, "GET", f"/get-agent/{agent_id}").json()["webhook_url"] == "https://hub/api/retell/webhook"
    assert http.get("/_sim/webhooks").json()["retell"] == [
        {"account": account_id(RETELL), "agent_id": agent_id, "webhook_url": "https://hub/api/retell/webhook"}]
    assert ret(http, "PATCH", f"/update-agent/{agent_id}", json={"webhook_events": ["nope"]}).status_code == 400


def test_listed_calls_follow_agent_edits_although_pages_are_served_from_rendered_items(sim, http):
    body = {"limit": 1000, "sort_order": "ascending"}
    first = ret(http, "POST", "/v3/list-calls", json=body).json()["items"]
    assert ret(http, "POST", "/v3/list-calls", json=body).json()["items"] == first  # served again, same
    agent_id = first[0]["agent_id"]
    ret(http, "PATCH", f"/update-agent/{agent_id}", json={"agent_name": "Neuer Empfang"})
    again = ret(http, "POST", "/v3/list-calls", json=body).json()["items"]
    assert {c["agent_name"] for c in again if c["agent_id"] == agent_id} == {"Neuer Empfang"}
    assert [c["call_id"] for c in again] == [c["call_id"] for c in first]


def test_listing_pages_equal_the_objects_they_are_rendered_from():
    account = Account(CAL)
    assert [json.loads(account.call_bytes(i)) for i in range(3)] == [account.call_json(i) for i in range(3)]
    row = account.own_bookings[0]
    assert json.loads(account.booking_bytes(row)) == account.booking_json(row)


# --- faults --------------------------------------------------------------------------------------
def test_status_fault_counts_down(sim, http):
    created = http.post("/_sim/faults", json={"provider": "calcom", "kind": "status", "status": 503, "count": 2})
    assert created.status_code == 201
    assert [cal(http, "/v2/me").status_code for _ in range(3)] == [503, 503, 200]
    assert ret(http, "GET", "/get-api-key-info").status_code == 200  # other provider untouched
    assert http.get("/_sim/faults").json()["faults"] == []


def test_a_fault_can_let_the_first_requests_through(sim, http):
    sim.fault(provider="calcom", path_prefix="/v2/me", kind="status", status=500, skip=2, count=1)
    assert [cal(http, "/v2/me").status_code for _ in range(4)] == [200, 200, 500, 200]


def test_fault_scoping_by_path_method_and_key(sim, http):
    sim.fault(provider="*", path_prefix="/v2/teams", kind="status", status=500)
    sim.fault(provider="retell", method="PATCH", kind="status", status=502)
    sim.fault(provider="calcom", api_key="cal_unlucky", kind="status", status=504)
    assert cal(http, "/v2/teams").status_code == 500
    assert cal(http, "/v2/me").status_code == 200
    assert cal(http, "/v2/me", key="cal_unlucky").status_code == 504
    agent_id = sim.facts(RETELL)["retell"]["agent_ids"][0]
    assert ret(http, "GET", f"/get-agent/{agent_id}").status_code == 200
    assert ret(http, "PATCH", f"/update-agent/{agent_id}", json={}).status_code == 502
    listed = http.get("/_sim/faults").json()["faults"]
    assert len(listed) == 3 and "cal_unlucky" not in str(listed)
    assert http.delete(f"/_sim/faults/{listed[0]['id']}").json() == {"ok": True}
    assert cal(http, "/v2/teams").status_code == 200
    assert http.delete("/_sim/faults").json() == {"ok": True}
    assert http.get("/_sim/faults").json()["faults"] == []


def test_status_fault_bodies_are_the_providers_own(sim, http):
    sim.fault(kind="status", status=500, retry_after=2)
    cal_body = cal(http, "/v2/me")
    assert cal_body.json()["error"]["code"] == "InternalServerErrorException"
    assert cal_body.headers["Retry-After"] == "2"
    assert ret(http, "GET", "/get-api-key-info").json() == {"status": "error", "message": "An unexpected server error occurred."}


def test_rate_limit_faults(sim, http):
    sim.fault(provider="calcom", kind="rate_limit", reset_seconds=7, count=1)
    limited = cal(http, "/v2/me")
    assert limited.status_code == 429 and limited.headers["X-RateLimit-Reset-Default"] == "7"
    assert limited.headers["X-RateLimit-Remaining-Default"] == "0" and "retry-after" not in limited.headers
    assert limited.json()["error"] == {"code": "ThrottlerException", "message": "Too many requests. Please try again later.",
                                       "details": {"message": "Too many requests. Please try again later.",
                                                   "error": "Too many requests. Please try again later.", "statusCode": 429}}
    sim.fault(provider="retell", kind="rate_limit", count=1)
    plain = ret(http, "GET", "/get-api-key-info")
    assert plain.status_code == 429 and "retry-after" not in plain.headers
    sim.fault(provider="retell", kind="rate_limit", reset_seconds=3, count=1)
    assert ret(http, "GET", "/get-api-key-info").headers["retry-after"] == "3"


def test_malformed_and_truncated_faults(sim, http):
    sim.fault(provider="calcom", kind="malformed", count=1)
    broken = cal(http, "/v2/me")
    assert broken.status_code == 200 and broken.headers["content-type"].startswith("application/json")
    with pytest.raises(ValueError):
        broken.json()
    sim.fault(provider="calcom", kind="malformed", variant="html", count=1)
    assert cal(http, "/v2/me").headers["content-type"].startswith("text/html")
    sim.configure(CAL, bookings=40)
    sim.fault(provider="calcom", kind="truncated", count=1)
    page = cal(http, "/v2/bookings", version="2024-08-13", take=20).json()
    assert len(page["data"]) == 10 and page["pagination"]["returnedItems"] == 20
    sim.fault(provider="retell", kind="truncated", count=1)
    calls = ret(http, "POST", "/v3/list-calls", json={"limit": 1000}).json()
    assert calls["has_more"] is True and "pagination_key" not in calls


def test_bad_fault_specs_are_refused(sim, http):
    for spec in ({"kind": "explode"}, {"kind": "status", "status": 200}, {"kind": "latency", "provider": "stripe"},
                 {"kind": "latency", "count": 0}, {"kind": "malformed", "variant": "x"}, {"kind": "hang", "oops": 1},
                 {"kind": "status", "skip": -1}):
        response = http.post("/_sim/faults", json=spec)
        assert response.status_code == 400 and response.json()["error"]


def test_global_latency_applies_to_both_and_specific_wins(sim, http):
    http.post("/_sim/faults", json={"provider": "*", "kind": "latency", "latency_ms": 200, "count": None})
    for call in (lambda: cal(http, "/v2/me"), lambda: ret(http, "GET", "/get-api-key-info")):
        started = time.monotonic()
        assert call().status_code == 200
        assert 0.2 <= time.monotonic() - started < 0.6
    sim.fault(provider="retell", kind="latency", latency_ms=400)
    started = time.monotonic()
    ret(http, "GET", "/get-api-key-info")
    assert 0.4 <= time.monotonic() - started < 0.55  # max, not sum


def test_latency_is_served_concurrently(sim):
    sim.fault(kind="latency", latency_ms=300)
    with httpx.Client(base_url=sim.url, limits=httpx.Limits(max_connections=40)) as client:
        def one(i):
            return client.get("/v2/me", headers={"Authorization": f"Bearer cal_parallel_{i}"}).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=30) as pool:
            statuses = list(pool.map(one, range(30)))
        elapsed = time.monotonic() - started
    assert statuses == [200] * 30
    assert elapsed < 0.9  # 30 x 300 ms in parallel, not 9 s


def test_a_hanging_request_does_not_block_others(sim, http):
    sim.fault(provider="retell", kind="hang", hang_seconds=1.0, count=1)
    results: dict[str, float] = {}

    def hanging():
        started = time.monotonic()
        ret(http, "GET", "/get-api-key-info")
        results["hung"] = time.monotonic() - started

    thread = threading.Thread(target=hanging)
    thread.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert cal(http, "/v2/me").status_code == 200
    results["other"] = time.monotonic() - started
    thread.join()
    assert results["other"] < 0.3 and results["hung"] >= 1.0


# --- control API ---------------------------------------------------------------------------------
def test_request_log_redacts_and_filters(sim, http):
    username = sim.facts(CAL)["calcom"]["username"]
    cal(http, "/v2/event-types", version="2024-06-14", username=username)
    seq = http.get("/_sim/requests").json()["count"]
    ret(http, "POST", "/v3/list-calls", json={"limit": 3})
    log = http.get("/_sim/requests").json()
    assert log["count"] == 2 and CAL not in str(log) and RETELL not in str(log)
    first = log["requests"][0]
    assert first["headers"]["authorization"] == "Bearer REDACTED" and first["headers"]["cal-api-version"] == "2024-06-14"
    assert first["params"] == {"username": username} and first["status"] == 200 and first["account"] == account_id(CAL)
    newer = http.get("/_sim/requests", params={"since": seq}).json()["requests"]
    assert [r["path"] for r in newer] == ["/v3/list-calls"] and newer[0]["body"] == {"limit": 3}
    assert [r["provider"] for r in http.get("/_sim/requests", params={"provider": "calcom"}).json()["requests"]] == ["calcom"]
    http.delete("/_sim/requests")
    assert http.get("/_sim/requests").json()["requests"] == []


def test_accounts_endpoint(sim, http):
    facts = http.post("/_sim/accounts", json={"api_key": CAL, "counts": {"members": 7}}).json()
    assert facts["counts"]["members"] == 7 and facts["calcom"]["teams"][1]["slug"] == "mein-team"
    team_id = facts["calcom"]["teams"][0]["id"]
    assert len(cal(http, f"/v2/teams/{team_id}/memberships").json()["data"]) == 7
    assert http.post("/_sim/accounts", json={"api_key": CAL, "counts": {"calls": 100_001}}).status_code == 400
    assert http.post("/_sim/accounts", json={"api_key": CAL, "counts": {"unicorns": 1}}).status_code == 400
    assert http.post("/_sim/accounts", json={"counts": {}}).status_code == 400
    assert CAL not in str(facts)


def test_reset_forgets_everything(sim, http):
    sim.configure(CAL, members=9)
    sim.revoke(RETELL)
    sim.fault(kind="status", status=500)
    assert http.post("/_sim/reset").json() == {"ok": True}
    assert http.get("/_sim/faults").json()["faults"] == []
    assert ret(http, "GET", "/get-api-key-info").status_code == 200
    assert sim.facts(CAL)["counts"]["members"] == 2
    assert http.get("/_sim/health").json()["ok"] is True


def test_app_factory_and_entry_points():
    state = SimulatorState()
    app = create_app(state)
    assert app.state.simulator is state
    assert callable(run)
    with SimulatorServer(state) as sim:
        assert sim.state is state and sim.url.startswith("http://127.0.0.1:")
        assert httpx.get(sim.url + "/_sim/health").status_code == 200

"""Contract tests: the clients and the simulator against the providers' published contracts.

Cal.com: every request CalcomClient makes (as the simulator logged it) must use a path and method
of `calcom-openapi-v2.json`, only declared query parameters with valid values, and the
`cal-api-version` the operation declares; every simulator answer must contain the response
schema's required fields with the declared types. The spec copy lives in tests/data so CI does not
depend on ../shared.

Retell: the simulator's answers must parse with retell-sdk's own response models under strict
validation, and RetellClient's request bodies must only use the SDK's declared parameters.
"""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
import retell
from retell.types import (
    AgentListResponse,
    AgentResponse,
    CallListResponse,
    PhoneNumberListResponse,
    call_list_params,
)
from retell.types.identity_retrieve_response import IdentityRetrieveResponse

from integhub.providers.calcom_client import CalcomClient
from integhub.providers.retell_client import RetellClient

SPEC_PATH = Path(__file__).resolve().parent.parent / "data" / "calcom-openapi-v2.json"
CAL_KEY = "cal_test_contract00000000000000000000"
RETELL_KEY = "key_contract_0001"


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


# --- leniencies for known spec errors (../shared/reference/calcom-api.md §6) ------------------------
# Each entry replaces the spec's schema of one property. Nothing else is relaxed.
PROPERTY_OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    # §6 #4: GetTeamMembershipsOutput.data is shown as one object; the source class declares an array.
    ("GetTeamMembershipsOutput", "data"): {"type": "array", "items": {"$ref": "#/components/schemas/TeamMembershipOutput"}},
    # §6 #2: webhook ids are UUID strings in the DB, the spec types them as numbers.
    ("UserWebhookOutputDto", "id"): {"type": "string"},
    # §6 #6: event type `users` and team event type `hosts` are declared string[], the live shape is
    # unconfirmed (the simulator sends objects to keep consumers lenient): accept any list.
    ("EventTypeOutput_2024_06_14", "users"): {"type": "array", "items": {}},
    ("TeamEventTypeOutput_2024_06_14", "hosts"): {"type": "array", "items": {}},
    # Not in §6, [INFERRED]: payloadTemplate is required but a webhook without a template has none;
    # the server returns null rather than inventing a string.
    ("UserWebhookOutputDto", "payloadTemplate"): {"type": "string", "nullable": True},
}
# Also lenient, documented where applied in `check`:
#  - §6 #8: the booking union (oneOf of four schemas, no discriminator) is treated as anyOf, since a
#    plain booking also satisfies the seated/recurring variants' shared fields.
#  - NestJS swagger writes `type: object` without properties for `unknown`/union fields (e.g.
#    `isDefault: true`, `slotInterval: 60`): such a schema accepts any JSON value.
#  - null in an *optional* property is accepted: the generator omits `nullable` on optional columns
#    that are NULL in the database (TeamOutputDto.logoUrl, parentId, ...). Required fields must be
#    present and non-null unless the spec says nullable.


def resolve(schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    name = None
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec()["components"]["schemas"][name]
    return name, schema


def check(value: Any, schema: dict[str, Any], where: str, optional: bool = False) -> list[str]:
    """Errors where `value` violates `schema`'s required fields, types or enums."""
    name, schema = resolve(schema)
    if value is None:
        if schema.get("nullable") or optional:
            return []
        return [f"{where}: null but not nullable"]
    if "allOf" in schema:
        return [e for part in schema["allOf"] for e in check(value, part, where)]
    for union in ("oneOf", "anyOf"):
        if union in schema:
            results = [check(value, variant, where) for variant in schema[union]]
            if any(not r for r in results):
                return []
            return [f"{where}: matches no {union} variant; first: {results[0][:3]}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in enum")
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if "properties" not in schema and "required" not in schema:
            return errors  # property-less `object`: any value (see module notes)
        if not isinstance(value, dict):
            return errors + [f"{where}: expected object, got {type(value).__name__}"]
        required = set(schema.get("required", []))
        for field in sorted(required - set(value)):
            errors.append(f"{where}.{field}: required field missing")
        for field, sub in schema.get("properties", {}).items():
            if field in value:
                sub = PROPERTY_OVERRIDES.get((name, field), sub)
                errors += check(value[field], sub, f"{where}.{field}", optional=field not in required)
    elif kind == "array":
        if not isinstance(value, list):
            return errors + [f"{where}: expected array, got {type(value).__name__}"]
        for i, item in enumerate(value[:50]):
            errors += check(item, schema.get("items", {}), f"{where}[{i}]")
    elif kind == "string" and not isinstance(value, str):
        errors.append(f"{where}: expected string, got {value!r}")
    elif kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        errors.append(f"{where}: expected number, got {value!r}")
    elif kind == "boolean" and not isinstance(value, bool):
        errors.append(f"{where}: expected boolean, got {value!r}")
    return errors


def operation_for(method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The spec operation for a concrete path (literal paths win over templates)."""
    paths = spec()["paths"]
    if path in paths and method.lower() in paths[path]:
        return path, paths[path][method.lower()]
    for template, operations in sorted(paths.items(), key=lambda kv: kv[0].count("{")):
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the Cal.com spec")


def check_query_value(raw: str, schema: dict[str, Any]) -> str | None:
    if schema.get("type") == "number":
        try:
            number = float(raw)
        except ValueError:
            return f"{raw!r} is not a number"
        if "minimum" in schema and number < schema["minimum"]:
            return f"{raw} < minimum {schema['minimum']}"
        if "maximum" in schema and number > schema["maximum"]:
            return f"{raw} > maximum {schema['maximum']}"
    if "enum" in schema and raw not in schema["enum"]:
        return f"{raw!r} not in {schema['enum']}"
    return None


class RecordingTransport(httpx.BaseTransport):
    """Real HTTP, remembering every exchange so the answers can be checked too."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def calcom_session(simulator):
    """Every CalcomClient method once, with enough data that every list pages at least twice."""
    simulator.configure(CAL_KEY, members=300, bookings=150, team_bookings=120)
    transport = RecordingTransport()
    with CalcomClient(CAL_KEY, base_url=simulator.url, transport=transport) as client:
        me = client.me()
        client.event_types(me["username"])
        team = client.find_team(f"team-{simulator.facts(CAL_KEY)['account'][:6]}")
        client.team_event_types(team["id"])
        client.team_memberships(team["id"])
        from datetime import datetime, timedelta, timezone

        list(client.iter_bookings(after_start=datetime.now(timezone.utc) - timedelta(days=90)))
        list(client.iter_bookings(team_id=team["id"]))
        hook = client.create_webhook(subscriber_url="https://hub.example/api/calcom/webhook/x",
                                     triggers=["BOOKING_CREATED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED"],
                                     secret="contract-secret")
        client.update_webhook(hook["id"], triggers=["BOOKING_CREATED", "BOOKING_CANCELLED"], secret="rotated",
                              active=True)
        stale = client.create_webhook(subscriber_url="https://hub.example/api/calcom/webhook/x",
                                      triggers=["BOOKING_CREATED"], secret="stale")
        client.delete_webhook(stale["id"])
        client.webhooks()
    return simulator.requests("calcom"), transport.exchanges


def test_every_calcom_request_matches_the_spec(calcom_session):
    requests, _ = calcom_session
    used = set()
    problems: list[str] = []
    for request in requests:
        template, operation = operation_for(request["method"], request["path"])
        used.add((request["method"], template))
        declared = {p["name"]: p for p in operation.get("parameters", [])}
        for name, value in request["params"].items():
            param = declared.get(name)
            if param is None or param["in"] != "query":
                problems.append(f"{request['method']} {template}: undeclared query parameter {name}")
                continue
            problem = check_query_value(value, param.get("schema", {}))
            if problem:
                problems.append(f"{request['method']} {template}: {name}={problem}")
        version = declared.get("cal-api-version")
        if version is not None:
            expected = version["schema"]["default"]
            if request["headers"].get("cal-api-version") != expected:
                problems.append(f"{template}: cal-api-version {request['headers'].get('cal-api-version')} != {expected}")
        elif "cal-api-version" in request["headers"]:
            # Not declared: harmless (calcom-api.md §1), but it must be a version Cal.com knows.
            assert request["headers"]["cal-api-version"] in ("2024-06-14", "2024-08-13")
        if "Authorization" in declared and declared["Authorization"].get("required"):
            if request["headers"].get("authorization") != "Bearer REDACTED":
                problems.append(f"{template}: Authorization missing")
        if request["method"] in ("POST", "PATCH"):
            body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
            problems += check(request["body"], body_schema, f"{request['method']} {template} body")
        elif (operation.get("requestBody") or {}).get("required"):
            problems.append(f"{request['method']} {template}: required body missing")
    assert problems == []
    assert used == {
        ("GET", "/v2/me"), ("GET", "/v2/event-types"), ("GET", "/v2/teams"),
        ("GET", "/v2/teams/{teamId}/event-types"), ("GET", "/v2/teams/{teamId}/memberships"),
        ("GET", "/v2/bookings"), ("GET", "/v2/teams/{teamId}/bookings"),
        ("POST", "/v2/webhooks"), ("GET", "/v2/webhooks"),
        ("PATCH", "/v2/webhooks/{webhookId}"), ("DELETE", "/v2/webhooks/{webhookId}"),
    }


def test_every_simulator_answer_matches_the_response_schema(calcom_session):
    _, exchanges = calcom_session
    assert len(exchanges) >= 12  # bookings and memberships paged
    problems: list[str] = []
    for request, response in exchanges:
        template, operation = operation_for(request.method, request.url.path)
        declared = operation["responses"]
        assert str(response.status_code) in declared, f"{template}: status {response.status_code}"
        schema = declared[str(response.status_code)]["content"]["application/json"]["schema"]
        problems += check(response.json(), schema, f"{request.method} {template}")
    assert problems == []


def test_the_checker_catches_a_missing_required_field(simulator):
    # The leniencies must not make the check toothless.
    with CalcomClient(CAL_KEY, base_url=simulator.url) as client:
        booking = next(client.iter_bookings())
    schema = {"$ref": "#/components/schemas/GetBookingsOutput_2024_08_13"}
    pagination = {"totalItems": 1, "remainingItems": 0, "returnedItems": 1, "itemsPerPage": 1,
                  "currentPage": 1, "totalPages": 1, "hasNextPage": False, "hasPreviousPage": False}
    assert check({"status": "success", "data": [booking], "pagination": pagination}, schema, "ok") == []
    broken = {k: v for k, v in booking.items() if k != "uid"}
    assert check({"status": "success", "data": [broken], "pagination": pagination}, schema, "broken")
    assert check({"status": "success", "data": [dict(booking, start=17)], "pagination": pagination}, schema, "typed")
    assert check({"status": "success", "data": [booking]}, schema, "no pagination")


def test_the_spec_declares_the_versions_the_client_sends():
    def version(path, method="get"):
        params = spec()["paths"][path][method]["parameters"]
        return next((p["schema"]["default"] for p in params if p["name"] == "cal-api-version"), None)

    assert version("/v2/event-types") == "2024-06-14"
    assert version("/v2/bookings") == "2024-08-13"
    assert version("/v2/me") is None and version("/v2/teams") is None and version("/v2/webhooks") is None


# --- Retell ------------------------------------------------------------------------------------
@pytest.fixture
def strict_sdk(simulator):
    simulator.configure(RETELL_KEY, agents=5, phone_numbers=4, calls=200)
    sdk = retell.Retell(api_key=RETELL_KEY, base_url=simulator.url, max_retries=0, timeout=5.0,
                        _strict_response_validation=True)
    yield sdk
    sdk.close()


def test_retell_answers_parse_with_the_sdk_models_strictly(strict_sdk):
    identity = strict_sdk.identity.retrieve()
    assert identity.org_id
    agents = strict_sdk.agent.list(limit=1000)
    assert len(agents.items) == 5 and agents.has_more is False
    numbers = strict_sdk.phone_number.list(limit=1000)
    assert len(numbers.items) == 4
    calls = strict_sdk.call.list(limit=1000, sort_order="ascending")
    kinds = {type(item).__name__ for item in calls.items}
    assert kinds == {"ItemV3PhoneCallResponse", "ItemV3WebCallResponse"}  # both union members exercised
    agent = strict_sdk.agent.retrieve(agents.items[0].agent_id)
    assert agent.response_engine.type == "retell-llm"
    updated = strict_sdk.agent.update(agent.agent_id, webhook_url="https://hub.example/api/retell/webhook")
    assert updated.webhook_url == "https://hub.example/api/retell/webhook"
    paged = strict_sdk.agent.list(limit=2)
    assert paged.has_more and paged.pagination_key


@pytest.mark.parametrize(("method", "path", "body", "model"), [
    ("GET", "/get-api-key-info", None, IdentityRetrieveResponse),
    ("POST", "/v2/list-agents?limit=3", {}, AgentListResponse),
    ("GET", "/v2/list-phone-numbers?limit=3", None, PhoneNumberListResponse),
    ("POST", "/v3/list-calls", {"limit": 1000}, CallListResponse),
])
def test_raw_retell_answers_validate_against_models(simulator, method, path, body, model):
    simulator.configure(RETELL_KEY, agents=5, phone_numbers=4, calls=200)
    response = httpx.request(method, simulator.url + path, json=body,
                             headers={"Authorization": f"Bearer {RETELL_KEY}"})
    assert response.status_code == 200
    model.model_validate(response.json())


def test_raw_agent_validates_and_a_missing_field_fails(simulator):
    facts = simulator.configure(RETELL_KEY, agents=1)
    raw = httpx.get(f"{simulator.url}/get-agent/{facts['retell']['agent_ids'][0]}",
                    headers={"Authorization": f"Bearer {RETELL_KEY}"}).json()
    AgentResponse.model_validate(raw)
    with pytest.raises(pydantic.ValidationError):
        AgentResponse.model_validate({k: v for k, v in raw.items() if k != "voice_id"})
    calls = httpx.post(f"{simulator.url}/v3/list-calls", json={"limit": 5},
                       headers={"Authorization": f"Bearer {RETELL_KEY}"}).json()
    phone = next(c for c in calls["items"] if c["call_type"] == "phone_call")
    with pytest.raises(pydantic.ValidationError):
        CallListResponse.model_validate({"items": [{k: v for k, v in phone.items() if k != "to_number"}],
                                         "has_more": False})


def test_retell_client_requests_use_documented_paths_and_parameters(simulator):
    simulator.configure(RETELL_KEY, agents=3, calls=30)
    with RetellClient(RETELL_KEY, base_url=simulator.url) as client:
        client.api_key_info()
        agent_id = client.agents(page_size=2)[0]["agent_id"]
        client.phone_numbers()
        list(client.iter_calls(start_after_ms=0, page_size=10))
        client.get_agent(agent_id)
        client.update_agent(agent_id, webhook_url="https://hub.example/api/retell/webhook")
    used = {(r["method"], re.sub(r"agent_[0-9a-f]+", "{agent_id}", r["path"])) for r in simulator.requests("retell")}
    assert used == {("GET", "/get-api-key-info"), ("POST", "/v2/list-agents"), ("GET", "/v2/list-phone-numbers"),
                    ("POST", "/v3/list-calls"), ("GET", "/get-agent/{agent_id}"), ("PATCH", "/update-agent/{agent_id}")}
    allowed_body = set(call_list_params.CallListParams.__annotations__)
    allowed_filters = set(call_list_params.FilterCriteria.__annotations__)
    for request in simulator.requests("retell"):
        if request["path"] == "/v3/list-calls":
            assert set(request["body"]) <= allowed_body
            assert set(request["body"].get("filter_criteria", {})) <= allowed_filters
        if request["path"] == "/v2/list-agents":
            assert set(request["params"]) <= {"limit", "pagination_key", "sort_order"}

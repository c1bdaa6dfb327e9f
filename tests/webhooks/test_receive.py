"""Receiving deliveries through the /api routes (Starlette TestClient), on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import pytest
from sqlalchemy import func, select, text

from integhub.models import AuditEvent, CalcomBooking, IntegrationMetric, RetellCall
from integhub.models_webhooks import WebhookInbox
from integhub.services.webhooks import replay_inbox, webhook_status
from integhub.webhooks.routes import MAX_BODY_BYTES

from .support import (
    AGENT,
    CALCOM_SECRET,
    OTHER_RETELL_KEY,
    RETELL_KEY,
    T0_MS,
    calcom_body,
    calcom_sign,
    make_tenant,
    post_calcom,
    post_retell,
    retell_body,
    retell_sign,
)


def count(hub, model, *where) -> int:
    with hub.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def call_row(hub, company_id, call_id) -> RetellCall | None:
    with hub.session() as s:
        return s.get(RetellCall, (company_id, call_id))


def metrics(hub, company_id) -> list[tuple[bool, str | None, int]]:
    with hub.session() as s:
        return [tuple(r) for r in s.execute(
            select(IntegrationMetric.success, IntegrationMetric.error_code, IntegrationMetric.records_synced)
            .where(IntegrationMetric.company_id == company_id, IntegrationMetric.action == "webhook")
            .order_by(IntegrationMetric.id))]


# --- Retell ----------------------------------------------------------------------------------------
def test_signed_retell_delivery_is_stored_and_counted(api, hub, tenant):
    body = retell_body("call_ended", "call_a1")
    reply = post_retell(api, body)
    assert reply.status_code == 200
    assert reply.json() == {"ok": True, "status": "processed"}
    row = call_row(hub, tenant.company_id, "call_a1")
    assert row.call_status == "ended" and row.stage == 2 and row.source == "webhook"
    assert row.agent_id == AGENT and row.duration_ms == 95_000
    assert row.start_at == datetime(2026, 5, 28, 20, 26, 40)  # T0_MS in UTC
    assert row.data["disconnection_reason"] == "user_hangup"
    assert metrics(hub, tenant.company_id) == [(True, None, 1)]
    with hub.session() as s:
        stored = s.scalars(select(WebhookInbox)).one()
    assert stored.body == body and stored.status == "processed" and stored.event_key == "call_ended:call_a1"
    status = webhook_status(hub, tenant.company_id, "retell")
    assert status["last_event_at"] is not None
    assert status["deliveries_24h"] == status["accepted_24h"] == 1
    assert status["signature_failures_24h"] == 0 and status["pending_replay"] == 0


def _uppercase(sig: str) -> str:
    ts, digest = sig.split(",d=")
    return f"{ts},d={digest.upper()}"


@pytest.mark.parametrize("label, signature", [
    ("missing", lambda body: None),
    ("malformed", lambda body: "v=abc,d=xyz"),
    ("uppercase hex", lambda body: _uppercase(retell_sign(body, RETELL_KEY))),
    ("wrong key", lambda body: retell_sign(body, OTHER_RETELL_KEY)),
    ("tampered body", lambda body: retell_sign(body.replace("ended", "error"), RETELL_KEY)),
    ("stale", lambda body: retell_sign(body, RETELL_KEY, int(time.time() * 1000) - 301_000)),
    ("future", lambda body: retell_sign(body, RETELL_KEY, int(time.time() * 1000) + 301_000)),
])
def test_forged_retell_deliveries_get_401_without_detail(api, hub, tenant, label, signature):
    body = retell_body("call_ended", "call_forged")
    sig = signature(body)
    headers = {"x-retell-signature": sig} if sig is not None else {}
    reply = api.post("/api/retell/webhook", content=body.encode(), headers=headers)
    assert reply.status_code == 401, label
    assert reply.json() == {"error": "unauthorized"}
    assert count(hub, RetellCall) == 0 and count(hub, WebhookInbox) == 0
    assert metrics(hub, tenant.company_id) == [(False, "signature", 0)]
    assert webhook_status(hub, tenant.company_id, "retell")["signature_failures_24h"] == 1


def test_two_signature_headers_are_refused(api, tenant):
    body = retell_body("call_ended", "call_twice")
    good = retell_sign(body, RETELL_KEY)
    reply = api.post("/api/retell/webhook", content=body.encode(),
                     headers=[("x-retell-signature", good), ("x-retell-signature", good)])
    assert reply.status_code == 401


def test_unknown_agent_and_unknown_company_get_the_same_404(api, hub, tenant):
    stranger = retell_body("call_ended", "call_x", agent_id="agent_nobody_knows")
    a = post_retell(api, stranger)
    b = post_calcom(api, uuid.uuid4(), calcom_body("BOOKING_CREATED", "u1"))
    c = post_calcom(api, "not-a-uuid", calcom_body("BOOKING_CREATED", "u1"))
    d = post_calcom(api, "%00' OR 1=1 --", calcom_body("BOOKING_CREATED", "u1"))
    no_secret = make_tenant(hub, "Praxis ohne Webhook", calcom_secret=None, retell_key=None)
    e = post_calcom(api, no_secret.company_id, calcom_body("BOOKING_CREATED", "u1"))
    for reply in (a, b, c, d, e):
        assert reply.status_code == 404
        assert reply.content == a.content == b'{"error":"not_found"}'
    assert count(hub, WebhookInbox) == 0
    assert metrics(hub, no_secret.company_id) == [(False, "not_registered", 0)]


@pytest.mark.parametrize("body", [b"{not json", b"[1,2]", b'{"event":"call_ended"}', b"\xff\xfe",
                                  b'{"event":"call_ended","call":{"call_id":"c"}}'])
def test_malformed_retell_bodies_get_400(api, tenant, body):
    reply = api.post("/api/retell/webhook", content=body,
                     headers={"x-retell-signature": retell_sign(body.decode("latin-1"), RETELL_KEY)})
    assert reply.status_code == 400
    assert reply.json() == {"error": "bad_request"}


def test_duplicate_delivery_is_stored_once(api, hub, tenant):
    body = retell_body("call_analyzed", "call_dup")
    first = post_retell(api, body)
    again = post_retell(api, body, signature=retell_sign(body, RETELL_KEY, int(time.time() * 1000) + 1500))
    assert first.json()["status"] == "processed" and again.json()["status"] == "duplicate"
    assert again.status_code == 200
    assert count(hub, WebhookInbox) == 1 and count(hub, RetellCall) == 1
    assert metrics(hub, tenant.company_id) == [(True, None, 1), (True, None, 0)]


def test_events_enrich_the_call_in_order(api, hub, tenant):
    for event in ("call_started", "call_ended", "call_analyzed"):
        assert post_retell(api, retell_body(event, "call_seq")).status_code == 200
        row = call_row(hub, tenant.company_id, "call_seq")
        assert row.stage == {"call_started": 1, "call_ended": 2, "call_analyzed": 3}[event]
    assert row.data["call_analysis"]["call_summary"] == "Termin vereinbart."
    assert count(hub, RetellCall) == 1 and count(hub, WebhookInbox) == 3


def test_late_earlier_events_never_overwrite_newer_data(api, hub, tenant):
    assert post_retell(api, retell_body("call_analyzed", "call_ooo")).status_code == 200
    # The earlier events arrive afterwards, carrying older facts (and a different status).
    assert post_retell(api, retell_body("call_ended", "call_ooo", disconnection_reason="agent_hangup")).status_code == 200
    assert post_retell(api, retell_body("call_started", "call_ooo")).status_code == 200
    row = call_row(hub, tenant.company_id, "call_ooo")
    assert row.stage == 3 and row.call_status == "ended"
    assert row.disconnection_reason == "user_hangup"
    assert "call_analysis" in row.data and row.end_at is not None
    assert count(hub, WebhookInbox) == 3  # all three were received, only the newest state is kept
    assert [m[2] for m in metrics(hub, tenant.company_id)] == [1, 0, 0]


def test_transcript_updates_are_kept_but_retries_are_not(api, hub, tenant):
    first = retell_body("transcript_updated", "call_tx", transcript="Agent: Hallo")
    second = retell_body("transcript_updated", "call_tx", transcript="Agent: Hallo\nUser: Hallo")
    for body in (first, first, second):
        post_retell(api, body)
    assert count(hub, WebhookInbox) == 2
    assert call_row(hub, tenant.company_id, "call_tx").data["transcript"].endswith("User: Hallo")


def test_other_events_are_stored_and_acknowledged(api, hub, tenant):
    body = json.dumps({"event": "chat_ended", "chat": {"chat_id": "chat_1", "agent_id": AGENT, "chat_status": "ended"}})
    reply = post_retell(api, body)
    assert reply.status_code == 200 and reply.json()["status"] == "processed"
    assert count(hub, WebhookInbox) == 1 and count(hub, RetellCall) == 0


def test_agent_owned_by_several_companies_goes_to_the_one_whose_key_signed(api, hub):
    a = make_tenant(hub, "Praxis A", retell_key=RETELL_KEY, default_agent=AGENT, calcom_key=None)
    b = make_tenant(hub, "Praxis B", retell_key=OTHER_RETELL_KEY, default_agent=None, synced_agents=(AGENT,),
                    calcom_key=None)
    body = retell_body("call_ended", "call_shared")
    assert post_retell(api, body, OTHER_RETELL_KEY).status_code == 200
    assert call_row(hub, b.company_id, "call_shared") is not None
    assert call_row(hub, a.company_id, "call_shared") is None
    assert metrics(hub, a.company_id) == [] and metrics(hub, b.company_id) == [(True, None, 1)]


# --- Cal.com ---------------------------------------------------------------------------------------
def booking(hub, company_id, uid) -> CalcomBooking | None:
    with hub.session() as s:
        return s.get(CalcomBooking, (company_id, uid))


def test_signed_calcom_delivery_stores_the_normalised_booking(api, hub, tenant):
    reply = post_calcom(api, tenant.company_id, calcom_body("BOOKING_CREATED", "bk_1"))
    assert reply.status_code == 200 and reply.json()["status"] == "processed"
    row = booking(hub, tenant.company_id, "bk_1")
    assert row.status == "accepted"  # upper-case ACCEPTED in the webhook, lower-case like REST here
    assert row.start_at == datetime(2026, 6, 2, 8, 0) and row.end_at == datetime(2026, 6, 2, 8, 30)
    assert row.remote_id == 4711 and row.event_type_id == 42 and row.source == "webhook"
    assert row.attendee_email == "Jana.Koehler@example.de"
    assert webhook_status(hub, tenant.company_id, "calcom")["accepted_24h"] == 1


def test_cancellation_updates_and_a_late_creation_does_not_revert_it(api, hub, tenant):
    post_calcom(api, tenant.company_id, calcom_body("BOOKING_CREATED", "bk_2", created_at="2026-05-28T09:00:00.000Z"))
    post_calcom(api, tenant.company_id, calcom_body("BOOKING_CANCELLED", "bk_2", created_at="2026-05-28T10:00:00.000Z",
                                                    status="CANCELLED", cancellationReason="Krankheit"))
    assert booking(hub, tenant.company_id, "bk_2").status == "cancelled"
    # A retry of the creation, produced before the cancellation, arrives last.
    late = calcom_body("BOOKING_CREATED", "bk_2", created_at="2026-05-28T09:00:00.500Z")
    assert post_calcom(api, tenant.company_id, late).status_code == 200
    assert booking(hub, tenant.company_id, "bk_2").status == "cancelled"


def test_reschedule_adds_the_new_booking_and_cancels_the_old(api, hub, tenant):
    post_calcom(api, tenant.company_id, calcom_body("BOOKING_CREATED", "bk_old", created_at="2026-05-28T09:00:00.000Z"))
    post_calcom(api, tenant.company_id, calcom_body("BOOKING_RESCHEDULED", "bk_new", created_at="2026-05-28T11:00:00.000Z",
                                                    start="2026-06-03T08:00:00.000Z", end="2026-06-03T08:30:00.000Z",
                                                    rescheduleUid="bk_old"))
    assert booking(hub, tenant.company_id, "bk_new").start_at == datetime(2026, 6, 3, 8, 0)
    assert booking(hub, tenant.company_id, "bk_old").status == "cancelled"


@pytest.mark.parametrize("label, signature", [
    ("missing", lambda body: None),
    ("no-secret-provided", lambda body: "no-secret-provided"),
    ("uppercase hex", lambda body: calcom_sign(body, CALCOM_SECRET).upper()),
    ("prefixed", lambda body: "sha256=" + calcom_sign(body, CALCOM_SECRET)),
    ("wrong secret", lambda body: calcom_sign(body, "another-secret")),
    ("tampered", lambda body: calcom_sign(body.replace(b"bk_3", b"bk_4"), CALCOM_SECRET)),
])
def test_forged_calcom_deliveries_get_401(api, hub, tenant, label, signature):
    body = calcom_body("BOOKING_CREATED", "bk_3")
    sig = signature(body)
    headers = {"x-cal-signature-256": sig} if sig is not None else {}
    reply = api.post(f"/api/calcom/webhook/{tenant.company_id}", content=body, headers=headers)
    assert reply.status_code == 401, label
    assert reply.json() == {"error": "unauthorized"}
    assert count(hub, CalcomBooking) == 0
    assert webhook_status(hub, tenant.company_id, "calcom")["signature_failures_24h"] == 1


def test_signed_but_malformed_calcom_body_gets_400(api, hub, tenant):
    for body in (b"{oops", b'{"payload":{}}', b'{"triggerEvent":"BOOKING_CREATED","payload":{"title":"x"}}'):
        assert post_calcom(api, tenant.company_id, body).status_code == 400
    assert [m[1] for m in metrics(hub, tenant.company_id)] == ["malformed"] * 3


def test_calcom_duplicate_is_stored_once_and_other_triggers_are_acknowledged(api, hub, tenant):
    body = calcom_body("BOOKING_CREATED", "bk_5")
    assert post_calcom(api, tenant.company_id, body).json()["status"] == "processed"
    assert post_calcom(api, tenant.company_id, body).json()["status"] == "duplicate"
    ping = json.dumps({"triggerEvent": "MEETING_ENDED", "createdAt": "2026-05-28T12:00:00Z", "uid": "bk_5"}).encode()
    assert post_calcom(api, tenant.company_id, ping).status_code == 200
    assert count(hub, WebhookInbox) == 2 and count(hub, CalcomBooking) == 1


# --- size limit --------------------------------------------------------------------------------------
def padded_retell_body(size: int) -> str:
    base = retell_body("call_analyzed", "call_big", transcript="")
    filler = size - len(base.encode("utf-8"))
    body = retell_body("call_analyzed", "call_big", transcript="x" * filler)
    assert len(body.encode("utf-8")) == size
    return body


def test_a_body_of_exactly_one_megabyte_is_accepted(api, hub, tenant):
    body = padded_retell_body(MAX_BODY_BYTES)
    reply = post_retell(api, body)
    assert reply.status_code == 200
    assert len(call_row(hub, tenant.company_id, "call_big").data["transcript"]) > 1_000_000


def test_one_byte_more_gets_413_and_nothing_is_stored(api, hub, tenant):
    body = padded_retell_body(MAX_BODY_BYTES + 1)
    assert post_retell(api, body).status_code == 413
    big = calcom_body("BOOKING_CREATED", "bk_big", description="y" * MAX_BODY_BYTES)
    assert post_calcom(api, tenant.company_id, big).status_code == 413
    assert count(hub, WebhookInbox) == 0
    assert metrics(hub, tenant.company_id) == [(False, "too_large", 0)]  # Cal.com names the company in the URL


def test_size_is_enforced_while_reading_not_only_from_content_length(api, hub, tenant):
    body = padded_retell_body(MAX_BODY_BYTES + 1).encode()

    def chunks():  # chunked transfer: no Content-Length to trust
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    reply = api.post("/api/retell/webhook", content=chunks(),
                     headers={"x-retell-signature": retell_sign(body.decode(), RETELL_KEY)})
    assert reply.status_code == 413
    lying = api.post("/api/retell/webhook", content=body, headers={"content-length": "100"})
    assert lying.status_code in (400, 413)  # the server never takes more than the limit either way
    assert count(hub, WebhookInbox) == 0


# --- processing errors and replay ----------------------------------------------------------------
def test_processing_error_keeps_the_event_for_replay(api, hub, tenant):
    with hub.engine.begin() as conn:  # a real failure: the calls table is briefly not there
        conn.execute(text("ALTER TABLE retell_calls RENAME TO retell_calls_away"))
    try:
        reply = post_retell(api, retell_body("call_analyzed", "call_replay"))
    finally:
        with hub.engine.begin() as conn:
            conn.execute(text("ALTER TABLE retell_calls_away RENAME TO retell_calls"))
    assert reply.status_code == 202 and reply.json() == {"ok": True, "status": "queued"}
    with hub.session() as s:
        stored = s.scalars(select(WebhookInbox)).one()
        assert stored.status == "failed" and stored.last_error
    assert metrics(hub, tenant.company_id) == [(False, "processing", 0)]
    assert webhook_status(hub, tenant.company_id, "retell")["pending_replay"] == 1
    # The provider retries: a duplicate, still not lost.
    assert post_retell(api, retell_body("call_analyzed", "call_replay")).json()["status"] == "duplicate"

    result = replay_inbox(hub, tenant.company_id, "retell", actor="test")
    assert (result.attempted, result.processed, result.failed) == (1, 1, 0)
    assert call_row(hub, tenant.company_id, "call_replay").stage == 3
    assert webhook_status(hub, tenant.company_id, "retell")["pending_replay"] == 0
    with hub.session() as s:
        assert s.scalars(select(WebhookInbox)).one().status == "processed"
        assert s.scalar(select(AuditEvent.details).where(AuditEvent.action == "webhook.replayed")) == \
            {"processed": 1, "failed": 0}
    assert replay_inbox(hub, actor="test").attempted == 0


def test_a_permanently_failing_event_stays_failed_after_replay(api, hub, tenant):
    # A start time beyond any timestamp column: the database refuses the row.
    body = retell_body("call_started", "call_bad", start_timestamp=10 ** 20)
    assert post_retell(api, body).status_code == 202
    result = replay_inbox(hub, actor="test")
    assert (result.attempted, result.failed) == (1, 1)
    assert "call_bad" in result.errors[0]
    with hub.session() as s:
        stored = s.scalars(select(WebhookInbox)).one()
    assert stored.status == "failed" and stored.attempts == 2
    assert call_row(hub, tenant.company_id, "call_bad") is None



# --- secrets ---------------------------------------------------------------------------------------
def test_no_secret_reaches_replies_rows_or_logs(api, hub, tenant, caplog):
    caplog.set_level("DEBUG")
    replies = [
        post_retell(api, retell_body("call_ended", "call_s1")),
        post_retell(api, retell_body("call_ended", "call_s2"), OTHER_RETELL_KEY),
        post_calcom(api, tenant.company_id, calcom_body("BOOKING_CREATED", "bk_s1")),
        post_calcom(api, tenant.company_id, calcom_body("BOOKING_CREATED", "bk_s2"), "wrong"),
        post_calcom(api, tenant.company_id, b"{broken"),
    ]
    with hub.engine.begin() as conn:
        conn.execute(text("ALTER TABLE calcom_bookings RENAME TO calcom_bookings_away"))
    try:
        replies.append(post_calcom(api, tenant.company_id, calcom_body("BOOKING_CANCELLED", "bk_s3")))
    finally:
        with hub.engine.begin() as conn:
            conn.execute(text("ALTER TABLE calcom_bookings_away RENAME TO calcom_bookings"))
    assert [r.status_code for r in replies] == [200, 401, 200, 401, 400, 202]
    dump = [caplog.text] + [r.text + str(r.headers) for r in replies]
    with hub.engine.connect() as conn:
        for table in ("webhook_inbox", "integration_metrics", "audit_events", "retell_calls", "calcom_bookings"):
            dump.append(repr(conn.execute(text(f"SELECT * FROM {table}")).all()))
    everything = "\n".join(dump)
    for secret in (RETELL_KEY, CALCOM_SECRET):
        assert secret not in everything

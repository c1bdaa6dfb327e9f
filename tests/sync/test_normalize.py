"""One normalised row per object, whether it came from a REST listing or a webhook."""
from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from integhub.sync import normalize as n

REST_BOOKING = {
    "id": 987, "uid": "bk_1", "title": "Erstberatung zwischen Anna Schmidt und Lea Wolf", "status": "accepted",
    "start": "2026-11-25T09:30:00.000Z", "end": "2026-11-25T10:00:00.000Z", "eventTypeId": 11,
    "eventType": {"id": 12, "slug": "erstberatung"}, "updatedAt": "2026-11-20T08:00:00.000Z",
    "attendees": [{"name": "Lea Wolf", "email": "lea.wolf@web.de"}, {"name": "Gast", "email": "g@x.de"}],
}
WEBHOOK_PAYLOAD = {
    "uid": "bk_1", "bookingId": 987, "title": "Erstberatung zwischen Anna Schmidt und Lea Wolf", "status": "ACCEPTED",
    "startTime": "2026-11-25T10:30:00+01:00", "endTime": "2026-11-25T11:00:00+01:00", "eventTypeId": 12,
    "attendees": [{"name": "Lea Wolf", "email": "lea.wolf@web.de"}],
}
SAME_COLUMNS = ("uid", "remote_id", "title", "status", "start_at", "end_at", "event_type_id", "attendee_name",
                "attendee_email")


def test_rest_and_webhook_bookings_normalise_to_the_same_columns():
    rest = n.booking_from_rest(REST_BOOKING)
    hook = n.booking_from_webhook(WEBHOOK_PAYLOAD, "BOOKING_CREATED", created_at="2026-11-21T08:00:00.000Z")
    assert {k: rest[k] for k in SAME_COLUMNS} == {k: hook[k] for k in SAME_COLUMNS}
    assert rest["start_at"] == datetime(2026, 11, 25, 9, 30) and rest["start_at"].tzinfo is None
    assert rest["event_type_id"] == 12  # eventType.id wins over the deprecated eventTypeId
    assert (rest["source"], hook["source"]) == ("sync", "webhook")
    assert hook["remote_updated_at"] == datetime(2026, 11, 21, 8, 0)


def test_webhook_triggers_decide_the_status():
    assert n.booking_from_webhook(WEBHOOK_PAYLOAD, "BOOKING_CANCELLED")["status"] == "cancelled"
    assert n.booking_from_webhook(WEBHOOK_PAYLOAD, "BOOKING_REJECTED")["status"] == "rejected"
    assert n.booking_from_webhook({**WEBHOOK_PAYLOAD, "status": "ACCEPTED"}, "BOOKING_REQUESTED")["status"] == "pending"
    assert n.booking_from_webhook({**WEBHOOK_PAYLOAD, "status": "PENDING"}, "BOOKING_CREATED")["status"] == "pending"
    assert n.booking_from_webhook({k: v for k, v in WEBHOOK_PAYLOAD.items() if k != "status"},
                                  "BOOKING_RESCHEDULED")["status"] == "accepted"


def test_calls_get_utc_times_and_their_lifecycle_stage():
    call = {"call_id": "call_1", "agent_id": "agent_1", "call_status": "ended", "start_timestamp": 1_764_064_800_000,
            "end_timestamp": 1_764_064_860_500, "call_type": "phone_call", "direction": "inbound"}
    row = n.call_from_api(call)
    assert row["start_at"] == datetime(2025, 11, 25, 10, 0) and row["duration_ms"] == 60_500
    assert row["stage"] == n.STAGE_ENDED
    assert n.call_from_api({**call, "call_analysis": {"call_successful": True}})["stage"] == n.STAGE_ANALYZED
    assert n.call_from_api({**call, "call_status": "registered"})["stage"] == n.STAGE_REGISTERED
    assert n.call_from_api({**call, "call_status": "not_connected"})["stage"] == n.STAGE_REGISTERED
    assert n.call_from_api({**call, "call_status": "ongoing"})["stage"] == n.STAGE_ONGOING
    assert n.call_from_api({**call, "call_status": "error"})["stage"] == n.STAGE_ENDED
    assert [n.call_stage_for_event(e) for e in ("call_started", "call_ended", "call_analyzed")] == [1, 2, 3]
    assert n.call_from_webhook("call_analyzed", call)["stage"] == n.STAGE_ANALYZED


def test_users_event_types_agents_and_numbers():
    me = {"id": 5, "username": "anna-schmidt", "email": " Anna.Schmidt@Praxis.de ", "name": "Anna Schmidt"}
    assert n.user_from_me(me)["remote_id"] == 5
    member = {"id": 1, "userId": 6, "teamId": 3, "role": "ADMIN",
              "user": {"email": "jonas@praxis.de", "username": "jonas", "name": "Jonas Weber"}}
    assert {k: n.user_from_membership(member)[k] for k in ("remote_id", "email", "role")} == \
        {"remote_id": 6, "email": "jonas@praxis.de", "role": "ADMIN"}
    et = n.event_type_from_api({"id": 7, "title": "Folgetermin", "slug": "folgetermin", "lengthInMinutes": 15,
                                "hidden": False}, team_id=3)
    assert (et["length_minutes"], et["team_id"]) == (15, 3)
    assert n.event_type_from_api({"id": 8, "title": "Alt", "length": 30})["length_minutes"] == 30
    assert "webhook_url" not in n.agent_from_api({"agent_id": "agent_1", "agent_name": "Empfang"})
    assert n.agent_from_api({"agent_id": "agent_1", "webhook_url": None})["webhook_url"] is None
    number = n.phone_number_from_api({"phone_number": "+4930123", "inbound_agents": [
        {"agent_id": "agent_low", "weight": 1}, {"agent_id": "agent_high", "weight": 3}]})
    assert number["inbound_agent_id"] == "agent_high"
    assert n.phone_number_from_api({"phone_number": "+4930", "inbound_agent_id": "agent_old"})["inbound_agent_id"] == \
        "agent_old"


def test_bad_values_become_none_instead_of_failing():
    row = n.booking_from_rest({"uid": "x", "start": "not a date", "id": "12", "status": None, "attendees": "?"})
    assert (row["start_at"], row["remote_id"], row["status"], row["attendee_email"]) == (None, 12, None, None)
    assert n.from_epoch_ms("soon") is None and n.parse_iso("2026-11-25") == datetime(2026, 11, 25)


@given(st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats(allow_nan=False), st.booleans()),
       st.integers(min_value=1, max_value=30))
def test_the_short_way_of_clipping_gives_what_the_long_way_gives(value, limit):
    from integhub.sync.normalize import _clip, _str

    assert _clip(value, limit) == _str(value, limit)

"""What a status card says, from the status document (pure functions)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ui import status_view

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


def doc(**kw):
    base = {"configured": True, "state": "connected", "last_sync_at": None, "last_error": None,
            "settings": {"auto_sync_enabled": False, "sync_interval": 60}}
    base.update(kw)
    return base


def labels(provider_status):
    return [b.label_key for b in status_view.badges(provider_status, NOW)]


def test_badge_and_finer_states():
    assert labels(doc()) == ["ui.badge.connected"]
    assert labels(doc(state="invalid_credentials")) == ["ui.badge.disconnected", "ui.state.invalid_credentials"]
    assert labels(doc(state="unreachable")) == ["ui.badge.disconnected", "ui.state.unreachable"]
    assert labels(doc(state="rate_limited")) == ["ui.badge.disconnected", "ui.state.rate_limited"]
    assert labels(doc(configured=False, state="not_configured")) == ["ui.badge.disconnected", "ui.state.not_configured"]
    assert labels(doc(last_error="Cal.com meldet 500")) == ["ui.badge.connected", "ui.state.sync_failed"]


def test_overdue_only_with_auto_sync_and_after_one_and_a_half_intervals():
    on = {"auto_sync_enabled": True, "sync_interval": 60}
    just_late = (NOW - timedelta(minutes=91)).isoformat()
    in_time = (NOW - timedelta(minutes=89)).isoformat()
    assert "ui.state.sync_overdue" in labels(doc(settings=on, last_sync_at=just_late))
    assert "ui.state.sync_overdue" not in labels(doc(settings=on, last_sync_at=in_time))
    assert "ui.state.sync_overdue" not in labels(doc(last_sync_at=just_late))  # auto-sync off
    assert "ui.state.sync_overdue" not in labels(doc(settings=on))  # never synced: due, not late


def test_last_sync_relative_and_absolute_in_the_company_time_zone():
    text = status_view.last_sync_text(doc(last_sync_at="2026-11-25T09:55:00+00:00"), "Europe/Berlin", "de", NOW)
    assert text == "vor 5 Minuten · 25.11.2026, 10:55"
    text = status_view.last_sync_text(doc(last_sync_at="2026-11-25T08:59:00+00:00"), "America/New_York", "en", NOW)
    assert text == "1 hour ago · 2026-11-25 03:59"
    assert status_view.last_sync_text(doc(), "Europe/Berlin", "de", NOW) == "Nie"


def test_stat_items_combine_users_and_prefer_the_last_24_hours():
    cal = status_view.stat_items({"event_types": 3, "users": 12, "users_mapped": 7, "bookings": 12345}, "de")
    assert cal == [("ui.stat.event_types", "3"), ("ui.stat.users_mapped", "7 / 12"), ("ui.stat.bookings", "12.345")]
    retell = status_view.stat_items({"agents": 2, "phone_numbers": 1, "calls": 900, "calls_24h": 4}, "en")
    assert retell == [("ui.stat.agents", "2"), ("ui.stat.phone_numbers", "1"), ("ui.stat.calls_24h", "4")]

import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from integhub.errors import ConflictError
from integhub.models import AuditEvent, IntegrationConfig
from integhub.services.companies import create_branch, create_company, create_staff
from integhub.services.configs import load_config, load_configs, save_config
from integhub.services.status import company_status, validate_dependencies
from tests.fakes import GOOD_CAL, GOOD_CAL_2, GOOD_RETELL, FakeRemote


@pytest.fixture
def remote(monkeypatch):
    return FakeRemote().install(monkeypatch)


@pytest.fixture
def company(hub):
    return create_company(hub, "Praxis Dr. Müller")


def _counts(hub):
    with hub.session() as s:
        return (s.scalar(select(func.count()).select_from(IntegrationConfig)),
                s.scalar(select(func.count()).select_from(AuditEvent)))


def test_save_encrypts_audits_and_shows_only_a_mask(hub, company, remote):
    result = save_config(hub, company.id, "calcom", api_key=f"Bearer {GOOD_CAL}  ",
                         settings={"team_slug": "mein-team"}, actor="anna@hub")
    assert result.ok, result.error_message()
    assert [s.name for s in result.steps] == ["check_input", "validate_key", "encrypt", "save", "audit"]
    view = result.config
    assert view.key_mask == "cal_…cdef" and view.is_active and view.version == 1
    assert GOOD_CAL not in repr(view)
    with hub.session() as s:
        row = s.scalar(select(IntegrationConfig))
        assert row.api_key.startswith("ih1:") and GOOD_CAL not in row.api_key
        audit = s.scalar(select(AuditEvent).where(AuditEvent.action == "config.created"))
        assert audit.actor == "anna@hub" and audit.new_key_fingerprint == view.key_fingerprint
        assert GOOD_CAL not in str(audit.details)


def test_database_file_holds_no_plaintext_key(hub, company, remote, db_url):
    assert save_config(hub, company.id, "calcom", api_key=GOOD_CAL).ok
    if db_url.startswith("sqlite"):
        hub.engine.dispose()
        path = Path(db_url.split("///", 1)[1])
        blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert GOOD_CAL.encode() not in blob
    else:
        with hub.engine.connect() as conn:
            dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM integration_configs")))
            dump += " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_events")))
        assert GOOD_CAL not in dump


def test_rejected_key_changes_nothing_and_keeps_the_working_key(hub, company, remote):
    assert save_config(hub, company.id, "calcom", api_key=GOOD_CAL).ok
    before = _counts(hub)
    result = save_config(hub, company.id, "calcom", api_key="cal_rejectedrejectedrejected000")
    assert not result.ok and result.error.code == "invalid_credentials"
    assert "abgelehnt" in result.error_message("de")
    assert _counts(hub) == before
    assert load_config(hub, company.id, "calcom").key_mask == "cal_…cdef"


def test_provider_down_changes_nothing(hub, company, monkeypatch):
    FakeRemote(down=True).install(monkeypatch)
    result = save_config(hub, company.id, "calcom", api_key=GOOD_CAL)
    assert not result.ok and result.error.code == "unreachable"
    assert _counts(hub)[0] == 0


def test_empty_key_keeps_the_stored_key(hub, company, remote):
    assert save_config(hub, company.id, "calcom", api_key=GOOD_CAL).ok
    result = save_config(hub, company.id, "calcom", api_key="", settings={"auto_sync_enabled": True, "sync_interval": 15},
                         trigger_sync=False)
    assert result.ok
    assert result.config.key_mask == "cal_…cdef" and result.config.settings["sync_interval"] == 15


def test_key_change_is_audited_as_rotation_with_both_fingerprints(hub, company, remote):
    first = save_config(hub, company.id, "calcom", api_key=GOOD_CAL).config
    second = save_config(hub, company.id, "calcom", api_key=GOOD_CAL_2).config
    with hub.session() as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "config.key_rotated"))
    assert ev.old_key_fingerprint == first.key_fingerprint and ev.new_key_fingerprint == second.key_fingerprint


def test_stale_version_gets_a_conflict_not_an_overwrite(hub, company, remote):
    v1 = save_config(hub, company.id, "calcom", api_key=GOOD_CAL).config.version
    assert save_config(hub, company.id, "calcom", settings={"team_slug": "team-a"}, expected_version=v1).ok
    late = save_config(hub, company.id, "calcom", settings={"team_slug": "team-b"}, expected_version=v1)
    assert not late.ok and isinstance(late.error, ConflictError)
    assert "inzwischen" in late.error_message("de")
    assert load_config(hub, company.id, "calcom").settings["team_slug"] == "team-a"


def test_concurrent_saves_of_the_same_version_let_exactly_one_win(hub, company, remote):
    v1 = save_config(hub, company.id, "calcom", api_key=GOOD_CAL).config.version
    barrier = threading.Barrier(4)
    results = []

    def admin(slug):
        barrier.wait()
        results.append(save_config(hub, company.id, "calcom", settings={"team_slug": slug}, expected_version=v1))

    threads = [threading.Thread(target=admin, args=(f"team-{i}",)) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sum(r.ok for r in results) == 1
    assert all(isinstance(r.error, ConflictError) for r in results if not r.ok)
    assert load_config(hub, company.id, "calcom").version == v1 + 1


def test_dependency_rules_follow_the_spec(hub, company, remote):
    assert validate_dependencies(hub, company.id) == {"calcom": [], "retell": []}  # nothing configured
    save_config(hub, company.id, "calcom", api_key=GOOD_CAL)
    save_config(hub, company.id, "retell", api_key=GOOD_RETELL)
    issues = validate_dependencies(hub, company.id, lang="de")
    assert [i["message"] for i in issues["calcom"]] == ["Cal.com benötigt mindestens eine Filiale",
                                                        "Cal.com benötigt mindestens einen Mitarbeiter"]
    assert [i["message"] for i in issues["retell"]] == ["Retell.ai benötigt mindestens eine Filiale"]
    branch = create_branch(hub, company.id, "Filiale Mitte")
    issues = validate_dependencies(hub, company.id, lang="en")
    assert [i["message"] for i in issues["calcom"]] == ["Cal.com needs at least one staff member"]
    assert issues["retell"] == []
    create_staff(hub, company.id, "Anna Schmidt", "anna@example.de", branch_id=branch.id)
    assert validate_dependencies(hub, company.id) == {"calcom": [], "retell": []}


def test_status_document_follows_the_contract(hub, company, remote):
    save_config(hub, company.id, "calcom", api_key=GOOD_CAL)
    doc = company_status(hub, company.id)
    assert doc["company_id"] == str(company.id)
    cal, ret = doc["providers"]["calcom"], doc["providers"]["retell"]
    assert cal["state"] == "connected" and cal["configured"] and cal["is_active"]
    assert {"event_types", "users", "users_mapped", "bookings"} <= set(cal["stats"])
    assert ret["state"] == "not_configured" and not ret["configured"]
    assert {"agents", "phone_numbers", "calls"} <= set(ret["stats"])
    for p in (cal, ret):
        assert {"configured", "is_active", "state", "last_sync_at", "last_error", "stats", "dependency_issues"} <= set(p)


def test_status_is_cached_per_company_and_provider(hub, company, remote):
    save_config(hub, company.id, "calcom", api_key=GOOD_CAL)
    remote.calls = 0
    for _ in range(5):
        company_status(hub, company.id)
    assert remote.calls == 1


def test_audit_rows_cannot_be_changed(hub, company):
    with pytest.raises(Exception):
        with hub.session() as s:
            s.execute(text("UPDATE audit_events SET actor = 'mallory'"))
    with pytest.raises(Exception):
        with hub.session() as s:
            s.execute(text("DELETE FROM audit_events"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.one_of(st.none(), st.text(max_size=600)),
       slug=st.one_of(st.none(), st.text(max_size=80)),
       interval=st.one_of(st.none(), st.integers(), st.text(max_size=5)),
       auto=st.one_of(st.none(), st.booleans(), st.text(max_size=5)),
       event_type=st.one_of(st.none(), st.integers(), st.text(max_size=12)))
def test_arbitrary_input_never_crashes_and_never_half_saves(hub, company, remote, key, slug, interval, auto, event_type):
    assert save_config(hub, company.id, "calcom", api_key=GOOD_CAL, trigger_sync=False).ok
    before_view, before_counts = load_config(hub, company.id, "calcom"), _counts(hub)
    raw = {k: v for k, v in {"team_slug": slug, "sync_interval": interval, "auto_sync_enabled": auto,
                            "default_event_type_id": event_type}.items() if v is not None}
    result = save_config(hub, company.id, "calcom", api_key=key, settings=raw, trigger_sync=False)
    after = load_config(hub, company.id, "calcom")
    if result.ok:
        assert after.version in (before_view.version, before_view.version + 1)  # a no-op save bumps nothing
    else:
        assert result.error_message("de") and result.error_message("en")
        assert _counts(hub) == before_counts
        assert (after.version, after.key_fingerprint, after.settings) == (
            before_view.version, before_view.key_fingerprint, before_view.settings)
    # reset for the next example
    with hub.session() as s:
        s.execute(text("DELETE FROM integration_configs"))


def test_status_carries_sync_and_webhook_state(hub, company, remote):
    save_config(hub, company.id, "calcom", api_key=GOOD_CAL)
    cal = company_status(hub, company.id)["providers"]["calcom"]
    assert cal["sync"]["running"] is None and cal["sync"]["consecutive_failures"] == 0
    assert cal["webhook"]["registered"] is False and cal["webhook"]["signature_failures_24h"] == 0
    assert [d["fix_page"] for d in cal["dependency_details"]] == ["companies", "companies"]

"""The sync engine against the simulator over real HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from integhub.models import (
    CalcomBooking,
    CalcomEventType,
    CalcomUser,
    IntegrationConfig,
    IntegrationMetric,
    RetellAgent,
    RetellCall,
    RetellPhoneNumber,
    utcnow,
)
from integhub.models_sync import SyncRun, SyncState
from integhub.services.stats import provider_stats
from integhub.services.sync import SyncAlreadyRunning, run_sync, running_sync, sync_status
from integhub.sync import lease as leases
from integhub.sync.normalize import STAGE_ANALYZED
from integhub.sync.upsert import upsert_rows
from tests.sync.conftest import configure, new_practice

SYNCED_MODELS = {
    "calcom": (CalcomEventType, CalcomUser, CalcomBooking),
    "retell": (RetellAgent, RetellPhoneNumber, RetellCall),
}


def snapshot(hub, provider: str, company_id) -> dict[str, list[tuple]]:
    """Every stored row of the provider's tables, without the per-run `synced_at` stamp."""
    out = {}
    with hub.session() as s:
        for model in SYNCED_MODELS[provider]:
            cols = [c for c in model.__table__.c if c.name != "synced_at"]
            rows = s.execute(select(*cols).where(model.company_id == company_id)).all()
            out[model.__tablename__] = sorted((tuple(str(v) for v in r) for r in rows))
    return out


def metrics(hub, company_id, provider):
    with hub.session() as s:
        return s.scalars(select(IntegrationMetric).where(IntegrationMetric.company_id == company_id,
                                                         IntegrationMetric.provider == provider,
                                                         IntegrationMetric.action == "sync")
                         .order_by(IntegrationMetric.id)).all()


def config_row(hub, company_id, provider):
    with hub.session() as s:
        return s.scalar(select(IntegrationConfig).where(IntegrationConfig.company_id == company_id,
                                                        IntegrationConfig.provider == provider))


@pytest.mark.parametrize("provider", ["calcom", "retell"])
def test_a_sync_stores_what_the_provider_has_and_running_it_again_changes_nothing(hub, simulator, options, provider):
    practice = new_practice(hub, simulator, bookings=30, calls=40)
    version_before = config_row(hub, practice.company_id, provider).version

    first = run_sync(hub, practice.company_id, provider, options=options, trigger="cli")
    assert first.success, first.error
    expected = ({"event_types": 3, "users": 1, "bookings": 30} if provider == "calcom"
                else {"agents": 2, "phone_numbers": 2, "calls": 40})
    assert first.counts == expected
    assert first.records_synced == sum(expected.values())
    stats = provider_stats(hub, practice.company_id, provider)
    assert {k: stats[k] for k in expected} == expected
    rows_after_first = snapshot(hub, provider, practice.company_id)

    second = run_sync(hub, practice.company_id, provider, options=options)
    assert second.success, second.error
    assert snapshot(hub, provider, practice.company_id) == rows_after_first

    ms = metrics(hub, practice.company_id, provider)
    assert [(m.success, m.records_synced, m.error_code) for m in ms] == [
        (True, first.records_synced, None), (True, second.records_synced, None)]
    row = config_row(hub, practice.company_id, provider)
    assert row.last_sync_at is not None and row.last_error is None
    assert row.version == version_before  # sync bookkeeping is not an admin edit


def test_bookings_of_personal_and_team_listings_are_stored_once(hub, simulator, options):
    practice = new_practice(hub, simulator, bookings=20, team_bookings=5, members=4)
    configure(hub, practice.company_id, "calcom", practice.cal_key, team_slug="mein-team")
    result = run_sync(hub, practice.company_id, "calcom", options=options)
    assert result.success, result.error
    team_paths = [r for r in simulator.requests("calcom") if r["path"].endswith("/bookings") and "teams" in r["path"]]
    assert team_paths, "the team's bookings were not read"
    with hub.session() as s:
        stored = s.scalar(select(func.count()).select_from(CalcomBooking)
                          .where(CalcomBooking.company_id == practice.company_id))
        uids = s.scalars(select(CalcomBooking.uid).where(CalcomBooking.company_id == practice.company_id)).all()
    assert stored == result.counts["bookings"] == len(set(uids))
    assert result.counts["users"] == 4  # the team's members, not only the key's owner


def test_a_failing_object_type_leaves_earlier_types_committed_and_its_own_data_untouched(hub, simulator, options):
    practice = new_practice(hub, simulator, bookings=12)
    assert run_sync(hub, practice.company_id, "calcom", options=options).success
    before = snapshot(hub, "calcom", practice.company_id)
    last_sync_before = config_row(hub, practice.company_id, "calcom").last_sync_at

    # The remote changes (more event types, fewer bookings), and the bookings listing fails.
    simulator.configure(practice.cal_key, event_types=5, bookings=10)
    simulator.fault(provider="calcom", path_prefix="/v2/bookings", kind="status", status=500)
    failed = run_sync(hub, practice.company_id, "calcom", options=options)

    assert not failed.success and failed.error_code == "provider_error"
    assert failed.counts == {"event_types": 5, "users": 1}
    after = snapshot(hub, "calcom", practice.company_id)
    assert after["calcom_bookings"] == before["calcom_bookings"]  # untouched: no update, no deletion
    assert len(after["calcom_event_types"]) == 5  # committed before the failure
    row = config_row(hub, practice.company_id, "calcom")
    assert row.last_sync_at == last_sync_before
    assert "Cal.com" in row.last_error
    assert metrics(hub, practice.company_id, "calcom")[-1].success is False

    simulator.clear_faults()
    again = run_sync(hub, practice.company_id, "calcom", options=options)
    assert again.success and again.deleted["bookings"] == 2
    row = config_row(hub, practice.company_id, "calcom")
    assert row.last_error is None and row.last_sync_at > last_sync_before
    assert provider_stats(hub, practice.company_id, "calcom")["bookings"] == 10


@pytest.mark.parametrize("provider", ["calcom", "retell"])
def test_a_listing_failing_half_way_after_its_rows_were_staged_changes_nothing(hub, simulator, options, provider,
                                                                               monkeypatch):
    """Rows are staged while the listing is read (on PostgreSQL by COPY into a temporary table once
    enough have come); a page failing after that must leave the stored rows exactly as they were."""
    import integhub.sync.engine as engine_module
    import integhub.sync.upsert as upsert_module

    monkeypatch.setattr(upsert_module, "COPY_MIN_ROWS", 5)
    monkeypatch.setattr(engine_module, "CHUNK_ROWS", 5)
    staged = []
    real_open = upsert_module.UpsertStream._open_staging
    monkeypatch.setattr(upsert_module.UpsertStream, "_open_staging", lambda self: staged.append(1) or real_open(self))
    options = dataclasses.replace(options, bookings_page_size=10, calls_page_size=10, listing_attempts=1,
                                  calls_overlap_minutes=200 * 24 * 60)  # the second run reads every call again
    practice = new_practice(hub, simulator, bookings=60, calls=60)
    assert run_sync(hub, practice.company_id, provider, options=options).success
    before = snapshot(hub, provider, practice.company_id)
    with hub.session() as s:
        stamps = sorted(s.scalars(select(SYNCED_MODELS[provider][2].synced_at)))

    simulator.fault(provider=provider, path_prefix=LISTING[provider], kind="truncated", skip=3, count=1)
    staged.clear()
    failed = run_sync(hub, practice.company_id, provider, options=options)
    assert bool(staged) == (hub.dialect == "postgresql")  # the first pages had gone to the server already

    assert not failed.success and failed.error_code == "malformed_response"
    assert snapshot(hub, provider, practice.company_id) == before
    with hub.session() as s:
        assert sorted(s.scalars(select(SYNCED_MODELS[provider][2].synced_at))) == stamps  # not even re-stamped
        if hub.dialect == "postgresql":
            assert s.scalar(select(func.count()).select_from(text("pg_tables"))
                            .where(text("tablename LIKE 'integhub_upsert_staging_%'"))) == 0


FAULTS = {
    "5xx": ({"kind": "status", "status": 503}, "provider_error"),
    "429": ({"kind": "rate_limit", "reset_seconds": 0.05}, "rate_limited"),
    "timeout": ({"kind": "hang", "hang_seconds": 2.0}, "timeout"),
    "malformed_json": ({"kind": "malformed", "variant": "invalid_json"}, "malformed_response"),
    "truncated_page": ({"kind": "truncated"}, "malformed_response"),
}
LISTING = {"calcom": "/v2/bookings", "retell": "/v3/list-calls"}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("provider", ["calcom", "retell"])
def test_every_injected_fault_is_retried_then_fails_cleanly(hub, simulator, options, provider, fault):
    practice = new_practice(hub, simulator, bookings=250, calls=30)
    spec, code = FAULTS[fault]
    opts = options if fault != "timeout" else type(options)(**{**options.__dict__, "request_timeout": 0.3})
    simulator.fault(provider=provider, path_prefix=LISTING[provider], **spec)
    before = len(simulator.requests(provider))

    result = run_sync(hub, practice.company_id, provider, options=opts)

    assert not result.success and result.error_code == code
    assert result.error and "Traceback" not in result.error
    listing_calls = [r for r in simulator.requests(provider)[before:] if r["path"] == LISTING[provider]]
    assert len(listing_calls) >= 2, "the failing listing was not retried"
    last = metrics(hub, practice.company_id, provider)[-1]
    assert (last.success, last.error_code) == (False, code)
    state = sync_status(hub, practice.company_id, provider)
    assert state["running"] is None and state["consecutive_failures"] == 1
    assert config_row(hub, practice.company_id, provider).last_error == result.error


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_that_passes_is_absorbed_by_the_retries(hub, simulator, options, fault):
    practice = new_practice(hub, simulator, bookings=250)
    spec, _code = FAULTS[fault]
    opts = options if fault != "timeout" else type(options)(**{**options.__dict__, "request_timeout": 0.3})
    simulator.fault(provider="calcom", path_prefix="/v2/bookings", count=1, **spec)
    result = run_sync(hub, practice.company_id, "calcom", options=opts)
    assert result.success, result.error
    assert result.counts["bookings"] == 250


def test_the_delete_guard_stops_a_run_that_would_delete_more_than_half(hub, simulator, options):
    practice = new_practice(hub, simulator, bookings=12)
    assert run_sync(hub, practice.company_id, "calcom", options=options).success
    before = snapshot(hub, "calcom", practice.company_id)["calcom_bookings"]

    simulator.configure(practice.cal_key, bookings=5)  # 7 of 12 gone: more than half
    stopped = run_sync(hub, practice.company_id, "calcom", options=options)
    assert not stopped.success and stopped.error_code == "delete_guard"
    assert "7" in stopped.error and "12" in stopped.error
    assert snapshot(hub, "calcom", practice.company_id)["calcom_bookings"] == before
    assert provider_stats(hub, practice.company_id, "calcom")["bookings"] == 12

    confirmed = run_sync(hub, practice.company_id, "calcom", options=options, force_deletes=True)
    assert confirmed.success and confirmed.deleted["bookings"] == 7
    assert provider_stats(hub, practice.company_id, "calcom")["bookings"] == 5

    simulator.configure(practice.cal_key, bookings=12)  # they come back: the soft delete is undone
    back = run_sync(hub, practice.company_id, "calcom", options=options)
    assert back.success and provider_stats(hub, practice.company_id, "calcom")["bookings"] == 12


def test_a_listing_read_ahead_is_not_stored_when_an_earlier_object_type_fails(hub, simulator, options):
    practice = new_practice(hub, simulator, event_types=10, bookings=12)
    assert run_sync(hub, practice.company_id, "calcom", options=options).success
    before = snapshot(hub, "calcom", practice.company_id)

    # Event types trip the delete guard; the bookings listing (already being read behind them) has changed.
    simulator.configure(practice.cal_key, event_types=2, bookings=14)
    stopped = run_sync(hub, practice.company_id, "calcom", options=options)
    assert not stopped.success and stopped.error_code == "delete_guard" and stopped.counts == {}
    assert snapshot(hub, "calcom", practice.company_id) == before


def test_a_few_remote_deletions_are_marked_without_the_guard(hub, simulator, options):
    practice = new_practice(hub, simulator, agents=4, calls=5)
    assert run_sync(hub, practice.company_id, "retell", options=options).success
    simulator.configure(practice.retell_key, agents=3)
    result = run_sync(hub, practice.company_id, "retell", options=options)
    assert result.success and result.deleted["agents"] == 1
    with hub.session() as s:
        deleted = s.scalars(select(RetellAgent.agent_id).where(RetellAgent.company_id == practice.company_id,
                                                               RetellAgent.deleted_at.is_not(None))).all()
    assert len(deleted) == 1
    assert provider_stats(hub, practice.company_id, "retell")["agents"] == 3


def test_bookings_before_the_window_are_not_marked_deleted(hub, simulator, options):
    practice = new_practice(hub, simulator, bookings=40)
    assert run_sync(hub, practice.company_id, "calcom", options=options).success
    configure(hub, practice.company_id, "calcom", practice.cal_key, booking_window_days=7)
    narrow = run_sync(hub, practice.company_id, "calcom", options=options)
    assert narrow.success, narrow.error
    assert narrow.counts["bookings"] < 40 and narrow.deleted["bookings"] == 0
    assert provider_stats(hub, practice.company_id, "calcom")["bookings"] == 40


def test_calls_are_read_incrementally_from_the_newest_synced_start_minus_the_overlap(hub, simulator, options):
    practice = new_practice(hub, simulator, calls=50)
    assert run_sync(hub, practice.company_id, "retell", options=options).success
    with hub.session() as s:
        newest = s.scalar(select(func.max(RetellCall.start_timestamp_ms))
                          .where(RetellCall.company_id == practice.company_id))
    before = len(simulator.requests("retell"))
    second = run_sync(hub, practice.company_id, "retell", options=options)
    assert second.success
    bodies = [r["body"] for r in simulator.requests("retell")[before:] if r["path"] == "/v3/list-calls"]
    low, _high = bodies[0]["filter_criteria"]["start_timestamp"]["value"]
    assert low == newest - int(options.calls_overlap_minutes * 60_000)
    assert 1 <= second.counts["calls"] < 50
    assert provider_stats(hub, practice.company_id, "retell")["calls"] == 50  # nothing lost, nothing deleted


def test_a_later_stage_stored_by_a_webhook_is_not_overwritten_by_an_older_listing(hub, simulator, options):
    practice = new_practice(hub, simulator, calls=40)
    assert run_sync(hub, practice.company_id, "retell", options=options).success
    with hub.session() as s:
        # the next run reads the whole window again, the call included
        s.execute(SyncState.__table__.update().where(SyncState.company_id == practice.company_id).values(cursors={}))
        call = s.scalars(select(RetellCall).where(RetellCall.company_id == practice.company_id,
                                                  RetellCall.stage < STAGE_ANALYZED)).first()
        assert call is not None
        row = {c.name: getattr(call, c.name) for c in RetellCall.__table__.c}
        row.update(stage=STAGE_ANALYZED, call_status="ended", disconnection_reason="from_webhook",
                   source="webhook", synced_at=utcnow())
        upsert_rows(s, RetellCall, [row], key_cols=("company_id", "call_id"))
    assert run_sync(hub, practice.company_id, "retell", options=options).success
    with hub.session() as s:
        kept = s.get(RetellCall, (practice.company_id, call.call_id))
    assert (kept.stage, kept.disconnection_reason, kept.deleted_at) == (STAGE_ANALYZED, "from_webhook", None)


def test_a_second_sync_while_one_runs_is_refused_with_its_start_time(hub, simulator, options):
    practice = new_practice(hub, simulator)
    held = leases.claim(hub, practice.company_id, "calcom", trigger="manual", actor="anna", lease_seconds=30)
    assert held is not None
    running = running_sync(hub, practice.company_id, "calcom")
    assert running["started_at"] == held.started_at and running["actor"] == "anna"
    with pytest.raises(SyncAlreadyRunning) as caught:
        run_sync(hub, practice.company_id, "calcom", options=options)
    assert held.started_at.isoformat(timespec="seconds") in caught.value.message("de")
    assert metrics(hub, practice.company_id, "calcom") == []  # a refused run is no run
    assert run_sync(hub, practice.company_id, "retell", options=options).success  # other pairs are free


def test_an_expired_lease_of_a_dead_run_is_taken_over(hub, simulator, options):
    practice = new_practice(hub, simulator)
    dead = leases.claim(hub, practice.company_id, "calcom", trigger="worker", actor="worker", lease_seconds=0.2)
    with hub.session() as s:  # the dead run had opened its run row
        s.add(SyncRun(company_id=practice.company_id, provider="calcom", trigger="worker", actor="worker",
                      holder=dead.holder, started_at=dead.started_at))
    with pytest.raises(SyncAlreadyRunning):
        run_sync(hub, practice.company_id, "calcom", options=options)
    threading.Event().wait(0.4)
    assert running_sync(hub, practice.company_id, "calcom") is None
    result = run_sync(hub, practice.company_id, "calcom", options=options)
    assert result.success
    codes = [(m.success, m.error_code) for m in metrics(hub, practice.company_id, "calcom")]
    assert codes == [(False, "abandoned"), (True, None)]


def test_a_cancelled_run_releases_its_lease_and_is_not_counted_as_a_failure(hub, simulator, options):
    practice = new_practice(hub, simulator, bookings=300)
    cancel = threading.Event()

    def progress(step, counts):
        if step == "users":
            cancel.set()

    result = run_sync(hub, practice.company_id, "calcom", options=options, cancel=cancel, progress=progress)
    assert not result.success and result.error_code == "cancelled"
    assert result.counts == {"event_types": 3, "users": 1}
    state = sync_status(hub, practice.company_id, "calcom")
    assert state["running"] is None and state["consecutive_failures"] == 0
    assert run_sync(hub, practice.company_id, "calcom", options=options).success


def test_failures_back_off_exponentially_and_a_success_resets(hub, simulator, options):
    practice = new_practice(hub, simulator)
    simulator.revoke(practice.retell_key)
    for expected in (1, 2, 3):
        result = run_sync(hub, practice.company_id, "retell", options=options)
        assert result.error_code == "invalid_credentials"
        state = sync_status(hub, practice.company_id, "retell")
        assert state["consecutive_failures"] == expected and state["backing_off"]
    with hub.session() as s:
        next_at = s.scalar(select(SyncState.next_attempt_at).where(SyncState.company_id == practice.company_id,
                                                                   SyncState.provider == "retell"))
    wait = (next_at - utcnow()).total_seconds()
    assert 4 * 60 - 10 < wait <= 4 * 60  # 60 s, 120 s, 240 s
    assert options.backoff_delay(20) == options.backoff_max_seconds

    simulator.reset()
    result = run_sync(hub, practice.company_id, "retell", options=options)
    assert result.success
    state = sync_status(hub, practice.company_id, "retell")
    assert state["consecutive_failures"] == 0 and not state["backing_off"]
    assert state["last_run"]["success"] is True and state["last_run"]["counts"]["agents"] == 2


def test_unconfigured_or_inactive_pairs_fail_without_a_run(hub, simulator, options):
    from integhub.services.companies import create_company

    company = create_company(hub, "Ohne Anbieter", actor="test")
    result = run_sync(hub, company.id, "calcom", options=options)
    assert not result.success and result.error_code == "not_configured"
    assert metrics(hub, company.id, "calcom") == []


def test_no_secret_reaches_runs_metrics_configs_or_logs(hub, simulator, options, caplog):
    practice = new_practice(hub, simulator)
    simulator.revoke(practice.cal_key)
    simulator.fault(provider="retell", kind="status", status=500)
    with caplog.at_level("DEBUG"):
        assert not run_sync(hub, practice.company_id, "calcom", options=options).success
        assert not run_sync(hub, practice.company_id, "retell", options=options).success
    with hub.session() as s:
        stored = [repr(tuple(r)) for model in (SyncRun, SyncState, IntegrationMetric)
                  for r in s.execute(select(*model.__table__.c)).all()]
        stored += [row.last_error or "" for row in s.scalars(select(IntegrationConfig))]
    text = "\n".join(stored) + caplog.text
    for secret in (practice.cal_key, practice.retell_key):
        assert secret not in text
        assert secret[-12:] not in text


def test_a_sync_older_than_the_window_cutoff_is_read_in_full_again(hub, simulator, options):
    """A stale cursor (sync paused for longer than the window) never reads before the window."""
    practice = new_practice(hub, simulator, calls=20)
    assert run_sync(hub, practice.company_id, "retell", options=options).success
    with hub.session() as s:
        s.execute(SyncState.__table__.update().where(SyncState.company_id == practice.company_id,
                                                     SyncState.provider == "retell")
                  .values(cursors={"calls_start_ms": 0}))
    before = len(simulator.requests("retell"))
    assert run_sync(hub, practice.company_id, "retell", options=options).success
    body = [r["body"] for r in simulator.requests("retell")[before:] if r["path"] == "/v3/list-calls"][0]
    low = body["filter_criteria"]["start_timestamp"]["value"][0]
    window_start = (datetime.now(timezone.utc) - timedelta(days=90)).timestamp()
    assert abs(low / 1000 - window_start) < 120

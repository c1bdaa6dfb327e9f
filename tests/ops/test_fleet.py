"""The fleet grid: freshness against the interval, problem filter, scope, pagination, bulk sync."""
from datetime import timedelta

import pytest

from integhub.errors import PermissionDenied
from integhub.models import IntegrationConfig, utcnow
from integhub.services import fleet
from integhub.services.access import Grant, Identity, system_identity
from integhub.services.companies import create_company
from integhub.services.fleet import FleetFilter


def who(role, company=None):
    return Identity(email=f"{role}@example.com", source="oidc", grants=(Grant(role, company),))


def add_config(hub, cid, provider, *, minutes_ago, interval=15, auto=True, error=None, created_minutes_ago=None):
    now = utcnow()
    with hub.session() as s:
        s.add(IntegrationConfig(
            company_id=cid, provider=provider, is_active=True, last_error=error,
            settings={"auto_sync_enabled": auto, "sync_interval": interval},
            last_sync_at=None if minutes_ago is None else now - timedelta(minutes=minutes_ago),
            created_at=now - timedelta(minutes=created_minutes_ago or 0)))


@pytest.fixture
def fleet_db(hub):
    ids = {name: create_company(hub, name).id for name in ("Anna", "Bert", "Carl", "Dora", "Emil")}
    add_config(hub, ids["Anna"], "calcom", minutes_ago=10)  # on time (15 min interval)
    add_config(hub, ids["Bert"], "calcom", minutes_ago=20)  # late
    add_config(hub, ids["Carl"], "calcom", minutes_ago=31)  # failing: more than twice the interval
    add_config(hub, ids["Dora"], "retell", minutes_ago=None, created_minutes_ago=90, interval=30)  # never synced: failing
    add_config(hub, ids["Emil"], "retell", minutes_ago=5000, auto=False, error="Schlüssel abgelehnt")  # manual, error
    add_config(hub, ids["Anna"], "retell", minutes_ago=None, created_minutes_ago=1)  # new: on time
    return ids


def freshness(page):
    return {(r.company, r.provider): r.freshness for r in page.rows}


def test_freshness_against_the_interval(hub, fleet_db):
    page = fleet.fleet_page(hub, who("admin"), limit=100)
    assert page.total == 10  # 5 companies × 2 providers
    assert freshness(page) == {
        ("Anna", "calcom"): "on_time", ("Anna", "retell"): "on_time",
        ("Bert", "calcom"): "late", ("Bert", "retell"): "not_configured",
        ("Carl", "calcom"): "failing", ("Carl", "retell"): "not_configured",
        ("Dora", "calcom"): "not_configured", ("Dora", "retell"): "failing",
        ("Emil", "calcom"): "not_configured", ("Emil", "retell"): "manual",
    }
    assert page.counts == {"on_time": 2, "late": 1, "failing": 2, "manual": 1, "not_configured": 4}
    assert page.problems == 4
    bert = next(r for r in page.rows if r.company == "Bert" and r.provider == "calcom")
    assert 19.5 < bert.minutes_since_sync < 21 and bert.interval_minutes == 15


def test_problem_filter_search_and_pagination(hub, fleet_db):
    problems = fleet.fleet_page(hub, who("admin"), FleetFilter(problems_only=True))
    assert {(r.company, r.provider) for r in problems.rows} == {
        ("Bert", "calcom"), ("Carl", "calcom"), ("Dora", "retell"), ("Emil", "retell")}
    assert all(r.problem for r in problems.rows)
    only = fleet.fleet_page(hub, who("admin"), FleetFilter(provider="retell", freshness=["failing"]))
    assert [(r.company, r.provider) for r in only.rows] == [("Dora", "retell")]
    assert fleet.fleet_page(hub, who("admin"), FleetFilter(search="mil")).total == 2
    for size in (3, 4):  # odd page sizes split a company's providers across pages
        pages = [fleet.fleet_page(hub, who("admin"), limit=size, offset=o) for o in range(0, 10, size)]
        seen = [(r.company, r.provider) for p in pages for r in p.rows]
        assert seen == sorted(seen) and len(set(seen)) == 10 and pages[0].total == 10
    missing = fleet.fleet_page(hub, who("admin"), FleetFilter(freshness=["not_configured", "manual"]), limit=3)
    assert missing.total == 5 and [(r.company, r.freshness) for r in missing.rows] == [
        ("Bert", "not_configured"), ("Carl", "not_configured"), ("Dora", "not_configured")]
    both = fleet.fleet_page(hub, who("admin"), FleetFilter(freshness=["late", "on_time"]), limit=2, offset=2)
    assert both.total == 3 and [(r.company, r.provider) for r in both.rows] == [("Bert", "calcom")]


def test_scope_and_permissions(hub, fleet_db):
    scoped = fleet.fleet_page(hub, who("operator", fleet_db["Carl"]))
    assert {r.company for r in scoped.rows} == {"Carl"} and scoped.total == 2
    with pytest.raises(PermissionDenied):
        fleet.fleet_page(hub, who("analyst"))
    with pytest.raises(PermissionDenied):  # may see Carl only, so may not sync Anna
        fleet.sync_now(hub, who("operator", fleet_db["Carl"]), [(fleet_db["Anna"], "calcom")])
    overdue = fleet.overdue_counts(hub)
    assert overdue == {"calcom": {"late": 1, "failing": 1}, "retell": {"late": 0, "failing": 1}}


def test_bulk_sync_now_runs_each_selected_pair(hub, simulator):
    from integhub.services.configs import save_config

    cids = [create_company(hub, f"Praxis {i}").id for i in range(3)]
    for i, cid in enumerate(cids):
        assert save_config(hub, cid, "calcom", api_key=f"cal_live_bulk_{i}_0123456789",
                           settings={"auto_sync_enabled": False}).ok
    calls = []
    outcomes = fleet.sync_now(hub, system_identity("ops@example.com"),
                              [(c, "calcom") for c in cids] + [(cids[0], "calcom")],  # a duplicate pair runs once
                              progress=lambda done, total: calls.append((done, total)))
    assert len(outcomes) == 3 and calls[-1] == (3, 3)
    assert all(o.ok for o in outcomes), [o.message for o in outcomes]
    assert all(o.records_synced > 0 for o in outcomes)
    page = fleet.fleet_page(hub, system_identity(), FleetFilter(provider="calcom"))
    assert all(r.last_sync_at is not None for r in page.rows)
    from integhub.services import audit_queries
    started = audit_queries.query_audit(hub, system_identity(), audit_queries.AuditFilter(action="sync.started")).rows
    assert sorted((r.company_id, r.actor, r.summary) for r in started) == sorted(
        (c, "ops@example.com", "trigger=bulk") for c in cids)


def test_counts_are_kept_briefly_and_refreshed_after_a_sync(hub, fleet_db, monkeypatch):
    monkeypatch.setattr(fleet, "COUNTS_SECONDS", 60.0)
    before = fleet.fleet_page(hub, who("admin"))
    add_config(hub, fleet_db["Bert"], "retell", minutes_ago=1)
    assert fleet.fleet_page(hub, who("admin")).counts == before.counts  # the cards may lag a little
    rows = {(r.company, r.provider): r.freshness for r in fleet.fleet_page(hub, who("admin")).rows}
    assert rows[("Bert", "retell")] == "on_time"  # the grid itself is always live
    fleet.clear_counts()
    assert fleet.fleet_page(hub, who("admin")).counts["on_time"] == before.counts["on_time"] + 1

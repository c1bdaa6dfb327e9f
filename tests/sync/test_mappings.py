"""Discovery mapping during sync (users → staff by email, event types → the only branch) and the
mapping editors: a mapping set by hand is never overwritten."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from integhub.errors import ValidationFailed
from integhub.models import AuditEvent
from integhub.services import mappings
from integhub.services.companies import create_branch, create_company, create_staff
from integhub.services.stats import provider_stats
from integhub.services.sync import run_sync
from tests.sync.conftest import configure, new_practice


def member_email(simulator, key: str, i: int) -> str:
    return simulator.state.account(key).person(i).email


@pytest.fixture
def team_practice(hub, simulator):
    practice = new_practice(hub, simulator, members=4)
    configure(hub, practice.company_id, "calcom", practice.cal_key, team_slug="mein-team")
    return practice


def users_by_email(hub, company_id) -> dict[str, mappings.UserMapping]:
    return {u.email: u for u in mappings.list_user_mappings(hub, company_id)}


def test_users_map_to_staff_by_email_trimmed_and_case_insensitive(hub, simulator, options, team_practice):
    cid = team_practice.company_id
    owner = member_email(simulator, team_practice.cal_key, 0)
    second = member_email(simulator, team_practice.cal_key, 1)
    anna = create_staff(hub, cid, "Anna", owner.upper(), actor="test")
    create_staff(hub, cid, "Jonas", f"  {second.title()}  ".strip(), actor="test")
    other_company = create_company(hub, "Andere Praxis", actor="test")
    create_staff(hub, other_company.id, "Fremd", member_email(simulator, team_practice.cal_key, 2), actor="test")

    assert run_sync(hub, cid, "calcom", options=options).success
    users = users_by_email(hub, cid)
    assert len(users) == 4
    assert users[owner].staff_id == anna.id and users[owner].staff_name == "Anna" and not users[owner].manual
    assert users[second].staff_name == "Jonas"
    assert users[member_email(simulator, team_practice.cal_key, 2)].staff_id is None  # staff of another company
    assert provider_stats(hub, cid, "calcom")["users_mapped"] == 2


def test_a_mapping_set_by_hand_survives_every_sync_and_is_audited(hub, simulator, options, team_practice):
    cid = team_practice.company_id
    owner = member_email(simulator, team_practice.cal_key, 0)
    by_email = create_staff(hub, cid, "Anna", owner, actor="test")
    chosen = create_staff(hub, cid, "Vertretung", "vertretung@praxis.de", actor="test")
    assert run_sync(hub, cid, "calcom", options=options).success
    user = users_by_email(hub, cid)[owner]
    assert user.staff_id == by_email.id

    changed = mappings.set_user_mappings(hub, cid, {user.remote_id: chosen.id}, actor="admin@praxis.de")
    assert changed == 1
    assert run_sync(hub, cid, "calcom", options=options).success
    kept = users_by_email(hub, cid)[owner]
    assert (kept.staff_id, kept.manual) == (chosen.id, True)

    unmapped = mappings.set_user_mappings(hub, cid, {user.remote_id: None}, actor="admin@praxis.de")
    assert unmapped == 1
    assert run_sync(hub, cid, "calcom", options=options).success
    assert users_by_email(hub, cid)[owner].staff_id is None  # "nobody" by hand is a choice too

    mappings.set_user_mappings(hub, cid, {user.remote_id: mappings.AUTO}, actor="admin@praxis.de")
    back = users_by_email(hub, cid)[owner]
    assert (back.staff_id, back.manual) == (by_email.id, False)

    with hub.session() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "mapping.user_staff")
                          .order_by(AuditEvent.id)).all()
    assert [a.actor for a in audit] == ["admin@praxis.de"] * 3
    assert audit[0].details["old"]["staff_id"] == str(by_email.id)
    assert audit[0].details["new"] == {"staff_id": str(chosen.id), "manual": True}


def test_event_types_map_to_the_only_branch_and_stay_open_with_several(hub, simulator, options):
    one = new_practice(hub, simulator, branches=1)
    assert run_sync(hub, one.company_id, "calcom", options=options).success
    (branch_id, _name), = mappings.branch_options(hub, one.company_id)
    assert {e.branch_id for e in mappings.list_event_type_mappings(hub, one.company_id)} == {branch_id}

    two = new_practice(hub, simulator, name="Zwei Filialen", branches=2, cal_key="cal_live_" + "ab" * 16)
    assert run_sync(hub, two.company_id, "calcom", options=options).success
    types = mappings.list_event_type_mappings(hub, two.company_id)
    assert len(types) == 3 and {e.branch_id for e in types} == {None}

    second_branch = mappings.branch_options(hub, two.company_id)[1][0]
    mappings.set_event_type_mappings(hub, two.company_id, {types[0].remote_id: second_branch}, actor="admin")
    assert run_sync(hub, two.company_id, "calcom", options=options).success
    after = {e.remote_id: e for e in mappings.list_event_type_mappings(hub, two.company_id)}
    assert (after[types[0].remote_id].branch_id, after[types[0].remote_id].manual) == (second_branch, True)


def test_hand_mapped_event_types_keep_their_branch_when_discovery_would_choose_another(hub, simulator, options):
    practice = new_practice(hub, simulator, branches=1)
    assert run_sync(hub, practice.company_id, "calcom", options=options).success
    et = mappings.list_event_type_mappings(hub, practice.company_id)[0]
    mappings.set_event_type_mappings(hub, practice.company_id, {et.remote_id: None}, actor="admin")
    assert run_sync(hub, practice.company_id, "calcom", options=options).success
    again = {e.remote_id: e for e in mappings.list_event_type_mappings(hub, practice.company_id)}
    assert (again[et.remote_id].branch_id, again[et.remote_id].manual) == (None, True)


def test_editors_refuse_foreign_or_unknown_targets_and_write_nothing(hub, simulator, options, team_practice):
    cid = team_practice.company_id
    assert run_sync(hub, cid, "calcom", options=options).success
    user = mappings.list_user_mappings(hub, cid)[0]
    other = create_company(hub, "Fremde Praxis", actor="test")
    foreign_staff = create_staff(hub, other.id, "Fremd", "fremd@x.de", actor="test")
    foreign_branch = create_branch(hub, other.id, "Fremde Filiale", actor="test")
    own_staff = create_staff(hub, cid, "Eigen", "eigen@praxis.de", actor="test")

    with pytest.raises(ValidationFailed) as caught:
        mappings.set_user_mappings(hub, cid, {user.remote_id: own_staff.id, 424242: own_staff.id}, actor="a")
    assert caught.value.key == "mapping.unknown_remote"
    with pytest.raises(ValidationFailed) as caught:
        mappings.set_user_mappings(hub, cid, {user.remote_id: foreign_staff.id}, actor="a")
    assert caught.value.key == "mapping.foreign_staff"
    et = mappings.list_event_type_mappings(hub, cid)[0]
    with pytest.raises(ValidationFailed):
        mappings.set_event_type_mappings(hub, cid, {et.remote_id: foreign_branch.id}, actor="a")
    assert mappings.list_user_mappings(hub, cid)[0] == user  # nothing changed
    with hub.session() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action.like("mapping.%"))).all() == []


def test_staff_added_after_the_sync_is_mapped_at_once(hub, simulator, options, team_practice):
    cid = team_practice.company_id
    assert run_sync(hub, cid, "calcom", options=options).success
    assert provider_stats(hub, cid, "calcom")["users_mapped"] == 0
    create_staff(hub, cid, "Spät", member_email(simulator, team_practice.cal_key, 3), actor="test")
    assert provider_stats(hub, cid, "calcom")["users_mapped"] == 1  # create_staff re-ran discovery mapping
    assert mappings.apply_auto_mappings(hub, cid)["users"] == 0  # nothing left to do

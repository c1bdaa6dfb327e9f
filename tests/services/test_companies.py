from sqlalchemy import select

from integhub.models import CalcomEventType, CalcomUser
from integhub.services.companies import create_branch, create_company, create_staff, update_staff
from integhub.services.mappings import set_user_mappings


def _user(hub, cid, remote_id, email):
    with hub.session() as s:
        s.add(CalcomUser(company_id=cid, remote_id=remote_id, email=email, name=email.split("@")[0], data={}))


def test_discovery_mapping_follows_new_staff_and_branches_at_once(hub):
    company = create_company(hub, "Praxis Mapping")
    _user(hub, company.id, 1, " Anna.Schmidt@Example.de ")
    with hub.session() as s:
        s.add(CalcomEventType(company_id=company.id, remote_id=10, title="Erstberatung", data={}))
    branch = create_branch(hub, company.id, "Filiale Mitte")
    staff = create_staff(hub, company.id, "Anna Schmidt", "anna.schmidt@example.de", branch_id=branch.id)
    with hub.session() as s:
        assert s.scalar(select(CalcomUser.staff_id)) == staff.id
        assert s.scalar(select(CalcomEventType.branch_id)) == branch.id


def test_a_mapping_set_by_hand_survives_staff_changes(hub):
    company = create_company(hub, "Praxis Hand")
    _user(hub, company.id, 1, "anna@example.de")
    anna = create_staff(hub, company.id, "Anna", "anna@example.de")
    other = create_staff(hub, company.id, "Ben", "ben@example.de")
    set_user_mappings(hub, company.id, {1: other.id}, actor="admin@hub")
    update_staff(hub, anna.id, name="Anna S.")
    with hub.session() as s:
        assert s.scalar(select(CalcomUser.staff_id)) == other.id

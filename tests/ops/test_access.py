"""Roles: what each role may do, per company or for all, enforced by the service layer."""
import subprocess
import sys

import pytest
from sqlalchemy import select

from integhub.errors import PermissionDenied, ValidationFailed
from integhub.models import AuditEvent
from integhub.services import access
from integhub.services.access import Grant, Identity, page_allowed, require
from integhub.services.companies import create_company


def who(role, company=None, email="p@example.com"):
    return Identity(email=email, source="oidc", grants=(Grant(role, company),))


@pytest.fixture
def two_companies(hub):
    return create_company(hub, "Alpha GmbH").id, create_company(hub, "Beta AG").id


def test_each_role_can_exactly_its_permissions(two_companies):
    a, b = two_companies
    admin, operator, analyst = who("admin"), who("operator"), who("analyst")
    for perm in ("config.edit", "keys.manage", "access.manage", "sync.run", "metrics.view"):
        require(admin, perm, a)
    require(operator, "sync.run", a)
    require(operator, "mappings.edit", b)
    require(analyst, "metrics.view", a)
    for ident, perm in [(operator, "config.edit"), (operator, "keys.manage"), (analyst, "sync.run"),
                        (analyst, "config.view"), (analyst, "mappings.edit"), (operator, "access.manage")]:
        with pytest.raises(PermissionDenied):
            require(ident, perm, a)
    with pytest.raises(PermissionDenied):
        require(None, "metrics.view", a)


def test_company_scoped_role_reaches_only_that_company(two_companies):
    a, b = two_companies
    scoped_admin = who("admin", a)
    require(scoped_admin, "config.edit", a)
    with pytest.raises(PermissionDenied):
        require(scoped_admin, "config.edit", b)
    with pytest.raises(PermissionDenied):
        require(scoped_admin, "config.edit")  # no company: needs all companies
    # installation-wide permissions need a global grant even for an admin of one company
    with pytest.raises(PermissionDenied):
        require(scoped_admin, "keys.manage", a)
    assert scoped_admin.company_scope("config.edit") == {a}
    assert who("admin").company_scope("config.edit") is None
    assert who("analyst", b).company_scope("sync.run") == set()


def test_navigation_shows_only_what_a_role_may_use():
    expected = {
        "admin": {"overview", "metrics", "calcom", "retell", "mappings", "webhooks", "companies", "audit",
                  "fleet", "keys", "access"},
        "operator": {"overview", "metrics", "calcom", "retell", "mappings", "webhooks", "audit", "fleet"},
        "analyst": {"overview", "metrics"},
    }
    for role, pages in expected.items():
        assert set(access.allowed_pages(who(role))) == pages, role
    assert not page_allowed(None, "overview")
    assert not page_allowed(who("operator"), "some-new-page")  # unclassified pages are admin-only
    assert page_allowed(who("admin"), "some-new-page")
    import uuid
    company_admin = who("admin", uuid.uuid4())
    assert page_allowed(company_admin, "calcom") and not page_allowed(company_admin, "keys")


def test_grant_list_revoke_and_audit(hub, two_companies):
    a, _ = two_companies
    root = access.system_identity("ops@example.com")
    assert access.grant_role(hub, root, "Ana@Example.com", "analyst") is True
    assert access.grant_role(hub, root, "ana@example.com", "analyst") is False  # idempotent
    assert access.grant_role(hub, root, "ana@example.com", "operator", a) is True
    ident = access.load_identity(hub, "ANA@example.com", source="oidc")
    assert ident.can("sync.run", a) and not ident.can("sync.run", two_companies[1])
    assert ident.can("metrics.view", two_companies[1])
    rows = access.list_assignments(hub, root).rows
    assert {(r.user_email, r.role, r.company_id) for r in rows} == {("ana@example.com", "analyst", None),
                                                                   ("ana@example.com", "operator", a)}
    assert access.revoke_role(hub, root, "ana@example.com", "operator", a) is True
    assert access.revoke_role(hub, root, "ana@example.com", "operator", a) is False
    with hub.session() as s:
        actions = [(e.action, e.actor, e.details["role"]) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action.like("role.%")).order_by(AuditEvent.id))]
    assert actions == [("role.granted", "ops@example.com", "analyst"), ("role.granted", "ops@example.com", "operator"),
                       ("role.revoked", "ops@example.com", "operator")]


def test_only_global_admins_manage_roles_and_the_last_one_stays(hub, two_companies):
    a, _ = two_companies
    root = access.system_identity()
    access.grant_role(hub, root, "boss@example.com", "admin")
    boss = access.load_identity(hub, "boss@example.com", source="oidc")
    with pytest.raises(PermissionDenied):
        access.grant_role(hub, who("admin", a), "x@example.com", "admin")
    with pytest.raises(PermissionDenied):
        access.list_assignments(hub, who("operator"))
    with pytest.raises(ValidationFailed):
        access.revoke_role(hub, boss, "boss@example.com", "admin")  # would lock everyone out
    with pytest.raises(ValidationFailed):
        access.grant_role(hub, boss, "x@example.com", "superuser")
    with pytest.raises(ValidationFailed):
        access.grant_role(hub, boss, "not-an-email", "admin")


def run_cli(hub_env, *args, check=True):
    proc = subprocess.run([sys.executable, "-m", "integhub", "--actor", "root@example.com", "roles", *args],
                          env={**__import__("os").environ, **hub_env}, capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_roles_cli_grant_list_revoke(hub, hub_env, two_companies):
    a, _ = two_companies
    assert "granted" in run_cli(hub_env, "grant", "--user", "op@example.com", "--role", "operator",
                                "--company", str(a)).stdout
    assert "unchanged" in run_cli(hub_env, "grant", "--user", "op@example.com", "--role", "operator",
                                  "--company", str(a)).stdout
    listing = run_cli(hub_env, "list").stdout
    assert f"op@example.com\toperator\tcompany {a} (Alpha GmbH)" in listing
    assert "granted_by=root@example.com" in listing
    assert "revoked" in run_cli(hub_env, "revoke", "--user", "op@example.com", "--role", "operator",
                                "--company", str(a)).stdout
    again = run_cli(hub_env, "revoke", "--user", "op@example.com", "--role", "operator", "--company", str(a),
                    check=False)
    assert again.returncode == 1 and again.stderr.startswith("error: ") and "Traceback" not in again.stderr
    bad = run_cli(hub_env, "grant", "--user", "op@example.com", "--role", "operator", "--company", "nope",
                  check=False)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "no role assignments" in run_cli(hub_env, "list").stdout

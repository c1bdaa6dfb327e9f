"""Pages call integhub.services.guarded: the permission is checked before anything happens."""
import pytest
from sqlalchemy import func, select

from integhub.errors import PermissionDenied
from integhub.models import AuditEvent, IntegrationConfig
from integhub.services import guarded
from integhub.services.access import Grant, Identity
from integhub.services.companies import create_company


def who(role, company=None):
    return Identity(email=f"{role}@example.com", source="oidc", grants=(Grant(role, company),))


def test_save_config_needs_an_admin_of_that_company(hub, simulator):
    a = create_company(hub, "Alpha").id
    b = create_company(hub, "Beta").id
    for ident in (who("operator"), who("analyst"), who("admin", b)):
        with pytest.raises(PermissionDenied):
            guarded.save_config(ident, hub, a, "calcom", api_key="cal_live_guarded_1234567890")
    with hub.session() as s:
        assert s.scalar(select(func.count()).select_from(IntegrationConfig)) == 0
    result = guarded.save_config(who("admin", a), hub, a, "calcom", api_key="cal_live_guarded_1234567890",
                                 settings={"auto_sync_enabled": False})
    assert result.ok, result.error_message()
    with hub.session() as s:
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "config.created")))
    assert actors == {"admin@example.com"}


def test_sync_needs_an_operator_and_lists_are_scoped(hub):
    a = create_company(hub, "Alpha").id
    create_company(hub, "Beta")
    with pytest.raises(PermissionDenied):
        guarded.run_sync(who("analyst"), hub, a, "calcom")
    with pytest.raises(PermissionDenied):
        guarded.create_company(who("admin", a), hub, "Gamma")  # new companies: admins of all companies
    assert [c.name for c in guarded.list_companies(who("analyst", a), hub).rows] == ["Alpha"]
    assert {c.name for c in guarded.list_companies(who("analyst"), hub).rows} == {"Alpha", "Beta"}
    with pytest.raises(PermissionDenied):
        guarded.list_companies(Identity(email="nobody@example.com", source="oidc"), hub)

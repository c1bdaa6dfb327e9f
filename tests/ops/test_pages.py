"""AppTest: each role on each page — the navigation offers exactly the permitted pages, the pages
work for those roles, and a page script run directly still refuses a role it is not for.

Identity comes through OIDC as AppTest seeds it (`at.secrets["auth"]` + `at.user`), with the roles
from the role table, as in production; one test covers the localhost development mode.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from integhub.models import AuditEvent, IntegrationConfig, utcnow
from integhub.models_access import RoleAssignment
from integhub.services import access
from integhub.services.companies import create_company
from integhub.services.configs import save_config

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-cookie-secret",
        "client_id": "integhub", "client_secret": "test", "server_metadata_url": "http://127.0.0.1:1/.well-known"}

# page file → page key; which role sees which page (the UI engineer's pages included)
PAGES = {"overview": "pages/overview.py", "calcom": "pages/provider_calcom.py", "retell": "pages/provider_retell.py",
         "companies": "pages/companies.py", "audit": "pages/audit.py", "fleet": "pages/fleet.py",
         "keys": "pages/keys.py", "access": "pages/access.py"}
EXPECTED = {
    "admin@example.com": {"overview", "calcom", "retell", "companies", "audit", "fleet", "keys", "access"},
    "alpha-admin@example.com": {"overview", "calcom", "retell", "companies", "audit", "fleet"},
    "op@example.com": {"overview", "calcom", "retell", "audit", "fleet"},
    "ana@example.com": {"overview"},
}


@pytest.fixture
def people(hub):
    alpha = create_company(hub, "Alpha Praxis").id
    beta = create_company(hub, "Beta Praxis").id
    root = access.system_identity("root@example.com")
    access.grant_role(hub, root, "admin@example.com", "admin")
    access.grant_role(hub, root, "alpha-admin@example.com", "admin", alpha)
    access.grant_role(hub, root, "op@example.com", "operator", alpha)
    access.grant_role(hub, root, "ana@example.com", "analyst")
    with hub.session() as s:  # an overdue Beta config for the fleet grid
        s.add(IntegrationConfig(company_id=beta, provider="retell", is_active=True,
                                settings={"auto_sync_enabled": True, "sync_interval": 15},
                                last_sync_at=utcnow() - timedelta(hours=2)))
    return {"alpha": alpha, "beta": beta}


def app_as(email: str | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": email, "name": email} if email else {"is_logged_in": False}
    return at


def registered(at: AppTest, path: str) -> bool:
    try:
        at.switch_page(path)
    except ValueError:
        return False
    return True


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.markdown, *at.caption, *at.success, *at.info, *at.error, *at.warning)]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("email", sorted(EXPECTED))
def test_navigation_offers_exactly_the_permitted_pages(hub, people, email):
    at = app_as(email).run()
    assert not at.exception, at.exception
    offered = {key for key, path in PAGES.items() if (ROOT / path).exists() and registered(at, path)}
    expected = {k for k in EXPECTED[email] if (ROOT / PAGES[k]).exists()}
    assert offered == expected
    for key in sorted(offered):
        at.switch_page(PAGES[key]).run()
        assert not at.exception, (key, at.exception)
        assert not at.error, (key, [e.value for e in at.error])


def test_signed_out_and_role_less_people_see_nothing_of_ops(hub, people):
    at = app_as(None).run()
    assert not at.exception
    assert not any(registered(at, PAGES[k]) for k in ("audit", "fleet", "keys", "access"))
    at = app_as("stranger@example.com").run()
    assert not at.exception
    assert "stranger@example.com" in texts(at)  # "you have no role yet"
    assert not any(registered(at, PAGES[k]) for k in ("audit", "fleet", "keys", "access"))


@pytest.mark.parametrize("page,email", [("keys", "alpha-admin@example.com"), ("access", "op@example.com"),
                                        ("fleet", "ana@example.com"), ("audit", "ana@example.com")])
def test_a_page_run_directly_still_refuses(hub, people, page, email):
    at = AppTest.from_file(str(ROOT / PAGES[page]), default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": email}
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Diese Seite ist für Ihre Rolle nicht freigegeben."]
    assert not at.dataframe and not at.button


def test_audit_page_scoped_per_role(hub, people):
    at = app_as("admin@example.com").run()
    at.switch_page(PAGES["audit"]).run()
    assert "**6** Einträge" in texts(at)  # two companies created, four grants: nothing hidden
    assert at.get("download_button")
    at = app_as("op@example.com").run()
    at.switch_page(PAGES["audit"]).run()
    assert "**3** Einträge" in texts(at)  # Alpha created, two grants for Alpha
    table = at.dataframe[0].value
    assert set(table["Unternehmen"]) == {"Alpha Praxis"}


def test_fleet_page_grid_scope_and_bulk_sync(hub, people, simulator):
    assert save_config(hub, people["alpha"], "calcom", api_key="cal_live_fleet_0123456789",
                       settings={"auto_sync_enabled": True, "sync_interval": 15}, trigger_sync=False).ok
    with hub.session() as s:  # configured long ago, never synced: failing
        row = s.scalar(select(IntegrationConfig).where(IntegrationConfig.company_id == people["alpha"]))
        row.created_at = utcnow() - timedelta(hours=3)
    at = app_as("admin@example.com").run()
    at.switch_page(PAGES["fleet"]).run()
    assert len(at.dataframe[0].value) == 4
    assert {m.label: m.value for m in at.metric}["Fehlerhaft"] == "2"  # Alpha Cal.com, Beta Retell
    at = app_as("op@example.com").run()
    at.switch_page(PAGES["fleet"]).run()
    grid = at.dataframe[0].value
    assert set(grid["Unternehmen"]) == {"Alpha Praxis"} and len(grid) == 2
    at.checkbox(key="fleet_pick_problems").check().run()
    at.button(key="fleet_sync").click().run()
    assert not at.exception
    assert [s.value for s in at.success][0].startswith("1 Synchronisation(en) erfolgreich")
    with hub.session() as s:
        row = s.scalar(select(IntegrationConfig).where(IntegrationConfig.company_id == people["alpha"]))
        assert row.last_sync_at is not None
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.action.like("sync%"))))
    assert actors == {"op@example.com"}  # "sync.started" by the operator who clicked


def test_keys_page_shows_the_ring_and_rotates(hub, people, hub_env):
    from integhub.crypto import KeyRing, context_for
    from integhub.db import Hub

    old_key = hub_env["INTEGHUB_ENCRYPTION_KEYS"].split(",")[1]  # the ring's second (old) key
    old = Hub(hub.engine, KeyRing.from_string(old_key), hub.settings)
    with hub.session() as s:
        s.add(IntegrationConfig(company_id=people["alpha"], provider="calcom", settings={}, is_active=True,
                                api_key=old.keyring.encrypt("cal_live_old_key_0000",
                                                            context_for(people["alpha"], "calcom", "api_key"))))
    at = app_as("admin@example.com").run()
    at.switch_page(PAGES["keys"]).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Primärer Schlüssel"] == hub.keyring.primary_id
    assert metrics["Noch nicht unter dem primären Schlüssel"] == "1"
    at.button(key="keys_check").click().run()
    assert not at.exception and at.success[0].value == "Alle 1 Secrets lassen sich entschlüsseln."
    at.button(key="keys_rotate").click().run()
    assert not at.exception
    assert at.success[0].value == "Neu verschlüsselt: 1, schon aktuell: 0, nicht entschlüsselbar: 0."
    at.run()
    assert {m.label: m.value for m in at.metric}["Noch nicht unter dem primären Schlüssel"] == "0"
    assert at.button(key="keys_rotate").disabled
    with hub.session() as s:
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "keys.rotated")) == "admin@example.com"


def test_access_page_grants_and_revokes(hub, people):
    at = app_as("admin@example.com").run()
    at.switch_page(PAGES["access"]).run()
    at.text_input(key="access_email").input("New.Person@Example.com")
    at.selectbox(key="access_role").select("operator")
    at.button(key="access_grant").click().run()
    assert not at.exception
    assert at.success[0].value == "new.person@example.com ist jetzt Operator."
    assert "new.person@example.com" in list(at.dataframe[0].value["E-Mail"])
    with hub.session() as s:
        granted = s.scalar(select(RoleAssignment).where(RoleAssignment.user_email == "new.person@example.com"))
        assert granted.role == "operator" and granted.company_id is None and granted.granted_by == "admin@example.com"
    at.text_input(key="access_email").input("not an email")
    at.button(key="access_grant").click().run()
    assert at.error[0].value == "Bitte eine gültige E-Mail-Adresse angeben."
    pick = at.selectbox(key="access_revoke_pick")
    target = next(o for o in pick.options if o.startswith("new.person@example.com"))
    pick.select(target).run()
    at.button(key="access_revoke").click().run()
    assert not at.exception and at.success[0].value.startswith("new.person@example.com: Rolle Operator entzogen")
    with hub.session() as s:
        assert s.scalar(select(RoleAssignment).where(RoleAssignment.user_email == "new.person@example.com")) is None


def test_development_mode_is_marked_and_admin(hub, people, monkeypatch):
    monkeypatch.setenv("INTEGHUB_DEV_USER", "me@localhost")
    at = AppTest.from_file(APP, default_timeout=60).run()  # no [auth], no proxy: localhost development mode
    assert not at.exception
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "Entwicklungsmodus (nur localhost)" in warning and "me@localhost" in warning
    assert registered(at, PAGES["keys"]) and registered(at, PAGES["access"])
    monkeypatch.setenv("INTEGHUB_DEV_ROLE", "analyst")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not registered(at, PAGES["keys"]) and not registered(at, PAGES["fleet"])

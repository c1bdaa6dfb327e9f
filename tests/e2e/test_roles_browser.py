"""Roles in a real browser, signed in through a trusted reverse proxy header (X-Forwarded-Email):
each role sees exactly its pages in the navigation, a forbidden page's URL shows nothing of it,
the fleet grid is scoped to the operator's company, and an admin grants a role in the UI.

The hub runs behind tests/e2e/roles_server.py (a stand-in for the proxy) with
INTEGHUB_TRUST_PROXY_HEADERS=1; the person is picked per browser context by a cookie.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from integhub.crypto import generate_key
from integhub.i18n import t

from tests.servers import free_port, served

from .conftest import ROOT, open_url, screenshot, wait_for_app

SERVER = Path(__file__).with_name("roles_server.py")
ADMIN, OPERATOR, ANALYST, NOBODY = "admin@corp.example", "op@corp.example", "ana@corp.example", "new@corp.example"

TITLES = {"overview": t("ui.nav.overview", "de"), "calcom": "Cal.com", "retell": "Retell.ai",
          "companies": t("ui.nav.companies", "de"), "fleet": t("ui.nav.fleet", "de"), "audit": t("ui.nav.audit", "de"),
          "keys": t("ui.nav.keys", "de"), "access": t("ui.nav.access", "de"), "metrics": t("ui.nav.metrics", "de")}
EXPECTED = {
    ADMIN: {"overview", "calcom", "retell", "companies", "fleet", "audit", "keys", "access", "metrics"},
    OPERATOR: {"overview", "calcom", "retell", "fleet", "audit", "metrics"},
    ANALYST: {"overview", "metrics"},
}


@pytest.fixture(scope="module")
def roles_hub(tmp_path_factory):
    """The hub behind the proxy stand-in, with two companies and three people; yields (url, env, ids)."""
    from integhub.db import Hub
    from integhub.services import access
    from integhub.services.companies import create_company

    data = tmp_path_factory.mktemp("roles-hub")
    env = {**os.environ, "INTEGHUB_DATABASE_URL": f"sqlite:///{data / 'hub.sqlite'}",
           "INTEGHUB_ENCRYPTION_KEYS": generate_key(), "INTEGHUB_DATA_DIR": str(data), "INTEGHUB_LANG": "de",
           "INTEGHUB_TRUST_PROXY_HEADERS": "1", "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, "-m", "integhub", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    saved = {k: os.environ.get(k) for k in ("INTEGHUB_DATABASE_URL", "INTEGHUB_ENCRYPTION_KEYS", "INTEGHUB_DATA_DIR")}
    os.environ.update({k: env[k] for k in saved})
    try:
        hub = Hub.from_env()
        alpha = create_company(hub, "Alpha Praxis").id
        beta = create_company(hub, "Beta Praxis").id
        root = access.system_identity("setup")
        access.grant_role(hub, root, ADMIN, "admin")
        access.grant_role(hub, root, OPERATOR, "operator", alpha)
        access.grant_role(hub, root, ANALYST, "analyst")
        hub.engine.dispose()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(SERVER), "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with served(env, command, port, data / "serve.log", ready_path="/_stcore/health", host="localhost") as base:
        yield base, env, {"alpha": alpha, "beta": beta}


def page_as(browser, base: str, email: str | None):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="de-DE")
    if email:
        context.add_cookies([{"name": "integhub_test_user", "value": email, "url": base}])
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


def go(page, key: str) -> None:
    """Open a page the way a person does: its link in the sidebar navigation."""
    page.get_by_test_id("stSidebarNav").get_by_role("link").filter(has_text=TITLES[key]).click()
    wait_for_app(page)


def nav_titles(page) -> set[str]:
    """The link labels (the material icon's ligature text comes first, on a line of its own)."""
    links = page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()
    return {text.strip().splitlines()[-1].strip() for text in links if text.strip()}


def expected_titles(email: str) -> set[str]:
    files = {"overview": "overview", "companies": "companies", "fleet": "fleet", "audit": "audit", "keys": "keys",
             "access": "access", "metrics": "metrics"}
    keys = {k for k in EXPECTED[email] if k not in files or (ROOT / "pages" / f"{files[k]}.py").exists()}
    return {TITLES[k] for k in keys}


@pytest.mark.parametrize("email", [ADMIN, OPERATOR, ANALYST])
def test_each_role_sees_exactly_its_pages(browser, roles_hub, email):
    base, _, _ = roles_hub
    context, page = page_as(browser, base, email)
    try:
        open_url(page, base)
        assert nav_titles(page) == expected_titles(email)
        expect(page.get_by_test_id("stSidebar")).to_contain_text(email)
        screenshot(page, f"roles-{email.split('@')[0]}")
        if email != ADMIN:  # a forbidden page by URL: nothing of it appears
            open_url(page, f"{base}/keys")
            expect(page.get_by_role("heading", name=t("ops.keys.title", "de"))).to_have_count(0)
            expect(page.get_by_text(t("ops.keys.rotate", "de"))).to_have_count(0)
    finally:
        context.close()


def test_nobody_without_a_role_or_header_gets_in(browser, roles_hub):
    base, _, _ = roles_hub
    for email, message in ((NOBODY, t("ops.auth.no_roles", "de", email=NOBODY)),
                           (None, t("ops.auth.proxy_missing", "de", header="X-Forwarded-Email"))):
        context, page = page_as(browser, base, email)
        try:
            open_url(page, base)
            expect(page.get_by_text(message)).to_be_visible()
            assert not any(title in nav_titles(page) for title in (TITLES["keys"], TITLES["fleet"], TITLES["access"]))
        finally:
            context.close()


def test_operator_fleet_is_scoped_and_admin_grants_a_role(browser, roles_hub):
    base, env, ids = roles_hub
    context, page = page_as(browser, base, OPERATOR)
    try:
        open_url(page, base)
        go(page, "fleet")
        grid = page.get_by_test_id("stDataFrame")
        expect(grid).to_be_visible()
        # two rows (Alpha × two providers), neither in the grid nor in the company picker any Beta
        expect(page.get_by_text(t("ops.fleet.showing", "de", shown=2, total=2, page=1, pages=1))).to_be_visible()
        expect(page.get_by_test_id("stMetric").filter(has_text=t("ops.fleet.state.not_configured", "de"))
               ).to_contain_text("2")
        expect(page.get_by_text("Beta Praxis")).to_have_count(0)
        screenshot(page, "roles-operator-fleet")
    finally:
        context.close()

    context, page = page_as(browser, base, ADMIN)
    try:
        open_url(page, base)
        go(page, "access")
        page.get_by_label(t("ops.access.email", "de"), exact=True).fill(NOBODY)
        page.get_by_label(t("ops.access.email", "de"), exact=True).press("Enter")
        wait_for_app(page)
        page.get_by_role("button", name=t("ops.access.grant", "de"), exact=True).click()
        wait_for_app(page)
        expect(page.get_by_text(t("ops.access.granted", "de", email=NOBODY,
                                  role=t("ops.access.role.analyst", "de")))).to_be_visible()
        screenshot(page, "roles-admin-access")
    finally:
        context.close()

    context, page = page_as(browser, base, NOBODY)  # the new analyst is in at once
    try:
        open_url(page, base)
        assert nav_titles(page) == expected_titles(ANALYST)
    finally:
        context.close()

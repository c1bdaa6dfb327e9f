"""`webhooks register` / `webhooks replay` end to end: CLI subprocesses against the simulator over
real HTTP, then deliveries signed with what was registered."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import select

from integhub.crypto import context_for
from integhub.models import AuditEvent, IntegrationConfig, RetellCall
from integhub.models_webhooks import WebhookInbox
from integhub.providers.calcom_client import WEBHOOK_TRIGGERS
from integhub.services.companies import create_company
from integhub.services.configs import save_config
from integhub.services.webhooks import webhook_status
from tests.conftest import ROOT

from .support import calcom_body, calcom_sign, post_calcom, post_retell, retell_body

CAL_KEY = "cal_live_5a6b7c8d9e0f11223344556677889900"
RETELL_KEY = "key_9c8b7a6f5e4d3c2b1a0f9e8d"
PUBLIC = "https://hub.praxis-beispiel.de"


def cli(env, *args, stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "integhub", *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT, timeout=120)


@pytest.fixture
def env(hub_env, simulator, monkeypatch):
    monkeypatch.setenv("INTEGHUB_PUBLIC_URL", PUBLIC)
    return {**hub_env, "INTEGHUB_CALCOM_BASE_URL": simulator.url, "INTEGHUB_RETELL_BASE_URL": simulator.url,
            "INTEGHUB_PUBLIC_URL": PUBLIC}


def new_company(hub, name: str, provider: str | None = None, api_key: str | None = None, **settings) -> str:
    """Company and config through the service layer (the save flow validates the key at the simulator);
    the CLI under test is `webhooks`."""
    company = create_company(hub, name)
    if provider:
        saved = save_config(hub, company.id, provider, api_key=api_key, settings={"auto_sync_enabled": False, **settings},
                            trigger_sync=False)
        assert saved.ok, saved.error_message()
    return str(company.id)


def config_row(hub, company, provider) -> IntegrationConfig:
    with hub.session() as s:
        return s.scalar(select(IntegrationConfig).where(IntegrationConfig.company_id == uuid.UUID(company),
                                                        IntegrationConfig.provider == provider))


def test_register_calcom_from_the_cli(env, hub, simulator, api):
    company = new_company(hub, "Praxis am Markt", "calcom", CAL_KEY)
    version_before = config_row(hub, company, "calcom").version

    p = cli(env, "webhooks", "register", "--company", company, "--provider", "calcom")
    assert p.returncode == 0, p.stderr
    url = f"{PUBLIC}/api/calcom/webhook/{company}"
    assert url in p.stdout and "registriert" in p.stdout

    [hook] = simulator.webhooks()["calcom"]
    assert hook["subscriberUrl"] == url and hook["active"] is True
    assert {"BOOKING_CREATED", "BOOKING_CANCELLED", "BOOKING_RESCHEDULED"} <= set(hook["triggers"])
    assert set(hook["triggers"]) <= WEBHOOK_TRIGGERS  # only values of the API's enum
    secret = hook["secret"]
    assert len(secret) >= 32

    row = config_row(hub, company, "calcom")
    assert row.webhook_secret.startswith("ih1:") and secret not in row.webhook_secret
    assert hub.keyring.decrypt(row.webhook_secret, context_for(company, "calcom", "webhook_secret")) == secret
    assert row.version == version_before  # an open admin form does not get a spurious conflict
    with hub.session() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.registered")).one()
    assert audit.details["url"] == url and secret not in json.dumps(audit.details)
    assert secret not in p.stdout + p.stderr

    # What Cal.com will send, signed with the registered secret, is accepted.
    body = calcom_body("BOOKING_CREATED", "bk_reg")
    assert post_calcom(api, company, body, secret).status_code == 200
    assert webhook_status(hub, company, "calcom")["registered"] is True

    again = cli(env, "webhooks", "register", "--company", company, "--provider", "calcom")
    assert again.returncode == 0 and "bereits registriert" in again.stdout
    assert len(simulator.webhooks()["calcom"]) == 1
    assert post_calcom(api, company, calcom_body("BOOKING_CANCELLED", "bk_reg", status="CANCELLED",
                                                 created_at="2026-05-28T10:00:00.000Z"), secret).status_code == 200


def test_register_retell_from_the_cli(env, hub, simulator, api):
    agents = simulator.facts(RETELL_KEY)["retell"]["agent_ids"]
    company = new_company(hub, "Praxis Rheinblick", "retell", RETELL_KEY, default_agent_id=agents[0])

    p = cli(env, "webhooks", "register", "--company", company, "--provider", "retell")
    assert p.returncode == 0, p.stderr
    assert agents[0] in p.stdout
    p = cli(env, "webhooks", "register", "--company", company, "--provider", "retell", "--agent", agents[1])
    assert p.returncode == 0, p.stderr
    registered = {h["agent_id"]: h["webhook_url"] for h in simulator.webhooks()["retell"]}
    assert registered == {agents[0]: f"{PUBLIC}/api/retell/webhook", agents[1]: f"{PUBLIC}/api/retell/webhook"}
    status = webhook_status(hub, company, "retell")
    assert status["registered"] is True and set(status["agents"]) == set(agents[:2])

    # A call of the second agent (neither synced nor the default) reaches the company that registered it.
    reply = post_retell(api, retell_body("call_ended", "call_reg", agent_id=agents[1]), RETELL_KEY)
    assert reply.status_code == 200
    with hub.session() as s:
        assert s.get(RetellCall, (config_row(hub, company, "retell").company_id, "call_reg")) is not None

    unknown = cli(env, "webhooks", "register", "--company", company, "--provider", "retell", "--agent", "agent_gibtsnicht")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error: ") and "Traceback" not in unknown.stderr
    assert RETELL_KEY not in unknown.stdout + unknown.stderr


def test_register_without_a_config_fails_clearly(env, hub, simulator):
    company = new_company(hub, "Praxis ohne Konfiguration")
    for provider in ("calcom", "retell"):
        p = cli(env, "webhooks", "register", "--company", company, "--provider", provider)
        assert p.returncode == 1 and "nicht konfiguriert" in p.stderr
    assert simulator.webhooks() == {"calcom": [], "retell": []}


def test_replay_from_the_cli(env, hub, api):
    from sqlalchemy import text

    from .support import make_tenant

    tenant = make_tenant(hub)
    with hub.engine.begin() as conn:
        conn.execute(text("ALTER TABLE retell_calls RENAME TO retell_calls_away"))
    try:
        assert post_retell(api, retell_body("call_ended", "call_cli_replay")).status_code == 202
    finally:
        with hub.engine.begin() as conn:
            conn.execute(text("ALTER TABLE retell_calls_away RENAME TO retell_calls"))
    p = cli(env, "webhooks", "replay", "--company", str(tenant.company_id), "--provider", "retell")
    assert p.returncode == 0, p.stderr
    assert "1 erfolgreich, 0 fehlgeschlagen" in p.stdout
    with hub.session() as s:
        assert s.scalars(select(WebhookInbox.status)).all() == ["processed"]
        assert s.get(RetellCall, (tenant.company_id, "call_cli_replay")).stage == 2


def test_registering_a_loopback_url_warns_that_the_provider_cannot_reach_it():
    from integhub.services.webhooks import Registration

    local = Registration("c1", "calcom", "http://localhost:8501/api/calcom/webhook/c1", True, "wh_1")
    public = Registration("c1", "calcom", f"{PUBLIC}/api/calcom/webhook/c1", True, "wh_1")
    assert local.url_is_local and not public.url_is_local
    assert any("INTEGHUB_PUBLIC_URL" in line for line in local.lines("de"))
    assert not any("INTEGHUB_PUBLIC_URL" in line for line in public.lines("de"))

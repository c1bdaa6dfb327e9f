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


# --- stale and broken Cal.com webhooks ---------------------------------------------------------------
def calcom_client(simulator):
    from integhub.providers.calcom_client import CalcomClient

    return CalcomClient(CAL_KEY, base_url=simulator.url)


def hooks_with(simulator, url):
    return [h for h in simulator.webhooks()["calcom"] if h["subscriberUrl"] == url]


def stored_secret(hub, company):
    row = config_row(hub, company, "calcom")
    if not row.webhook_secret:
        return None
    return hub.keyring.decrypt(row.webhook_secret, context_for(company, "calcom", "webhook_secret"))


def register_from_the_cli(env, hub, simulator, company):
    """Register through the CLI; (url, the one webhook at Cal.com, the stored secret)."""
    p = cli(env, "webhooks", "register", "--company", company, "--provider", "calcom")
    assert p.returncode == 0, p.stderr
    url = f"{PUBLIC}/api/calcom/webhook/{company}"
    [hook] = hooks_with(simulator, url)
    return url, hook, stored_secret(hub, company)


def register_behind_a_slow_post(hub, simulator, company, **kwargs):
    """register_webhook in a thread whose POST /v2/webhooks Cal.com answers only after 1.5 s (the
    webhook exists at once); returns when the POST has arrived: (thread, [its result or exception])."""
    import threading
    import time

    from integhub.services.webhooks import register_webhook

    simulator.fault(provider="calcom", path_prefix="/v2/webhooks", method="POST", kind="latency", latency_ms=1500,
                    count=1)
    seen = len(simulator.requests("calcom"))
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(_catch(register_webhook, hub, company, "calcom", **kwargs)))
    thread.start()
    deadline = time.monotonic() + 10
    while not any(r["method"] == "POST" for r in simulator.requests("calcom")[seen:]):
        assert time.monotonic() < deadline, "the registration never sent its POST"
        time.sleep(0.02)
    return thread, outcome


def audits(hub, *actions):
    with hub.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id)))


def test_a_stale_webhook_with_the_same_url_is_replaced_from_the_cli(env, hub, simulator, api):
    company = new_company(hub, "Praxis Altinstallation", "calcom", CAL_KEY)
    url = f"{PUBLIC}/api/calcom/webhook/{company}"
    with calcom_client(simulator) as client:  # left behind by an earlier installation: its secret is lost
        stale = client.create_webhook(subscriber_url=url, triggers=["BOOKING_CREATED"], secret="old-install-secret")
        other = client.create_webhook(subscriber_url="https://elsewhere.example/hook", triggers=["BOOKING_CREATED"],
                                      secret="not-ours")

    p = cli(env, "webhooks", "register", "--company", company, "--provider", "calcom")
    assert p.returncode == 0, p.stderr
    assert stale["id"] in p.stdout and "gelöscht" in p.stdout and "bitte in Cal.com löschen" not in p.stdout

    [hook] = hooks_with(simulator, url)
    assert hook["id"] != stale["id"] and hook["active"] is True
    assert hook["secret"] == stored_secret(hub, company)
    assert other["id"] in {h["id"] for h in simulator.webhooks()["calcom"]}  # other URLs are not ours to touch
    assert hook["secret"] not in p.stdout + p.stderr
    [registered] = audits(hub, "webhook.registered")
    assert registered.details["replaces"] == [stale["id"]] and registered.old_key_fingerprint is None
    assert hook["secret"] not in json.dumps(registered.details)
    [updated] = audits(hub, "webhook.updated")
    assert updated.details["removed_hooks"] == [stale["id"]]

    body = calcom_body("BOOKING_CREATED", "bk_after_replace")
    assert post_calcom(api, company, body, "old-install-secret").status_code == 401
    assert post_calcom(api, company, body, hook["secret"]).status_code == 200

    again = cli(env, "webhooks", "register", "--company", company, "--provider", "calcom")
    assert again.returncode == 0 and "bereits registriert" in again.stdout
    assert hooks_with(simulator, url) == [hook]


def test_the_hubs_own_webhook_switched_off_in_calcom_is_switched_on_again_with_the_same_secret(env, hub, simulator):
    company = new_company(hub, "Praxis Abgeschaltet", "calcom", CAL_KEY)
    url, hook, secret = register_from_the_cli(env, hub, simulator, company)
    with calcom_client(simulator) as client:  # an admin switched it off and trimmed its triggers in Cal.com
        client.update_webhook(hook["id"], active=False, triggers=["BOOKING_CREATED"])

    p = cli(env, "webhooks", "register", "--company", company, "--provider", "calcom")
    assert p.returncode == 0, p.stderr
    assert "wieder eingeschaltet" in p.stdout
    [after] = hooks_with(simulator, url)
    assert after["id"] == hook["id"] and after["active"] is True and set(after["triggers"]) == set(hook["triggers"])
    assert after["secret"] == secret == stored_secret(hub, company)  # no rotation needed
    [updated] = audits(hub, "webhook.updated")
    assert updated.details["repaired"] is True and len(audits(hub, "webhook.registered")) == 1


def test_when_calcom_refuses_the_new_webhook_the_old_state_stays(env, hub, simulator):
    from integhub.providers.errors import ProviderError
    from integhub.services.webhooks import register_webhook

    company = new_company(hub, "Praxis Abgelehnt", "calcom", CAL_KEY)
    url = f"{PUBLIC}/api/calcom/webhook/{company}"
    with calcom_client(simulator) as client:
        stale = client.create_webhook(subscriber_url=url, triggers=["BOOKING_CREATED"], secret="old-install-secret")
    simulator.fault(provider="calcom", path_prefix="/v2/webhooks", method="POST", kind="status", status=502, count=1)
    with pytest.raises(ProviderError):
        register_webhook(hub, company, "calcom")
    assert [(h["id"], h["secret"]) for h in hooks_with(simulator, url)] == [(stale["id"], "old-install-secret")]
    assert stored_secret(hub, company) is None and audits(hub, "webhook.registered", "webhook.updated") == []


def test_when_the_new_secret_cannot_be_stored_the_new_webhook_is_taken_back(env, hub, simulator):
    from sqlalchemy import text

    from integhub.services.webhooks import register_webhook

    company = new_company(hub, "Praxis Datenbankfehler", "calcom", CAL_KEY)
    url, hook, old_secret = register_from_the_cli(env, hub, simulator, company)
    with calcom_client(simulator) as client:  # someone changed its secret in Cal.com: the hub must replace it
        client.update_webhook(hook["id"], secret="changed-in-calcom")
    worker, outcome = register_behind_a_slow_post(hub, simulator, company)
    with hub.engine.begin() as conn:  # the database refuses the write while Cal.com answers
        conn.execute(text("ALTER TABLE integration_configs RENAME TO integration_configs_away"))
    try:
        worker.join(30)
    finally:
        with hub.engine.begin() as conn:
            conn.execute(text("ALTER TABLE integration_configs_away RENAME TO integration_configs"))
    assert isinstance(outcome[0], Exception)
    [after] = hooks_with(simulator, url)  # the new webhook was deleted again, the old one left alone
    assert after["id"] == hook["id"] and after["secret"] == "changed-in-calcom"
    assert stored_secret(hub, company) == old_secret
    assert len(audits(hub, "webhook.registered")) == 1

    fixed = register_webhook(hub, company, "calcom")  # once the database is back, registering again heals it
    [hook] = hooks_with(simulator, url)
    assert fixed.removed_hooks == [after["id"]] and hook["secret"] == stored_secret(hub, company) != old_secret


def test_two_registrations_at_once_leave_one_webhook_and_its_secret(env, hub, simulator):
    from integhub.errors import HubError
    from integhub.services.webhooks import register_webhook

    company = new_company(hub, "Praxis Gleichzeitig", "calcom", CAL_KEY)
    url = f"{PUBLIC}/api/calcom/webhook/{company}"
    slow, outcome = register_behind_a_slow_post(hub, simulator, company, actor="slow")
    fast = register_webhook(hub, company, "calcom", actor="fast")
    slow.join(30)
    assert fast.changed
    assert isinstance(outcome[0], HubError) and outcome[0].key == "webhooks.concurrent"
    [hook] = hooks_with(simulator, url)
    assert hook["id"] == fast.remote_id and hook["secret"] == stored_secret(hub, company)
    assert [a.actor for a in audits(hub, "webhook.registered")] == ["fast"]


def test_a_stale_webhook_that_cannot_be_deleted_is_reported(env, hub, simulator):
    from integhub.services.webhooks import register_webhook

    company = new_company(hub, "Praxis Hartnäckig", "calcom", CAL_KEY)
    url = f"{PUBLIC}/api/calcom/webhook/{company}"
    with calcom_client(simulator) as client:
        stale = client.create_webhook(subscriber_url=url, triggers=["BOOKING_CREATED"], secret="old-install-secret")
    simulator.fault(provider="calcom", path_prefix="/v2/webhooks/", method="DELETE", kind="status", status=403)
    registration = register_webhook(hub, company, "calcom")
    assert registration.changed and registration.other_hooks == [stale["id"]] and registration.removed_hooks == []
    assert any("nicht löschen" in line for line in registration.lines("de"))
    assert {h["id"] for h in hooks_with(simulator, url)} == {stale["id"], registration.remote_id}
    assert stored_secret(hub, company) == next(h["secret"] for h in hooks_with(simulator, url)
                                               if h["id"] == registration.remote_id)


def _catch(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - handed to the test thread
        return exc

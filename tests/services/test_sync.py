"""services.sync.run_sync audits every sync a person starts — from the UI, the fleet page, the CLI or
the save flow — in one place, the same way: `sync.started` by the person, with the trigger."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from integhub.models import AuditEvent, IntegrationConfig
from integhub.models_sync import SyncRun
from integhub.services import guarded
from integhub.services.access import Grant, Identity
from integhub.services.configs import save_config
from integhub.services.sync import SyncAlreadyRunning, run_sync, running_sync
from integhub.sync import lease as leases
from tests.conftest import ROOT
from tests.sync.conftest import new_practice


def started(hub, *actions: str) -> list[tuple[str, str, str, dict]]:
    with hub.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action.in_(actions or ("sync.started",)))
                         .order_by(AuditEvent.id))
        return [(a.action, a.actor, a.provider, dict(a.details)) for a in rows]


def sync_cli(hub_env, simulator, company_id, provider, *, actor: str):
    env = {**os.environ, **hub_env, "INTEGHUB_CALCOM_BASE_URL": simulator.url, "INTEGHUB_RETELL_BASE_URL": simulator.url}
    return subprocess.run([sys.executable, "-m", "integhub", "--actor", actor, "sync", "--company", str(company_id),
                           "--provider", provider, "--json"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_ui_cli_and_save_flow_syncs_are_audited_alike(hub, hub_env, simulator):
    practice = new_practice(hub, simulator)
    operator = Identity(email="op@example.com", source="oidc", grants=(Grant("operator", None),))

    assert guarded.run_sync(operator, hub, practice.company_id, "calcom", trigger="ui").success
    cli = sync_cli(hub_env, simulator, practice.company_id, "retell", actor="cron@host")
    assert cli.returncode == 0, cli.stderr
    saved = save_config(hub, practice.company_id, "calcom", settings={"auto_sync_enabled": True, "sync_interval": 60},
                        actor="admin@example.com")
    assert saved.ok and [s.name for s in saved.steps][-1] == "sync"

    assert started(hub) == [
        ("sync.started", "op@example.com", "calcom", {"trigger": "ui"}),
        ("sync.started", "cron@host", "retell", {"trigger": "cli"}),
        ("sync.started", "admin@example.com", "calcom", {"trigger": "save"}),
    ]
    with hub.session() as s:  # each audited start is a run of its own, with the same actor and trigger
        runs = s.execute(select(SyncRun.actor, SyncRun.provider, SyncRun.trigger).order_by(SyncRun.id)).all()
    assert [tuple(r) for r in runs] == [("op@example.com", "calcom", "ui"), ("cron@host", "retell", "cli"),
                                        ("admin@example.com", "calcom", "save")]


def test_a_sync_that_does_not_start_is_not_audited_as_started(hub, hub_env, simulator):
    practice = new_practice(hub, simulator)
    held = leases.claim(hub, practice.company_id, "calcom", trigger="worker", actor="worker", lease_seconds=60)
    assert held is not None
    with pytest.raises(SyncAlreadyRunning):
        run_sync(hub, practice.company_id, "calcom", actor="anna", trigger="ui")
    busy = sync_cli(hub_env, simulator, practice.company_id, "calcom", actor="cron@host")
    assert busy.returncode == 1 and '"success": false' in busy.stdout and "läuft bereits" in busy.stderr
    leases.release_quietly(hub, held)

    with hub.session() as s:  # switched off: the engine refuses without a run
        s.execute(IntegrationConfig.__table__.update().where(IntegrationConfig.company_id == practice.company_id,
                                                             IntegrationConfig.provider == "retell")
                  .values(is_active=False))
    assert run_sync(hub, practice.company_id, "retell", actor="anna", trigger="ui").error_code == "inactive"
    assert started(hub, "sync.started") == []


def test_the_start_is_audited_in_the_claiming_transaction_or_not_at_all(hub, simulator, monkeypatch):
    """`sync.started` commits with the lease claim: a claim that fails after the audit row was
    written leaves neither (no audited start without a run, no run without its audit)."""
    from integhub.sync.engine import SyncRunner

    practice = new_practice(hub, simulator)

    def broken_open_run(self, session, lease):
        raise RuntimeError("the database went away while the run was being opened")

    with monkeypatch.context() as patched, pytest.raises(RuntimeError):
        patched.setattr(SyncRunner, "open_run", broken_open_run)
        run_sync(hub, practice.company_id, "calcom", actor="anna", trigger="ui")
    assert started(hub, "sync.started") == []
    assert running_sync(hub, practice.company_id, "calcom") is None  # the claim went with it

    assert run_sync(hub, practice.company_id, "calcom", actor="anna", trigger="ui").success
    assert started(hub, "sync.started") == [("sync.started", "anna", "calcom", {"trigger": "ui"})]

"""The scripting contract (../shared/contract.md), run end to end as subprocesses against the simulator."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import ROOT

CAL_KEY = "cal_live_00112233445566778899aabbccddeeff"
RETELL_KEY = "key_4f1c9d2e8a7b6c5d4e3f2a1b"


def cli(env, *args, stdin: str | None = None):
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-m", "integhub", *args], input=stdin, capture_output=True, text=True,
                          env=full_env, cwd=ROOT, timeout=120)


@pytest.fixture
def env(hub_env, simulator):
    return {**hub_env, "INTEGHUB_CALCOM_BASE_URL": simulator.url, "INTEGHUB_RETELL_BASE_URL": simulator.url}


def last_line(proc) -> str:
    return proc.stdout.strip().splitlines()[-1]


def test_help_lists_every_contract_command():
    out = subprocess.run([sys.executable, "-m", "integhub", "--help"], capture_output=True, text=True, cwd=ROOT).stdout
    for cmd in ("migrate", "generate-key", "rotate-keys", "check-keys", "company", "branch", "staff", "configure",
                "status", "sync", "webhooks", "worker", "serve"):
        assert cmd in out


def test_usage_errors_exit_2(env):
    assert cli(env, "company", "create").returncode == 2
    assert cli(env, "configure", "calcom", "--company", str(uuid.uuid4()), "--interval", "7").returncode == 2


def test_company_branch_staff_configure_status_end_to_end(env, hub):
    p = cli(env, "company", "create", "--name", "Zahnarztpraxis Sonnenschein", "--slug", "sonnenschein")
    assert p.returncode == 0, p.stderr
    company = last_line(p)
    uuid.UUID(company)
    branch = last_line(cli(env, "branch", "create", "--company", company, "--name", "Filiale Mitte"))
    uuid.UUID(branch)
    staff = cli(env, "staff", "create", "--company", company, "--name", "Anna Schmidt", "--email", "anna@example.de",
                "--branch", branch)
    assert staff.returncode == 0, staff.stderr
    uuid.UUID(last_line(staff))

    p = cli(env, "configure", "calcom", "--company", company, "--api-key-stdin", "--team-slug", "mein-team",
            "--no-auto-sync", "--interval", "30", stdin=CAL_KEY + "\n")
    assert p.returncode == 0, p.stderr
    assert CAL_KEY not in p.stdout + p.stderr
    assert "cal_live_…eeff" in p.stdout

    p = cli(env, "status", "--company", company, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["company_id"] == company
    assert doc["providers"]["calcom"]["state"] == "connected"
    assert doc["providers"]["calcom"]["configured"] is True
    assert doc["providers"]["retell"]["state"] == "not_configured"
    assert CAL_KEY not in p.stdout


def test_invalid_key_is_refused_and_the_working_key_stays(env, hub):
    company = last_line(cli(env, "company", "create", "--name", "Praxis Nord"))
    assert cli(env, "configure", "calcom", "--company", company, "--api-key-stdin", stdin=CAL_KEY).returncode == 0
    bad = "cal_invalid_0000000000000000000000000000"
    p = cli(env, "configure", "calcom", "--company", company, "--api-key-stdin", stdin=bad)
    assert p.returncode == 1
    assert p.stderr.startswith("error: ") and "abgelehnt" in p.stderr and "Traceback" not in p.stderr
    assert bad not in p.stdout + p.stderr
    doc = json.loads(cli(env, "status", "--company", company, "--json").stdout)
    assert doc["providers"]["calcom"]["state"] == "connected"


def test_format_errors_are_refused_before_any_provider_call(env, hub, simulator):
    company = last_line(cli(env, "company", "create", "--name", "Praxis Süd"))
    before = simulator.request_count
    p = cli(env, "configure", "calcom", "--company", company, "--api-key-stdin", stdin="not a key")
    assert p.returncode == 1 and "Leerzeichen" in p.stderr
    p = cli(env, "configure", "calcom", "--company", company, "--api-key-stdin", stdin="key_without_cal_prefix")
    assert p.returncode == 1 and "cal_" in p.stderr
    assert simulator.request_count == before


def test_unreachable_provider_reports_unreachable_within_the_timeout(env, hub, simulator):
    company = last_line(cli(env, "company", "create", "--name", "Praxis West"))
    assert cli(env, "configure", "retell", "--company", company, "--api-key-stdin", stdin=RETELL_KEY).returncode == 0
    dead = {**env, "INTEGHUB_RETELL_BASE_URL": "http://127.0.0.1:9"}  # nothing listens on the discard port
    p = cli(dead, "status", "--company", company, "--json")
    assert json.loads(p.stdout)["providers"]["retell"]["state"] == "unreachable"


def test_retell_configure_with_default_agent(env, hub, simulator):
    company = last_line(cli(env, "company", "create", "--name", "Praxis Ost"))
    agent = simulator.facts(RETELL_KEY)["retell"]["agent_ids"][0]
    p = cli(env, "configure", "retell", "--company", company, "--api-key-stdin", "--default-agent", "agent_unknown",
            stdin=RETELL_KEY)
    assert p.returncode == 1 and "Agent" in p.stderr
    p = cli(env, "configure", "retell", "--company", company, "--api-key-stdin", "--default-agent", agent, stdin=RETELL_KEY)
    assert p.returncode == 0, p.stderr
    assert "key_…2a1b" in p.stdout


def test_unknown_company_is_a_clear_failure(env, hub):
    p = cli(env, "status", "--company", str(uuid.uuid4()), "--json")
    assert p.returncode == 1 and "Unternehmen nicht gefunden" in p.stderr
    p = cli(env, "status", "--company", "not-a-uuid", "--json")
    assert p.returncode == 1 and "UUID" in p.stderr


def test_generate_rotate_and_check_keys(env, hub):
    company = last_line(cli(env, "company", "create", "--name", "Praxis Mitte"))
    assert cli(env, "configure", "calcom", "--company", company, "--api-key-stdin", stdin=CAL_KEY).returncode == 0
    new_key = last_line(cli(env, "generate-key"))
    ring = {**env, "INTEGHUB_ENCRYPTION_KEYS": f"{new_key},{env['INTEGHUB_ENCRYPTION_KEYS']}"}
    p = cli(ring, "rotate-keys")
    assert p.returncode == 0 and "rotated=1" in p.stdout, p.stdout + p.stderr
    only_new = {**env, "INTEGHUB_ENCRYPTION_KEYS": new_key}
    p = cli(only_new, "check-keys")
    assert p.returncode == 0 and "bad=0" in p.stdout
    wrong = {**env, "INTEGHUB_ENCRYPTION_KEYS": last_line(cli(env, "generate-key"))}
    p = cli(wrong, "status", "--company", company, "--json")
    assert p.returncode == 1 and "INTEGHUB_ENCRYPTION_KEYS" in p.stderr
    p = cli(wrong, "check-keys")
    assert p.returncode == 1 and "BAD company=" in p.stdout


def test_first_start_generates_a_private_key_file(tmp_path):
    env = {"INTEGHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite'}", "INTEGHUB_DATA_DIR": str(tmp_path),
           "INTEGHUB_ENCRYPTION_KEYS": ""}
    p = cli(env, "migrate")
    assert p.returncode == 0, p.stderr
    key_file = tmp_path / "encryption.key"
    assert str(key_file) in p.stderr and (key_file.stat().st_mode & 0o777) == 0o600


def test_sync_json_while_another_run_holds_the_lease(env, hub):
    from integhub.sync.lease import claim

    company = last_line(cli(env, "company", "create", "--name", "Praxis Lease"))
    assert cli(env, "configure", "calcom", "--company", company, "--api-key-stdin", stdin=CAL_KEY).returncode == 0
    assert claim(hub, uuid.UUID(company), "calcom", trigger="test", actor="other", lease_seconds=120) is not None
    p = cli(env, "sync", "--company", company, "--provider", "calcom", "--json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["success"] is False and doc["company_id"] == company and doc["provider"] == "calcom"
    assert "läuft bereits" in doc["error"] and p.stderr.startswith("error: ")

"""`python -m integhub sync --company ID --provider P --json` as the contract shows it, as a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from integhub.services.status import company_status
from tests.conftest import ROOT
from tests.sync.conftest import new_practice

CONTRACT_KEYS = {"company_id", "provider", "success", "records_synced", "duration_ms", "counts", "error"}


def sync_cli(hub_env, simulator, company_id, provider):
    env = {**os.environ, **hub_env, "INTEGHUB_CALCOM_BASE_URL": simulator.url,
           "INTEGHUB_RETELL_BASE_URL": simulator.url, "INTEGHUB_SYNC_RETRY_BASE_SECONDS": "0.01",
           "INTEGHUB_SYNC_RETRY_MAX_DELAY_SECONDS": "0.05"}
    return subprocess.run([sys.executable, "-m", "integhub", "sync", "--company", str(company_id), "--provider",
                           provider, "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("provider,counts", [
    ("calcom", {"event_types": 3, "users": 1, "bookings": 12}),
    ("retell", {"agents": 2, "phone_numbers": 2, "calls": 15}),
])
def test_sync_json_prints_the_contract_document(hub, hub_env, simulator, provider, counts):
    practice = new_practice(hub, simulator)
    proc = sync_cli(hub_env, simulator, practice.company_id, provider)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == CONTRACT_KEYS
    assert doc["company_id"] == str(practice.company_id) and doc["provider"] == provider
    assert doc["success"] is True and doc["error"] is None
    assert doc["counts"] == counts and doc["records_synced"] == sum(counts.values())
    assert isinstance(doc["duration_ms"], int) and doc["duration_ms"] >= 0

    status = company_status(hub, practice.company_id, use_cache=False)["providers"][provider]
    assert status["last_sync_at"] is not None and status["last_error"] is None
    stat_keys = {k: status["stats"][k] for k in counts}
    assert stat_keys == counts


def test_a_failed_sync_prints_success_false_and_exits_1(hub, hub_env, simulator):
    practice = new_practice(hub, simulator)
    simulator.revoke(practice.cal_key)
    proc = sync_cli(hub_env, simulator, practice.company_id, "calcom")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["success"] is False and doc["error"] and "401" in doc["error"]
    assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1
    assert practice.cal_key not in proc.stdout + proc.stderr
    status = company_status(hub, practice.company_id, use_cache=False)["providers"]["calcom"]
    assert status["last_error"] == doc["error"]

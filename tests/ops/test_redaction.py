"""No plaintext secret in the logs: a full sync of both providers and a webhook round at DEBUG level
(httpx, httpcore, retell, sqlalchemy, the hub), every record captured in a file and searched.

The driver (redaction_driver.py) is a separate process, so the whole logging set-up is real: the
root handler, a server-style handler made before the hub was imported, and no explicit call to
`redaction.install()`. A control run with redaction switched off shows the search does find leaks.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

DRIVER = Path(__file__).with_name("redaction_driver.py")
CALCOM_KEY = "cal_live_redact_5f0c2e9a7b1d4c3e"
RETELL_KEY = "key_redact_9d8c7b6a5f4e3d2c1b0a"
UNKNOWN_TOKEN = "tok_never_decrypted_8f7e6d5c"


def run_driver(tmp_path, hub_env, simulator, *, redaction: bool) -> tuple[dict, str, dict[str, str]]:
    agent = httpx.post(f"{simulator.url}/_sim/accounts", json={"api_key": RETELL_KEY, "counts": {}}).json()
    log_file = tmp_path / f"hub-{'on' if redaction else 'off'}.log"
    settings = {"log_file": str(log_file), "calcom_key": CALCOM_KEY, "retell_key": RETELL_KEY,
                "agent_id": agent["retell"]["agent_ids"][0], "unknown_token": UNKNOWN_TOKEN, "redaction": redaction}
    env = {**os.environ, **hub_env, "INTEGHUB_CALCOM_BASE_URL": simulator.url,
           "INTEGHUB_RETELL_BASE_URL": simulator.url}
    proc = subprocess.run([sys.executable, str(DRIVER)], input=json.dumps(settings), env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    secrets = {"Cal.com API key": CALCOM_KEY, "Retell API key": RETELL_KEY,
               "Cal.com webhook secret": Path(f"{log_file}.secret").read_text(),
               "bearer token": UNKNOWN_TOKEN}
    return outcome, log_file.read_text() + proc.stdout + proc.stderr, secrets


def test_no_plaintext_secret_in_debug_logs(hub, hub_env, simulator, tmp_path):
    outcome, log, secrets = run_driver(tmp_path, hub_env, simulator, redaction=True)
    # the round really happened
    assert outcome["invalid_key_refused"] and outcome["calcom_saved"] and outcome["retell_saved"]
    assert outcome["calcom_synced"] > 0 and outcome["retell_synced"] > 0
    assert outcome["status"] == {"calcom": "connected", "retell": "connected"}
    assert (outcome["retell_webhook"], outcome["retell_bad_signature"], outcome["calcom_webhook"]) == (200, 401, 200)
    # ... at DEBUG level, from every library that talks to a provider or the database
    for logger in ("httpx", "httpcore.http11", "retell._base_client", "sqlalchemy.engine.Engine", "integhub.probe"):
        assert f" {logger} DEBUG " in log or f" {logger} INFO " in log, logger
    assert log.count("[REDACTED]") >= 5  # every probe line was masked
    assert "request failed" in log and "RuntimeError: provider refused [REDACTED]" in log
    for name, secret in secrets.items():
        assert secret not in log, f"{name} found in the logs"


def test_the_search_finds_a_leak_when_redaction_is_off(hub, hub_env, simulator, tmp_path):
    _, log, secrets = run_driver(tmp_path, hub_env, simulator, redaction=False)
    leaked = {name for name, secret in secrets.items() if secret in log}
    assert leaked == set(secrets)  # the probes print each one; the search above would have failed

"""Two (here four) admins saving the same config version from separate processes: one wins, the
others get the conflict message, nothing is silently overwritten."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from integhub.services.companies import create_company
from integhub.services.configs import load_config, save_config
from tests.conftest import ROOT

SAVE_ONE = """
import json, sys
from integhub.db import Hub
from integhub.services.configs import save_config
company, version, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
result = save_config(Hub.from_env(), company, "calcom", settings={"sync_interval": interval},
                     expected_version=version, actor=f"admin-{interval}", trigger_sync=False)
print(json.dumps({"ok": result.ok, "error": result.error_message("en")}))
"""


def test_concurrent_saves_from_separate_processes_let_exactly_one_win(hub, hub_env, simulator):
    company = create_company(hub, "Praxis Wettlauf")
    first = save_config(hub, company.id, "calcom", api_key="cal_" + "0f" * 16, trigger_sync=False)
    assert first.ok, first.error_message()
    env = {**os.environ, **hub_env, "INTEGHUB_CALCOM_BASE_URL": simulator.url}
    procs = [subprocess.Popen([sys.executable, "-c", SAVE_ONE, str(company.id), str(first.config.version), str(n)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in (15, 30, 60, 1440)]
    outcomes = [json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in procs]
    assert sum(o["ok"] for o in outcomes) == 1, outcomes
    assert all("Someone else saved" in o["error"] for o in outcomes if not o["ok"])
    winner = [n for n, o in zip((15, 30, 60, 1440), outcomes) if o["ok"]][0]
    stored = load_config(hub, company.id, "calcom")
    assert stored.settings["sync_interval"] == winner and stored.version == first.config.version + 1

"""Demo mode: demo companies on the built-in simulator, once per process, refused next to real data."""
from __future__ import annotations

import os

import pytest

from integhub.errors import HubError
from integhub.services import companies, configs, demo, status


@pytest.fixture
def demo_env(hub, monkeypatch):
    # start_simulator() changes these process-wide; monkeypatch restores them after the test.
    monkeypatch.setenv("INTEGHUB_CALCOM_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("INTEGHUB_RETELL_BASE_URL", "http://127.0.0.1:9")
    return hub


def test_loading_the_demo_gives_connected_synced_companies_offline(demo_env):
    hub = demo_env
    result = demo.load_demo(hub)
    url = demo.simulator_url()
    assert url and os.environ["INTEGHUB_CALCOM_BASE_URL"] == url == os.environ["INTEGHUB_RETELL_BASE_URL"]
    assert len(result.company_ids) == 3 and result.created == 3
    assert demo.is_demo(hub)
    first = result.first_company_id
    doc = status.company_status(hub, first, use_cache=False)
    assert doc["providers"]["calcom"]["state"] == "connected"
    assert doc["providers"]["retell"]["state"] == "connected"
    assert doc["providers"]["calcom"]["stats"]["event_types"] > 0  # synced at load time
    assert doc["providers"]["calcom"]["stats"]["users_mapped"] == 1  # the key's owner is a staff member
    # The second company is ready to be configured by hand, the third shows the dependency warnings.
    second, third = result.company_ids[1:]
    assert not configs.load_config(hub, second, "calcom").configured
    assert companies.dependency_counts(hub, third) == {"branches": 0, "staff": 0}


def test_loading_twice_changes_nothing_and_a_restart_resumes_the_simulator(demo_env):
    hub = demo_env
    first = demo.load_demo(hub)
    second = demo.load_demo(hub)
    assert second.created == 0 and second.company_ids == first.company_ids
    assert demo.start_simulator() == demo.simulator_url()  # one simulator per process
    os.environ["INTEGHUB_CALCOM_BASE_URL"] = "http://127.0.0.1:9"
    assert demo.resume(hub) == demo.simulator_url()
    assert os.environ["INTEGHUB_CALCOM_BASE_URL"] == demo.simulator_url()


def test_the_demo_is_refused_next_to_real_companies(demo_env):
    hub = demo_env
    companies.create_company(hub, "Echte Praxis")
    with pytest.raises(HubError) as exc:
        demo.load_demo(hub)
    assert exc.value.key == "ui.demo.refused_real_data"
    assert not demo.is_demo(hub)
    assert companies.list_companies(hub).total == 1

"""Select options for the provider forms, discovered at the provider with the stored key."""
from __future__ import annotations

import pytest

from integhub.providers.errors import InvalidCredentials
from integhub.services import companies, configs, discovery

CAL_KEY = "cal_live_0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _fresh():
    discovery.clear_cache()
    yield
    discovery.clear_cache()


def test_options_come_from_the_provider_and_are_cached_per_key(hub, simulator):
    company = companies.create_company(hub, "Praxis")
    assert discovery.field_options(hub, company.id, "calcom") == {}  # no key stored: nothing to ask
    assert configs.save_config(hub, company.id, "calcom", api_key=CAL_KEY, actor="test").ok
    options = discovery.field_options(hub, company.id, "calcom")["default_event_type_id"]
    assert len(options) == simulator.facts(CAL_KEY)["counts"]["event_types"]
    before = simulator.request_count
    assert discovery.field_options(hub, company.id, "calcom")["default_event_type_id"] == options
    assert simulator.request_count == before  # served from the cache
    simulator.revoke(CAL_KEY)
    assert discovery.field_options(hub, company.id, "calcom")["default_event_type_id"] == options  # still cached
    discovery.clear_cache()
    with pytest.raises(InvalidCredentials):
        discovery.field_options(hub, company.id, "calcom")

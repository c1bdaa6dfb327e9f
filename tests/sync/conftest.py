"""Fixtures for sync tests: a company with both providers configured against the simulator."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from integhub.providers.http import RetryPolicy
from integhub.services.companies import create_branch, create_company, create_staff
from integhub.services.configs import save_config
from integhub.sync.options import SyncOptions

CAL_KEY = "cal_live_5a1d2c3b4e5f60718293a4b5c6d7e8f9"
RETELL_KEY = "key_sync_0a1b2c3d4e5f6a7b8c9d"


@pytest.fixture
def options() -> SyncOptions:
    """Short timeouts and retry waits: a failing provider fails within a second or two."""
    return SyncOptions(request_timeout=1.0, retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05,
                                                              max_total=5.0),
                       lease_seconds=30.0, backoff_base_seconds=60.0)


@dataclass
class Practice:
    company_id: uuid.UUID
    cal_key: str
    retell_key: str


def configure(hub, company_id, provider: str, api_key: str, **settings) -> None:
    result = save_config(hub, company_id, provider, api_key=api_key, settings=settings, actor="test",
                         trigger_sync=False)
    assert result.ok, result.error_message("en")


def new_practice(hub, simulator, *, name: str = "Praxis Sonnenschein", cal_key: str = CAL_KEY,
                 retell_key: str = RETELL_KEY, branches: int = 1, **counts) -> Practice:
    company = create_company(hub, name, actor="test")
    for i in range(branches):
        create_branch(hub, company.id, f"Filiale {i + 1}", actor="test")
    cal_counts = {k: v for k, v in counts.items() if k in ("event_types", "team_event_types", "members", "bookings",
                                                             "team_bookings")}
    retell_counts = {k: v for k, v in counts.items() if k in ("agents", "phone_numbers", "calls")}
    if cal_counts:
        simulator.configure(cal_key, **cal_counts)
    if retell_counts:
        simulator.configure(retell_key, **retell_counts)
    configure(hub, company.id, "calcom", cal_key)
    configure(hub, company.id, "retell", retell_key)
    return Practice(company.id, cal_key, retell_key)


@pytest.fixture
def practice(hub, simulator) -> Practice:
    return new_practice(hub, simulator)


def add_staff(hub, company_id, name: str, email: str):
    return create_staff(hub, company_id, name, email, actor="test")

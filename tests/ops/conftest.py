"""Fixtures for the operations tests."""
import pytest


@pytest.fixture(autouse=True)
def _fresh_ops_caches():
    """Process-wide caches (fleet counts, the metrics text) must not leak from one test's database
    into the next (PostgreSQL tests reuse one database, truncated in between)."""
    from integhub import prometheus
    from integhub.services import fleet

    fleet.clear_counts()
    prometheus._cache.clear()
    prometheus._COUNTERS.reset()
    yield
    fleet.clear_counts()
    prometheus._cache.clear()

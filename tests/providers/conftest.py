"""Fixtures for provider tests. The `simulator` fixture (a SimulatorServer on loopback, reset per
test) lives in tests/conftest.py."""
from __future__ import annotations

import socket

import pytest

from integhub.providers.http import RetryPolicy


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """Same shape as the default policy, with waits short enough for tests."""
    return RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_total=5.0)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"

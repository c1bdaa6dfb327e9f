"""Shared fixtures: every database test runs on SQLite and, when INTEGHUB_TEST_POSTGRES_URL is set,
again on PostgreSQL in a database created for this test session and dropped afterwards."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

from integhub import migrate
from integhub.crypto import generate_key
from integhub.db import Hub, make_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("INTEGHUB_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TEST_KEYS = f"{generate_key()},{generate_key()}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> str | None:
    """A fresh PostgreSQL database for this session, migrated once, dropped at the end."""
    if not PG_URL:
        yield None
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"integhub_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_all(url: str) -> None:
    engine = make_engine(url, poolclass=__import__("sqlalchemy.pool", fromlist=["NullPool"]).NullPool)
    with engine.begin() as conn:
        tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


# For tests that only make sense on PostgreSQL (many processes sharing work, COPY):
# `@postgres_only` runs them there and nowhere else, instead of skipping them on SQLite.
postgres_only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path, sqlite_template) -> str:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("needs INTEGHUB_TEST_POSTGRES_URL (CI sets it and requires it)")
    if request.param == "sqlite":
        path = tmp_path / "hub.sqlite"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _truncate_all(url)
    return url


@pytest.fixture
def hub_env(db_url, tmp_path, monkeypatch) -> dict[str, str]:
    """Environment of a hub process for this test (also handed to CLI subprocesses)."""
    env = {
        "INTEGHUB_DATABASE_URL": db_url,
        "INTEGHUB_ENCRYPTION_KEYS": TEST_KEYS,
        "INTEGHUB_DATA_DIR": str(tmp_path / "data"),
        "INTEGHUB_LANG": "de",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def hub(hub_env) -> Hub:
    h = Hub.from_env()
    yield h
    h.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_status_cache():
    from integhub.services.status import CACHE

    CACHE.clear()
    yield
    CACHE.clear()


def pytest_sessionstart(session):
    """In CI (INTEGHUB_REQUIRE_POSTGRES=1) PostgreSQL must be configured and reachable: never skip it."""
    if os.environ.get("INTEGHUB_REQUIRE_POSTGRES") == "1":
        if not PG_URL:
            raise pytest.UsageError("INTEGHUB_REQUIRE_POSTGRES=1 but INTEGHUB_TEST_POSTGRES_URL is not set")
        engine = create_engine(PG_URL)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise pytest.UsageError(f"PostgreSQL at {make_url(PG_URL).render_as_string()} is unreachable: {exc}") from None
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def simulator_server():
    from integhub.simulator.server import SimulatorServer

    with SimulatorServer() as sim:
        yield sim


@pytest.fixture
def simulator(simulator_server, monkeypatch):
    """The provider simulator over real loopback HTTP, reset for this test; clients point at it."""
    simulator_server.reset()
    monkeypatch.setenv("INTEGHUB_CALCOM_BASE_URL", simulator_server.url)
    monkeypatch.setenv("INTEGHUB_RETELL_BASE_URL", simulator_server.url)
    yield simulator_server
    simulator_server.clear_faults()

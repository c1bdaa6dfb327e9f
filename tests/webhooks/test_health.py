"""GET /api/health: 200 with JSON when the database answers and migrations are current, 503 otherwise."""
from __future__ import annotations

from starlette.testclient import TestClient

from integhub import migrate, web
from integhub.db import make_engine


def test_health_is_200_when_migrated(api):
    reply = api.get("/api/health")
    assert reply.status_code == 200
    assert reply.json()["status"] == "ok" and reply.json()["revision"] == migrate.head_revision()


def fresh_client(monkeypatch, url: str) -> TestClient:
    monkeypatch.setenv("INTEGHUB_DATABASE_URL", url)
    web.route_hub.cache_clear()
    return TestClient(web.api_app())


def test_health_is_503_when_migrations_are_pending(hub_env, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine, "0002_remote_objects")
    engine.dispose()
    with fresh_client(monkeypatch, url) as client:
        reply = client.get("/api/health")
    assert reply.status_code == 503
    assert reply.json()["migrations"] == "pending" and reply.json()["current"] == "0002_remote_objects"
    web.route_hub().engine.dispose()
    web.route_hub.cache_clear()


def test_health_is_503_when_the_database_is_not_there(hub_env, monkeypatch, tmp_path):
    with fresh_client(monkeypatch, "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2") as client:
        reply = client.get("/api/health")
        webhook = client.post("/api/calcom/webhook/3dba3994-f4bd-419a-abd0-06eba3cf5f8f", content=b"{}",
                              headers={"x-cal-signature-256": "0" * 64})
    assert reply.status_code == 503 and reply.json()["database"] == "unreachable"
    assert webhook.status_code == 503  # the provider should retry later: nothing could be stored
    web.route_hub.cache_clear()

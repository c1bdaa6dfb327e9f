"""/api/metrics: the Prometheus text format with sync, webhook, lease and overdue figures."""
import re
from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from integhub import prometheus
from integhub.models import IntegrationConfig, utcnow
from integhub.models_sync import SyncState
from integhub.services.companies import create_company
from integhub.services.metrics import record_metric

LINE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (-?[0-9.e+]+)$')


def parse(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = LINE.match(line)
        assert m, f"not Prometheus text format: {line!r}"
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples


@pytest.fixture
def populated(hub):
    prometheus._cache.clear()
    a, b = create_company(hub, "Alpha").id, create_company(hub, "Beta").id
    now = utcnow()
    with hub.session() as s:
        for ok in (True, True, False):
            record_metric(s, company_id=a, provider="calcom", action="sync", success=ok)
        record_metric(s, company_id=b, provider="retell", action="sync", success=False, error_code="timeout")
        for code in (None, None, "signature", "signature", "processing"):
            record_metric(s, company_id=a, provider="retell", action="webhook", success=code is None, error_code=code)
        record_metric(s, company_id=a, provider="calcom", action="validate", success=True)
        s.add(IntegrationConfig(company_id=a, provider="calcom", is_active=True, last_sync_at=now - timedelta(minutes=45),
                                settings={"auto_sync_enabled": True, "sync_interval": 15}))
        s.add(IntegrationConfig(company_id=b, provider="retell", is_active=True, last_sync_at=now - timedelta(minutes=20),
                                settings={"auto_sync_enabled": True, "sync_interval": 15}))
        s.add(SyncState(company_id=a, provider="calcom", lease_token="t1", lease_holder="h:1",
                        lease_expires_at=now + timedelta(minutes=1), started_at=now - timedelta(seconds=120)))
        s.add(SyncState(company_id=b, provider="retell", lease_token="t2", lease_holder="h:2",
                        lease_expires_at=now - timedelta(minutes=1), started_at=now - timedelta(minutes=30)))
    return a, b


def test_metrics_text(hub, populated):
    samples = parse(prometheus.metrics_text(hub))
    assert samples['integhub_syncs_total{provider="calcom"}'] == 3
    assert samples['integhub_sync_failures_total{provider="calcom"}'] == 1
    assert samples['integhub_sync_failures_total{provider="retell"}'] == 1
    assert samples['integhub_webhook_deliveries_total{provider="retell"}'] == 5
    assert samples['integhub_webhook_signature_failures_total{provider="retell"}'] == 2
    assert samples['integhub_webhook_failures_total{provider="retell"}'] == 3
    assert samples['integhub_webhook_deliveries_total{provider="calcom"}'] == 0
    assert samples['integhub_overdue_syncs{freshness="failing",provider="calcom"}'] == 1
    assert samples['integhub_overdue_syncs{freshness="late",provider="retell"}'] == 1
    assert samples["integhub_running_syncs"] == 1
    assert 119 <= samples["integhub_oldest_running_sync_seconds"] < 200  # the expired lease does not count
    assert samples["integhub_expired_leases"] == 1
    assert samples['integhub_configs{active="true",provider="calcom"}'] == 1
    assert samples["integhub_database_up"] == 1


def test_endpoint_content_type_and_token(hub, populated, monkeypatch):
    from integhub import web

    web.route_hub.cache_clear()
    client = TestClient(Starlette(routes=[Route("/api/metrics", prometheus.metrics_endpoint)]))
    try:
        resp = client.get("/api/metrics")
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE integhub_syncs_total counter" in resp.text
        monkeypatch.setenv("INTEGHUB_METRICS_TOKEN", "scrape-token-123")
        assert client.get("/api/metrics").status_code == 401
        assert client.get("/api/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/api/metrics", headers={"Authorization": "Bearer scrape-token-123"}).status_code == 200
    finally:
        web.route_hub.cache_clear()


def test_counters_fold_settled_rows_and_count_new_ones(hub, populated):
    from integhub.models import IntegrationMetric

    a, _ = populated
    first = parse(prometheus.metrics_text(hub))
    with hub.session() as s:  # settle what exists: backdate it past the settling time
        for m in s.query(IntegrationMetric):
            m.created_at = utcnow() - timedelta(hours=1)
    prometheus._cache.clear()
    folded = parse(prometheus.metrics_text(hub))
    watermark, base = next(iter(prometheus._COUNTERS._state.values()))
    assert watermark > 0 and sum(base.values()) == 9  # every sync/webhook row is in the base now
    moving = ("integhub_metrics_scrape_seconds", "integhub_oldest_running_sync_seconds")  # clocks, not counts
    assert {k: v for k, v in folded.items() if k not in moving} == {k: v for k, v in first.items() if k not in moving}
    with hub.session() as s:
        record_metric(s, company_id=a, provider="calcom", action="sync", success=False)
        record_metric(s, company_id=a, provider="retell", action="webhook", success=False, error_code="signature")
    prometheus._cache.clear()
    after = parse(prometheus.metrics_text(hub))
    assert after['integhub_syncs_total{provider="calcom"}'] == first['integhub_syncs_total{provider="calcom"}'] + 1
    assert after['integhub_sync_failures_total{provider="calcom"}'] == 2
    assert after['integhub_webhook_signature_failures_total{provider="retell"}'] == 3

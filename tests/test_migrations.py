from sqlalchemy import inspect

from integhub import migrate
from integhub.db import make_engine


def test_upgrade_downgrade_upgrade(db_url):
    engine = make_engine(db_url)
    try:
        assert migrate.is_current(engine)
        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert "integration_configs" not in inspect(engine).get_table_names()
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
    finally:
        engine.dispose()


def test_integration_configs_matches_the_spec(db_url):
    engine = make_engine(db_url)
    try:
        insp = inspect(engine)
        cols = {c["name"]: c for c in insp.get_columns("integration_configs")}
        assert list(cols) == ["id", "company_id", "provider", "api_key", "webhook_secret", "settings", "is_active",
                              "last_sync_at", "last_error", "created_at", "updated_at", "version"]
        assert "idx_integration_configs_company_provider" in {i["name"] for i in insp.get_indexes("integration_configs")}
        uniques = [set(u["column_names"]) for u in insp.get_unique_constraints("integration_configs")]
        assert {"company_id", "provider"} in uniques
        if engine.dialect.name == "postgresql":
            assert "gen_random_uuid" in str(cols["id"]["default"])
            assert str(cols["settings"]["type"]) == "JSONB"
        metric_idx = {i["name"] for i in insp.get_indexes("integration_metrics")}
        assert "idx_integration_metrics_company_provider_time" in metric_idx
    finally:
        engine.dispose()

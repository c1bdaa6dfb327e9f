"""Server-side run time of every page (AppTest) at 10,000 companies against 10 companies.

The large database holds 10,000 companies, 20,000 integration configs (a Cal.com and a Retell key
each, encrypted) and 1,000,000 integration_metrics rows; the small one 10 companies with the same
kind of rows. The measured company is the same in both (3 branches, 20 staff, both providers
configured and synced once against the simulator), so the only difference is the size of everything
around it. Each page is opened through the router as the browser would (app.py, then switch_page),
warmed up, then rerun `rounds` times; the figure is the median run. Provider status checks are
cached as in production (a 30 s refresh keeps them 24 s), so the figures are the hub's own work.

Goals: for every page, large/small at most 1.5 (nothing scans whole tables); the overview's
median at most 200 ms (RESULT line with floor = 200, ratio <= 1 passes).

    python bench/pages.py [--quick] [--postgres]

--quick: 1,000 companies, 2,000 configs, 100,000 metric rows (under a minute). --postgres: run on
PostgreSQL (INTEGHUB_BENCH_POSTGRES_URL, default the local test server; fresh databases, dropped).
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from _common import median, result, scratch_database

ROOT = Path(__file__).resolve().parent.parent
OVERVIEW_GOAL_MS = 200.0


def populate(url: str, companies: int, metric_rows: int) -> uuid.UUID:
    """Fill a migrated database; returns the measured company's id (synced once via the simulator)."""
    from sqlalchemy import insert, text

    from integhub import migrate
    from integhub.crypto import context_for
    from integhub.db import Hub
    from integhub.models import Company, IntegrationConfig, IntegrationMetric, utcnow
    from integhub.services import companies as company_service
    from integhub.services import configs, sync

    os.environ["INTEGHUB_DATABASE_URL"] = url
    hub = Hub.from_env(check_keys=False)
    migrate.upgrade(hub.engine)
    hub.verify_key_ring()
    now = utcnow()
    target = company_service.create_company(hub, "Aaa Messpraxis", "aaa-messpraxis")
    branches = [company_service.create_branch(hub, target.id, f"Filiale {i}").id for i in range(3)]
    for i in range(20):
        company_service.create_staff(hub, target.id, f"Mitarbeiter {i:02d}", f"m{i:02d}@example.org",
                                     branch_id=branches[i % 3])
    for provider, key in (("calcom", f"cal_live_{secrets.token_hex(16)}"), ("retell", f"key_{secrets.token_hex(14)}")):
        saved = configs.save_config(hub, target.id, provider, api_key=key, actor="bench")
        assert saved.ok, saved.error_message("en")
        assert sync.run_sync(hub, target.id, provider, actor="bench").success

    ids: list[uuid.UUID] = [target.id]
    company_rows, config_rows = [], []
    for i in range(1, companies):
        cid = uuid.uuid4()
        ids.append(cid)
        company_rows.append({"id": cid, "name": f"Praxis {i:05d}", "slug": f"praxis-{i:05d}",
                             "timezone": "Europe/Berlin", "created_at": now})
        for provider, prefix in (("calcom", "cal_live_"), ("retell", "key_")):
            config_rows.append({
                "id": uuid.uuid4(), "company_id": cid, "provider": provider,
                "api_key": hub.keyring.encrypt(prefix + secrets.token_hex(16), context_for(cid, provider, "api_key")),
                "webhook_secret": None, "settings": {"auto_sync_enabled": i % 3 == 0, "sync_interval": 60},
                "is_active": True, "last_sync_at": now - timedelta(minutes=i % 90), "last_error": None,
                "created_at": now, "updated_at": now, "version": 1})
    with hub.engine.begin() as conn:
        for start in range(0, len(company_rows), 5000):
            conn.execute(insert(Company), company_rows[start:start + 5000])
        for start in range(0, len(config_rows), 5000):
            conn.execute(insert(IntegrationConfig), config_rows[start:start + 5000])
    batch = 20_000
    with hub.engine.begin() as conn:
        for start in range(0, metric_rows, batch):
            conn.execute(insert(IntegrationMetric), [
                {"company_id": ids[(start + j) % len(ids)], "provider": "calcom" if j % 2 else "retell",
                 "action": ("sync", "sync", "webhook", "validate")[j % 4], "success": j % 13 != 0,
                 "duration_ms": 40 + j % 900, "records_synced": j % 60,
                 "error_code": "timeout" if j % 13 == 0 else None,
                 "created_at": now - timedelta(seconds=((start + j) * 7) % (30 * 86400))}
                for j in range(min(batch, metric_rows - start))])
    if hub.dialect == "postgresql":
        with hub.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    else:
        with hub.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    hub.engine.dispose()
    return target.id


def page_paths() -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT))
    from ui.nav import page_specs

    return [(spec.key, str(ROOT / spec.path)) for spec in page_specs() if spec.path]


def time_pages(runs: dict[str, tuple[str, uuid.UUID]], rounds: int) -> dict[str, dict[str, float]]:
    """Median run (ms) per page for each database. The databases take turns run by run, so both see
    the same machine load (the benchmark machine is shared)."""
    from streamlit.testing.v1 import AppTest

    from ui import hub as ui_hub

    ui_hub._hub_for.clear()
    apps: dict[str, AppTest] = {}
    for label, (url, company_id) in runs.items():
        os.environ["INTEGHUB_DATABASE_URL"] = url
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.query_params["company"] = str(company_id)
        apps[label] = at.run()
    out: dict[str, dict[str, float]] = {label: {} for label in runs}
    for key, path in page_paths():
        samples: dict[str, list[float]] = {label: [] for label in runs}
        for label, at in apps.items():
            os.environ["INTEGHUB_DATABASE_URL"] = runs[label][0]
            at.switch_page(path).run()
            for _ in range(2):  # warm: imports, discovery and status caches, the engine's pool
                at.run()
            if at.exception or at.error:
                raise SystemExit(f"page {key} failed: {[e.value for e in at.exception] or [e.value for e in at.error]}")
        for _ in range(rounds):
            for label, at in apps.items():
                os.environ["INTEGHUB_DATABASE_URL"] = runs[label][0]
                t0 = time.perf_counter()
                at.run()
                samples[label].append((time.perf_counter() - t0) * 1000)
        for label in runs:
            out[label][key] = median(samples[label])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 companies, 100,000 metric rows")
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL instead of SQLite")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    big = 1_000 if args.quick else 10_000
    metric_rows = 100_000 if args.quick else 1_000_000
    rounds = args.rounds or (7 if args.quick else 21)

    from integhub.crypto import generate_key
    from integhub.simulator.server import SimulatorServer

    os.environ["INTEGHUB_ENCRYPTION_KEYS"] = generate_key()
    data_dir = tempfile.mkdtemp(prefix="integhub-bench-pages-data-")
    os.environ["INTEGHUB_DATA_DIR"] = data_dir
    os.environ["INTEGHUB_STATUS_REFRESH_SECONDS"] = "30"
    os.environ.pop("INTEGHUB_DEV_ROLE", None)  # AppTest signs in through development mode: admin
    small_url, drop_small = scratch_database("pages_small", postgres=args.postgres)
    big_url, drop_big = scratch_database("pages_big", postgres=args.postgres)
    with SimulatorServer() as sim:
        os.environ["INTEGHUB_CALCOM_BASE_URL"] = sim.url
        os.environ["INTEGHUB_RETELL_BASE_URL"] = sim.url
        try:
            t0 = time.perf_counter()
            small_company = populate(small_url, 10, metric_rows // 1000)
            big_company = populate(big_url, big, metric_rows)
            backend = "PostgreSQL" if args.postgres else "SQLite"
            print(f"populated ({backend}): {big} companies, {2 * (big - 1) + 2} configs, {metric_rows:,} metric rows "
                  f"vs 10 companies in {time.perf_counter() - t0:.1f} s; {rounds} rounds per page", file=sys.stderr)
            timed = time_pages({"small": (small_url, small_company), "large": (big_url, big_company)}, rounds)
            small, large = timed["small"], timed["large"]
        finally:
            drop_small()
            drop_big()
            shutil.rmtree(data_dir, ignore_errors=True)
    for key in small:
        print(f"page {key:<10} {large[key]:7.1f} ms at {big:,} companies   {small[key]:7.1f} ms at 10", file=sys.stderr)
    for key in small:
        result(f"page_{key}_{big}_companies_ms", large[key], small[key], 1.5)
    result(f"page_overview_{big}_companies_abs_ms", large["overview"], OVERVIEW_GOAL_MS, 1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

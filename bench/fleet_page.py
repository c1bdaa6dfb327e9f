"""The fleet page at 10,000 companies, and the /api/metrics scrape over many metric rows.

1. Server-side run time of the fleet page (AppTest, as an admin) on a database with 10,000
   companies (about 19,000 configs in every freshness state, sync leases) against one with 10 companies:
   default view, "problems only", and the last page. Goal: ratio at most 1.5 (nothing scans more
   than the grid needs), and the default view's median at most 200 ms. The cards' fleet-wide
   counts are kept 10 s (reruns from clicks reuse them); with a recount on every run (one pass
   over the configs) the page is printed too, and its worst view must stay under 200 ms.
2. `/api/metrics` (metrics_text, its text cache off) over 1,000,000 integration_metrics rows and
   10,000 companies against the same scrape on the 10-company database. The all-time counters
   only count rows above a settled watermark, so a scrape does not grow with the metric table;
   the overdue gauge still reads every config. Goal: ratio at most 3.

Runs on PostgreSQL (INTEGHUB_BENCH_POSTGRES_URL, default the local test server, a fresh database
per run), or SQLite when PostgreSQL is not reachable.

    python bench/fleet_page.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from _common import median, result, scratch_database

ROOT = Path(__file__).resolve().parent.parent


def populate(url: str, companies: int, metric_rows: int, seed: int = 7) -> None:
    """Companies with (mostly) two configs each in every freshness state, some leases, metric rows."""
    from sqlalchemy import insert

    from integhub import migrate
    from integhub.db import Hub, make_engine
    from integhub.models import Company, IntegrationConfig, IntegrationMetric, utcnow
    from integhub.models_sync import SyncState

    engine = make_engine(url)
    migrate.upgrade(engine)
    rng = random.Random(seed)
    now = utcnow()
    comp_rows, cfg_rows, state_rows = [], [], []
    for i in range(companies):
        cid = uuid.uuid4()
        comp_rows.append({"id": cid, "name": f"Praxis {i:05d} {rng.choice('ABCDEFGH')}", "slug": f"praxis-{i:05d}",
                          "timezone": "Europe/Berlin", "created_at": now - timedelta(days=30)})
        for provider in ("calcom", "retell"):
            if rng.random() < 0.05:
                continue  # not configured
            interval = rng.choice((15, 30, 60, 1440))
            # a working fleet: mostly on time, some late, some failing, some never synced
            age = rng.choices((0.5, 1.5, 3.0, None), weights=(80, 8, 6, 6))[0]
            cfg_rows.append({
                "id": uuid.uuid4(), "company_id": cid, "provider": provider, "api_key": None, "webhook_secret": None,
                "settings": {"auto_sync_enabled": rng.random() < 0.85, "sync_interval": interval},
                "is_active": True, "last_sync_at": None if age is None else now - timedelta(minutes=interval * age),
                "last_error": "Zeitüberschreitung" if rng.random() < 0.03 else None,
                "created_at": now - timedelta(days=10), "updated_at": now, "version": 1})
            if rng.random() < 0.01:
                state_rows.append({"company_id": cid, "provider": provider, "lease_token": uuid.uuid4().hex,
                                   "lease_holder": "bench:1", "lease_expires_at": now + timedelta(minutes=2),
                                   "started_at": now - timedelta(seconds=30), "consecutive_failures": 0,
                                   "last_counts": {}, "cursors": {}})
    with engine.begin() as conn:
        for start in range(0, len(comp_rows), 5000):
            conn.execute(insert(Company), comp_rows[start:start + 5000])
        for start in range(0, len(cfg_rows), 5000):
            conn.execute(insert(IntegrationConfig), cfg_rows[start:start + 5000])
        if state_rows:
            conn.execute(insert(SyncState), state_rows)
    ids = [r["id"] for r in comp_rows]
    batch = 20_000
    with engine.begin() as conn:
        for start in range(0, metric_rows, batch):
            conn.execute(insert(IntegrationMetric), [
                {"company_id": ids[(start + j) % len(ids)], "provider": "calcom" if j % 2 else "retell",
                 "action": ("sync", "webhook", "validate")[j % 3], "success": j % 11 != 0, "duration_ms": j % 900,
                 "records_synced": j % 50, "error_code": "signature" if j % 33 == 1 else None,
                 "created_at": now - timedelta(minutes=(start + j) % 100_000)}
                for j in range(min(batch, metric_rows - start))])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            from sqlalchemy import text

            conn.execute(text("ANALYZE"))
    engine.dispose()
    Hub  # noqa: B018 - imported for side effects of model registration


def time_page(url: str, rounds: int, counts_seconds: float) -> dict[str, float]:
    """Median server-side run (ms) of the fleet page: default, problems only, last page.

    `counts_seconds`: how long the cards' fleet-wide counts are kept (0: every run recounts).
    """
    from streamlit.testing.v1 import AppTest

    from integhub.services import fleet

    fleet.COUNTS_SECONDS = counts_seconds
    fleet.clear_counts()

    os.environ["INTEGHUB_DATABASE_URL"] = url
    os.environ.pop("INTEGHUB_DEV_ROLE", None)  # development mode identity: admin for all companies
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(str(ROOT / "pages" / "fleet.py")).run()
    if at.exception:
        raise SystemExit(f"fleet page failed: {at.exception}")
    out: dict[str, float] = {}

    def measure(name: str) -> None:
        samples = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            at.run()
            samples.append((time.perf_counter() - t0) * 1000)
            if at.exception:
                raise SystemExit(f"fleet page failed: {at.exception}")
        out[name] = median(samples)

    measure("default")
    at.toggle(key="fleet_problems").set_value(True).run()
    measure("problems")
    at.toggle(key="fleet_problems").set_value(False).run()
    last = at.session_state["fleet_page"] if "fleet_page" in at.session_state else 1
    pages = int(at.get("pagination")[0].proto.num_pages) if at.get("pagination") else 1
    at.session_state["fleet_page"] = pages or last
    at.run()
    measure("last_page")
    return out


def time_metrics(url: str, rounds: int) -> tuple[float, float]:
    """(first scrape of a process, median of the following ones) in ms, nothing cached between."""
    from integhub import prometheus
    from integhub.db import Hub

    os.environ["INTEGHUB_DATABASE_URL"] = url
    hub = Hub.from_env(check_keys=False)
    prometheus.CACHE_SECONDS = 0.0  # the text cache would hide the work
    prometheus._COUNTERS.reset()
    t0 = time.perf_counter()
    prometheus.metrics_text(hub)
    first = (time.perf_counter() - t0) * 1000
    scrapes = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        prometheus.metrics_text(hub)
        scrapes.append((time.perf_counter() - t0) * 1000)
    hub.engine.dispose()
    return first, median(scrapes)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    big = 2_000 if args.quick else 10_000
    metric_rows = 100_000 if args.quick else 1_000_000
    rounds = 5 if args.quick else 15

    from integhub.crypto import generate_key

    os.environ.setdefault("INTEGHUB_ENCRYPTION_KEYS", generate_key())
    os.environ["INTEGHUB_DATA_DIR"] = tempfile.mkdtemp(prefix="integhub-bench-")
    small_url, drop_small = scratch_database("fleet_small")
    big_url, drop_big = scratch_database("fleet_big")
    try:
        t0 = time.perf_counter()
        populate(small_url, 10, 1_000)
        populate(big_url, big, metric_rows)
        print(f"populated {big} companies, {2 * big} configs, {metric_rows} metric rows on "
              f"{big_url.split(':', 1)[0]} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        small = time_page(small_url, rounds, 10.0)
        large = time_page(big_url, rounds, 10.0)
        small_fresh = time_page(small_url, rounds, 0.0)
        large_fresh = time_page(big_url, rounds, 0.0)
        for name in ("default", "problems", "last_page"):
            print(f"fleet page {name}: {large[name]:.1f} ms at {big} companies, {small[name]:.1f} ms at 10; "
                  f"recounting every run {large_fresh[name]:.1f} / {small_fresh[name]:.1f} ms", file=sys.stderr)
        small_first, small_scrape = time_metrics(small_url, rounds)
        first, scrape = time_metrics(big_url, rounds)
        print(f"/api/metrics: {scrape:.1f} ms per scrape over {metric_rows} rows and {big} companies "
              f"(first scrape of a process {first:.1f} ms); {small_scrape:.1f} ms at 10 companies", file=sys.stderr)
        result(f"fleet_page_{big}_companies_ms", large["default"], small["default"], 1.5)
        result(f"fleet_page_problems_{big}_companies_ms", large["problems"], small["problems"], 1.5)
        result(f"fleet_page_last_page_{big}_companies_ms", large["last_page"], small["last_page"], 1.5)
        result(f"fleet_page_{big}_companies_abs_ms", large["default"], 200, 1.0)
        result(f"fleet_page_recount_{big}_companies_abs_ms", max(large_fresh.values()), 200, 1.0)
        result(f"metrics_scrape_{metric_rows}_rows_ms", scrape, small_scrape, 3)
    finally:
        drop_small()
        drop_big()
    return 0


if __name__ == "__main__":
    sys.exit(main())

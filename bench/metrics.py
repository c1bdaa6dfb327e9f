"""The metrics page's queries over 1,000,000 integration_metrics rows on PostgreSQL.

Rows: 500 companies × 2 providers over the last 30 days, mostly action "sync", ~8 % failures with
four error codes. Each query the page runs for its default view (last 14 days, every company, every
provider, action sync) and for the widest view (all 30 days) is timed `rounds` times; the figure is
the median; also a single company over 30 days and the last two days by hour (both read raw rows,
exact). Goal: every query's median at most 300 ms (RESULT lines: each query's slowest view, floor =
the 300 ms goal, so ratio <= 1 passes). A bare `SELECT count(*)` over the same filter is printed for
orientation: the scan any answer needs.

Runs on PostgreSQL (INTEGHUB_BENCH_POSTGRES_URL, default the local test server, a fresh database
per run, dropped afterwards).

    python bench/metrics.py [--quick]      # --quick: 100,000 rows
"""
from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta

from _common import median, result, scratch_database
from sqlalchemy import func, select, text

GOAL_MS = 300.0


def populate(hub, rows: int, companies: int = 500, days: int = 30) -> None:
    """Generated inside PostgreSQL (generate_series): a million rows in seconds, no Python loop."""
    with hub.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO companies (id, name, slug, timezone, created_at) "
            "SELECT gen_random_uuid(), 'Praxis ' || lpad(g::text, 4, '0'), 'praxis-' || g, 'Europe/Berlin', now() "
            "FROM generate_series(1, :n) g"), {"n": companies})
        conn.execute(text("""
            WITH c AS (SELECT id, (row_number() OVER (ORDER BY slug)) - 1 AS n FROM companies)
            INSERT INTO integration_metrics
                (company_id, provider, action, success, duration_ms, records_synced, error_code, created_at)
            SELECT c.id,
                   CASE WHEN g % 2 = 0 THEN 'calcom' ELSE 'retell' END,
                   CASE WHEN g % 25 = 0 THEN 'validate' WHEN g % 25 = 1 THEN 'webhook' ELSE 'sync' END,
                   g % 13 <> 0,
                   50 + (abs(hashtext(g::text)) % 4000),
                   CASE WHEN g % 13 <> 0 THEN abs(hashtext('r' || g)) % 400 ELSE 0 END,
                   CASE WHEN g % 13 = 0 THEN (ARRAY['timeout','rate_limited','provider_error','invalid_credentials'])[1 + (g / 13) % 4] END,
                   (now() AT TIME ZONE 'utc') - (g::double precision / :rows * :days) * interval '1 day'
            FROM generate_series(0, :rows - 1) g JOIN c ON c.n = abs(hashtext('c' || g)) % :companies
        """), {"rows": rows, "days": days, "companies": companies})
    with hub.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE integration_metrics"))
        conn.execute(text("ANALYZE companies"))


def timed(fn, rounds: int) -> float:
    fn()  # warm: plan cache, buffers
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    rounds = args.rounds or (5 if args.quick else 9)

    url, drop = scratch_database("metrics")
    os.environ["INTEGHUB_DATABASE_URL"] = url
    from _common import temp_hub

    from integhub.models import IntegrationMetric, utcnow
    from integhub.services import metrics_queries as mq

    hub = temp_hub(url)
    try:
        started = time.perf_counter()
        populate(hub, rows)
        print(f"{rows:,} metric rows generated in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        mq.refresh_rollup(hub)
        print(f"roll-up (hourly, daily) of everything older than 15 minutes built in {time.perf_counter() - started:.1f} s "
              "(once; afterwards each 5-minute slot, by the first query after it closed)", flush=True)
        now = utcnow()
        with hub.session() as s:
            one_company = s.scalar(select(IntegrationMetric.company_id).limit(1))
        views = {
            "default (14 days)": mq.MetricsFilter(start=now - timedelta(days=14), end=now + timedelta(seconds=1)),
            "widest (31 days)": mq.MetricsFilter(start=now - timedelta(days=31), end=now + timedelta(seconds=1)),
            "one company, 31 days": mq.MetricsFilter(start=now - timedelta(days=31), end=now + timedelta(seconds=1),
                                                     company_ids=[one_company]),
            "2 days by hour": mq.MetricsFilter(start=now - timedelta(days=2), end=now + timedelta(seconds=1),
                                               bucket="hour"),
        }
        medians: dict[str, dict[str, float]] = {}
        for view, flt in views.items():
            def count(flt=flt) -> int:
                with hub.session() as s:
                    return s.scalar(select(func.count()).select_from(IntegrationMetric).where(*flt.conditions()))

            queries = {
                "totals": lambda flt=flt: mq.totals(hub, flt),
                "time_series": lambda flt=flt: mq.time_series(hub, flt),
                "error_breakdown": lambda flt=flt: mq.error_breakdown(hub, flt),
                "per_company": lambda flt=flt: mq.per_company(hub, flt),
                "filter_options": lambda: mq.filter_options(hub, None),
            }
            print(f"view {view}: {count():,} matching rows; bare count(*) {timed(count, rounds):.1f} ms", flush=True)
            medians[view] = {name: timed(fn, rounds) for name, fn in queries.items()}
            for name, ms in medians[view].items():
                print(f"  {name:16s} median {ms:7.1f} ms", flush=True)
            print(f"  {'whole page':16s}        {sum(medians[view].values()):7.1f} ms", flush=True)
        # One line per query: its slowest view, against the 300 ms goal.
        for name in medians["default (14 days)"]:
            worst = max(view[name] for view in medians.values())
            result(f"metrics_{name}_{rows}_rows_ms", worst, GOAL_MS, 1.0)
    finally:
        hub.engine.dispose()
        drop()


if __name__ == "__main__":
    main()

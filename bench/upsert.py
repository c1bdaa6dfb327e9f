"""The sync's upsert path against a plain bulk insert of the same rows, on PostgreSQL.

100,000 Retell calls (the simulator's deterministic call objects, normalised exactly as a sync does,
with their JSON) are written three ways, each into the same table, median of `rounds`:
  plain   INSERT of all rows into the empty table (SQLAlchemy executemany, the fastest plain path)
  insert  integhub.sync.upsert.upsert_rows into the empty table (ON CONFLICT … DO UPDATE … WHERE)
  update  upsert_rows again over the stored rows: every row conflicts and is rewritten (a re-sync)
Goal: upsert / plain at most 2 (RESULT lines for both the insert and the update case).

PostgreSQL from INTEGHUB_BENCH_POSTGRES_URL (default the local test server), a fresh database per
run, dropped afterwards.

    python bench/upsert.py [--quick]        # --quick: 20,000 rows
"""
from __future__ import annotations

import argparse
import time

from _common import median, result, scratch_database
from sqlalchemy import insert, text



def call_rows(company_id, n: int) -> list[dict]:
    from integhub.models import utcnow
    from integhub.simulator.data import Account
    from integhub.sync.normalize import call_from_api

    account = Account("key_bench_upsert", {"calls": n, "agents": 4, "phone_numbers": 3})
    stamp = utcnow()
    return [{**call_from_api(account.call_json(i)), "company_id": company_id, "synced_at": stamp, "deleted_at": None}
            for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows instead of 100,000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = 20_000 if args.quick else 100_000

    url, drop = scratch_database("upsert")
    from _common import temp_hub

    from integhub.models import RetellCall
    from integhub.services.companies import create_company
    from integhub.sync.upsert import upsert_rows

    hub = temp_hub(url)
    try:
        company = create_company(hub, "Bench Upsert", actor="bench")
        started = time.perf_counter()
        rows = call_rows(company.id, n)
        print(f"{n:,} call rows built in {time.perf_counter() - started:.1f} s "
              f"(~{sum(len(str(r['data'])) for r in rows[:1000]) // 1000} bytes of JSON each)", flush=True)
        table = RetellCall.__table__
        key = ("company_id", "call_id")

        def truncate() -> None:
            with hub.engine.begin() as conn:
                conn.execute(text("TRUNCATE retell_calls"))
            with hub.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM retell_calls"))

        def plain() -> None:
            with hub.engine.begin() as conn:
                conn.execute(insert(table), rows)

        def upsert() -> None:
            with hub.session() as s:
                written = upsert_rows(s, RetellCall, rows, key_cols=key,
                                      only_if=lambda stored, new: stored.c.stage <= new.stage)
            assert written.rows == n

        timings: dict[str, list[float]] = {"plain": [], "insert": [], "update": []}
        for _ in range(args.rounds):
            for name, fn in (("plain", plain), ("insert", upsert), ("update", upsert)):
                if name != "update":
                    truncate()
                started = time.perf_counter()
                fn()
                timings[name].append(time.perf_counter() - started)
        med = {name: median(values) for name, values in timings.items()}
        for name, seconds in med.items():
            print(f"  {name:7s} median {seconds:6.2f} s  ({n / seconds:,.0f} rows/s)", flush=True)
        result(f"upsert_insert_{n}_rows_s", med["insert"], med["plain"], 2)
        result(f"upsert_update_{n}_rows_s", med["update"], med["plain"], 2)
    finally:
        hub.engine.dispose()
        drop()


if __name__ == "__main__":
    main()

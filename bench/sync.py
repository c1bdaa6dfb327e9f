"""Sync throughput: 20,000 Cal.com bookings and 20,000 Retell calls served by the simulator at 20 ms
per page (every request answers no sooner than 20 ms).

The simulator runs as its own process (`python -m integhub simulator`), so its work does not share
this process's interpreter lock. Figures:
  floor        requests made × 20 ms: the time of the requests alone, one after another
  bare fetch   the same clients reading the same listings and throwing them away (no database),
               after one untimed warm-up read (the simulator caches the pages it has built)
  sync         integhub's run_sync for Cal.com, then Retell (first run: everything is new)
  resync       a second run over the stored rows (incremental for Retell calls)
  parallel     both providers' syncs at once, as a worker with concurrency ≥ 2 runs them
RESULT lines: records/s of the sequential sync; sync / floor (goal ≤ 1.5, the issue's figure);
sync / bare fetch (what the engine adds on top of reading the listings).

Database: PostgreSQL from INTEGHUB_BENCH_POSTGRES_URL (default the local test server; a fresh
database per run), or SQLite with --sqlite.

    python bench/sync.py [--quick] [--sqlite]      # --quick: 4,000 bookings and 4,000 calls
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from _common import machine_speed, result, scratch_database

ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 20
CAL_KEY = "cal_live_" + "5b" * 16
RETELL_KEY = "key_bench_sync_0001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Simulator:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "integhub", "simulator", "--port", str(self.port)],
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.get("/_sim/health")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("simulator did not start") from None
                time.sleep(0.1)

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)

    def post(self, path: str, body: dict):
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def request_count(self) -> int:
        return self.get("/_sim/requests?since=1000000000")["count"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def bare_fetch(provider: str, key: str) -> int:
    """Read the listings a sync reads, with the same clients and options, and keep nothing."""
    from datetime import timedelta

    from integhub.models import utcnow
    from integhub.providers import get_provider
    from integhub.sync.options import SyncOptions

    options = SyncOptions.from_env()
    client = get_provider(provider).client(key, timeout=options.request_timeout, retry=options.retry)
    seen = 0
    try:
        if provider == "calcom":
            me = client.me()
            seen += len(client.event_types(me["username"]))
            seen += sum(1 for _ in client.iter_bookings(after_start=utcnow() - timedelta(days=90),
                                                        page_size=options.bookings_page_size))
        else:
            seen += len(client.agents()) + len(client.phone_numbers())
            start_ms = int((time.time() - 90 * 86400) * 1000)
            seen += sum(1 for _ in client.iter_calls(start_after_ms=start_ms, page_size=options.calls_page_size))
    finally:
        client.close()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4,000 bookings and 4,000 calls")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    n = 4_000 if args.quick else 20_000

    sim = Simulator()
    os.environ["INTEGHUB_CALCOM_BASE_URL"] = os.environ["INTEGHUB_RETELL_BASE_URL"] = sim.url
    url, drop = scratch_database("sync", postgres=not args.sqlite)
    from _common import temp_hub

    from integhub.services.companies import create_company
    from integhub.services.configs import save_config
    from integhub.services.sync import run_sync

    hub = temp_hub(url)
    try:
        sim.post("/_sim/accounts", {"api_key": CAL_KEY, "counts": {"bookings": n}})
        sim.post("/_sim/accounts", {"api_key": RETELL_KEY, "counts": {"calls": n}})
        companies = []
        for label in ("sequential", "parallel"):
            company = create_company(hub, f"Bench {label}", actor="bench")
            for provider, key in (("calcom", CAL_KEY), ("retell", RETELL_KEY)):
                assert save_config(hub, company.id, provider, api_key=key, trigger_sync=False).ok
            companies.append(company.id)
        sim.post("/_sim/faults", {"kind": "latency", "latency_ms": LATENCY_MS})
        print(f"{hub.dialect}; simulator at {sim.url} with {LATENCY_MS} ms per request; {machine_speed()}", flush=True)

        for provider, key in (("calcom", CAL_KEY), ("retell", RETELL_KEY)):
            bare_fetch(provider, key)  # warm-up: the simulator builds and caches the accounts' pages
        before = sim.request_count()
        started = time.perf_counter()
        fetched = {p: bare_fetch(p, k) for p, k in (("calcom", CAL_KEY), ("retell", RETELL_KEY))}
        bare = time.perf_counter() - started
        bare_requests = sim.request_count() - before
        print(f"bare fetch: {sum(fetched.values()):,} objects, {bare_requests} requests in {bare:.2f} s", flush=True)

        before = sim.request_count()
        times, records = {}, 0
        for provider in ("calcom", "retell"):
            started = time.perf_counter()
            outcome = run_sync(hub, companies[0], provider, actor="bench", trigger="cli")
            times[provider] = time.perf_counter() - started
            assert outcome.success, outcome.error
            records += outcome.records_synced
            print(f"sync {provider}: {outcome.counts} in {times[provider]:.2f} s", flush=True)
        sync_requests = sim.request_count() - before
        sync_s = sum(times.values())
        floor = sync_requests * LATENCY_MS / 1000
        print(f"sync total: {records:,} records, {sync_requests} requests, {sync_s:.2f} s "
              f"({records / sync_s:,.0f} records/s); floor {floor:.2f} s", flush=True)

        started = time.perf_counter()
        for provider in ("calcom", "retell"):
            assert run_sync(hub, companies[0], provider, actor="bench").success
        print(f"resync (stored rows, incremental calls): {time.perf_counter() - started:.2f} s", flush=True)

        before = sim.request_count()
        outcomes = {}
        started = time.perf_counter()
        threads = [threading.Thread(target=lambda p=p: outcomes.__setitem__(p, run_sync(hub, companies[1], p)))
                   for p in ("calcom", "retell")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        parallel_s = time.perf_counter() - started
        assert all(o.success for o in outcomes.values())
        print(f"parallel (both providers at once): {parallel_s:.2f} s for {sim.request_count() - before} requests",
              flush=True)

        print(f"after the runs, {machine_speed()}", flush=True)
        print("modes: *_vs_floor_s = sequential (Cal.com, then Retell); *_parallel_vs_floor_s = both providers' "
              "syncs at once, as the worker runs them (each (company, provider) pair holds its own lease)", flush=True)
        result(f"sync_{2 * n}_records_per_s", records / sync_s, records / floor, 1 / 1.5, higher_is_better=True)
        result(f"sync_{2 * n}_records_vs_floor_s", sync_s, floor, 1.5)
        result(f"sync_{2 * n}_records_vs_bare_fetch_s", sync_s, bare, 1.5)
        result(f"sync_{2 * n}_records_parallel_vs_floor_s", parallel_s, floor, 1.5)
    finally:
        hub.engine.dispose()
        drop()
        sim.stop()


if __name__ == "__main__":
    main()

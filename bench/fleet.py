"""A fleet of due syncs shared by several worker processes through PostgreSQL.

1,000 companies × 2 providers (Cal.com and Retell), all due; 4 `python -m integhub worker --once`
processes with `--concurrency C` each; every provider request answers after 50 ms (simulator
latency). The simulator runs as separate processes (one per two workers): a real provider is not
one Python thread.

Figures:
  span    first sync start to last sync end (sync_runs), i.e. the fleet's work without process start
  wall    from starting the workers until the last one exited
  ideal   total requests × 50 ms ÷ total concurrency (4 × C): the latency bound if every thread were
          always busy with a request
Goal: span / ideal at most 1.3, and every due pair synced exactly once (one sync_runs row and one
`sync` metric per pair, all successful, worker outputs adding up).

On a small machine keep the fleet below saturation: the default C = 2 (8 syncs in flight) leaves
CPU for the simulator and PostgreSQL; with more, the ratio measures the CPU, not the coordination.

    python bench/fleet.py [--quick] [--concurrency C]      # --quick: 100 companies
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from _common import machine_speed, result, scratch_database
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 50
WORKERS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_simulator() -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "integhub", "simulator", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/_sim/health", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("simulator did not start") from None
            time.sleep(0.1)
    request = urllib.request.Request(url + "/_sim/faults", method="POST", headers={"content-type": "application/json"},
                                     data=json.dumps({"kind": "latency", "latency_ms": LATENCY_MS}).encode())
    urllib.request.urlopen(request, timeout=5).read()
    return proc, url


def request_count(url: str) -> int:
    with urllib.request.urlopen(url + "/_sim/requests?since=1000000000", timeout=10) as response:
        return json.load(response)["count"]


def populate(hub, companies: int) -> set[tuple[uuid.UUID, str]]:
    """Companies with both providers configured as the save flow stores them (encrypted keys,
    auto-sync every 15 minutes, never synced): all due."""
    from integhub.crypto import context_for
    from integhub.models import Company, IntegrationConfig, utcnow

    now = utcnow()
    company_rows, config_rows, pairs = [], [], set()
    for i in range(companies):
        cid = uuid.uuid4()
        company_rows.append({"id": cid, "name": f"Praxis {i:04d}", "slug": f"praxis-{i:04d}", "timezone": "Europe/Berlin",
                             "created_at": now})
        for provider, key in (("calcom", f"cal_live_{i:032x}"), ("retell", f"key_fleet_{i:08d}")):
            config_rows.append({
                "id": uuid.uuid4(), "company_id": cid, "provider": provider,
                "api_key": hub.keyring.encrypt(key, context_for(cid, provider, "api_key")), "webhook_secret": None,
                "settings": {"auto_sync_enabled": True, "sync_interval": 15}, "is_active": True,
                "last_sync_at": None, "last_error": None, "created_at": now, "updated_at": now, "version": 1})
            pairs.add((cid, provider))
    with hub.engine.begin() as conn:
        conn.execute(insert(Company), company_rows)
        conn.execute(insert(IntegrationConfig), config_rows)
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 companies instead of 1,000")
    parser.add_argument("--companies", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=2, help="threads per worker process (default 2)")
    args = parser.parse_args()
    companies = args.companies or (100 if args.quick else 1000)

    url, drop = scratch_database("fleet")
    from _common import temp_hub

    from integhub.models import IntegrationMetric
    from integhub.models_sync import SyncRun

    hub = temp_hub(url)
    sims = [start_simulator() for _ in range((WORKERS + 1) // 2)]
    try:
        pairs = populate(hub, companies)
        print(machine_speed(), flush=True)
        print(f"{len(pairs):,} due pairs; {WORKERS} workers × concurrency {args.concurrency}; "
              f"{len(sims)} simulator processes at {LATENCY_MS} ms", flush=True)
        before = sum(request_count(u) for _p, u in sims)
        env_base = {**os.environ, "INTEGHUB_DATABASE_URL": url, "INTEGHUB_WORKER_JITTER_SECONDS": "0"}
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        workers = []
        for i in range(WORKERS):
            sim_url = sims[i % len(sims)][1]
            env = {**env_base, "INTEGHUB_CALCOM_BASE_URL": sim_url, "INTEGHUB_RETELL_BASE_URL": sim_url}
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "integhub", "worker", "--once", "--concurrency", str(args.concurrency)],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outputs = [w.communicate(timeout=3600) for w in workers]
        wall = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        requests = sum(request_count(u) for _p, u in sims) - before
        failed_workers = [o[1].strip()[-300:] for w, o in zip(workers, outputs) if w.returncode != 0]

        with hub.session() as s:
            runs = s.execute(select(SyncRun.company_id, SyncRun.provider, SyncRun.success)).all()
            first, last = s.execute(select(func.min(SyncRun.started_at), func.max(SyncRun.finished_at))).one()
            metrics = s.scalar(select(func.count()).select_from(IntegrationMetric)
                               .where(IntegrationMetric.action == "sync"))
        per_pair: dict[tuple, int] = {}
        for cid, provider, _ok in runs:
            per_pair[(cid, provider)] = per_pair.get((cid, provider), 0) + 1
        ran = sum(int(line.split("ran=")[1].split()[0]) for out, _err in outputs for line in out.splitlines()
                  if line.startswith("worker: "))
        exactly_once = (set(per_pair) == pairs and all(n == 1 for n in per_pair.values())
                        and all(ok for _c, _p, ok in runs) and metrics == len(pairs) and ran == len(pairs))
        span = (last - first).total_seconds()
        ideal = requests * LATENCY_MS / 1000 / (WORKERS * args.concurrency)
        print(f"requests {requests:,}; span {span:.1f} s; wall {wall:.1f} s (with process start); ideal {ideal:.1f} s",
              flush=True)
        print(f"worker processes used {worker_cpu:.1f} CPU-s ({worker_cpu / len(pairs) * 1000:.0f} ms per sync, "
              f"process start included) on {os.cpu_count()} cores", flush=True)
        print(f"exactly once: {exactly_once} ({len(runs)} runs for {len(pairs)} pairs, {metrics} metrics, "
              f"worker outputs ran={ran}){'; worker errors: ' + repr(failed_workers) if failed_workers else ''}",
              flush=True)
        with hub.session() as s:
            durs = sorted(s.scalars(select(SyncRun.duration_ms)))
        print(f"one sync run (duration_ms): mean {sum(durs) / len(durs):.0f} ms, p50 {durs[len(durs) // 2]} ms, "
              f"p90 {durs[int(len(durs) * 0.9)]} ms, for {3 * LATENCY_MS} ms of requests", flush=True)
        print(f"after the run, {machine_speed()}", flush=True)
        result(f"fleet_{companies}x2_span_s", span, ideal, 1.3)
        result(f"fleet_{companies}x2_wall_s", wall, ideal, 1.3)
        result(f"fleet_{companies}x2_exactly_once", 1.0 if exactly_once else 0.0, 1.0, 1.0, higher_is_better=True)
    finally:
        for proc, _url in sims:
            proc.terminate()
            proc.wait(timeout=10)
        hub.engine.dispose()
        drop()


if __name__ == "__main__":
    main()

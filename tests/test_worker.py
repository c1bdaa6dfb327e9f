"""The worker: due pairs, bounded concurrency, jitter, backoff, `worker --once`, exactly-once across
processes, takeover after `kill -9`, graceful SIGTERM. Worker processes are real subprocesses."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from integhub.models import IntegrationConfig, IntegrationMetric, RetellCall, utcnow
from integhub.models_sync import SyncRun, SyncState
from integhub.providers.http import RetryPolicy
from integhub.services.companies import create_company
from integhub.services.sync import run_sync, running_sync
from integhub.sync import lease as leases
from integhub.sync.options import SyncOptions
from integhub.sync.schedule import due_pairs
from integhub.worker import Worker
from tests.conftest import ROOT, postgres_only
from tests.sync.conftest import configure

FAST = SyncOptions(request_timeout=2.0, retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05,
                                                          max_total=5.0), lease_seconds=30.0)
FAST_ENV = {"INTEGHUB_WORKER_JITTER_SECONDS": "0", "INTEGHUB_SYNC_RETRY_BASE_SECONDS": "0.01",
            "INTEGHUB_SYNC_RETRY_MAX_DELAY_SECONDS": "0.05", "INTEGHUB_SYNC_TIMEOUT_SECONDS": "5"}


def cal_key(i: int) -> str:
    return f"cal_live_{i:032x}"


def retell_key(i: int) -> str:
    return f"key_worker_{i:08d}"


def due_companies(hub, n: int, *, providers=("calcom", "retell"), interval: int = 15, prefix: str = "Praxis") -> list:
    """`n` companies with auto-sync on for `providers`, never synced: all due now."""
    ids = []
    for i in range(n):
        company = create_company(hub, f"{prefix} {i}", actor="test")
        if "calcom" in providers:
            configure(hub, company.id, "calcom", cal_key(i), auto_sync_enabled=True, sync_interval=interval)
        if "retell" in providers:
            configure(hub, company.id, "retell", retell_key(i), auto_sync_enabled=True, sync_interval=interval)
        ids.append(company.id)
    return ids


def set_last_sync(hub, company_id, provider, minutes_ago: float) -> None:
    with hub.session() as s:
        s.execute(update(IntegrationConfig).where(IntegrationConfig.company_id == company_id,
                                                  IntegrationConfig.provider == provider)
                  .values(last_sync_at=utcnow() - timedelta(minutes=minutes_ago)))


def runs_per_pair(hub) -> dict[tuple, list]:
    with hub.session() as s:
        rows = s.execute(select(SyncRun.company_id, SyncRun.provider, SyncRun.success, SyncRun.error_code)
                         .order_by(SyncRun.id)).all()
    out: dict[tuple, list] = {}
    for cid, provider, success, code in rows:
        out.setdefault((cid, provider), []).append((success, code))
    return out


def worker_env(hub_env, simulator, **extra) -> dict[str, str]:
    return {**os.environ, **hub_env, **FAST_ENV, "INTEGHUB_CALCOM_BASE_URL": simulator.url,
            "INTEGHUB_RETELL_BASE_URL": simulator.url, **extra}


def start_worker(env, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "integhub", "worker", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


# --- which pairs are due -------------------------------------------------------------------------
def test_due_means_active_auto_sync_interval_passed_not_leased_not_backing_off(hub, simulator):
    a, b, c, d, e = due_companies(hub, 5, providers=("calcom",))
    set_last_sync(hub, a, "calcom", 20)  # 15-minute interval passed: due
    set_last_sync(hub, b, "calcom", 5)  # not yet
    configure(hub, c, "calcom", cal_key(2), sync_interval=1440)
    set_last_sync(hub, c, "calcom", 60 * 23)  # daily: not yet
    leases.claim(hub, d, "calcom", trigger="manual", actor="x", lease_seconds=60)  # running
    with hub.session() as s:  # backing off
        s.merge(SyncState(company_id=e, provider="calcom", consecutive_failures=2,
                          next_attempt_at=utcnow() + timedelta(minutes=2), last_counts={}, cursors={}))
    off = create_company(hub, "Ohne Auto-Sync", actor="test")
    configure(hub, off.id, "calcom", cal_key(9), auto_sync_enabled=False)

    _now, pairs = due_pairs(hub)
    assert [(p.company_id, p.provider) for p in pairs] == [(a, "calcom")]


# --- in-process worker ---------------------------------------------------------------------------
def test_the_worker_runs_every_due_pair_once_with_bounded_concurrency(hub, simulator):
    due_companies(hub, 4)
    simulator.fault(kind="latency", latency_ms=60)
    seen: list[int] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            with hub.session() as s:
                seen.append(s.scalar(select(func.count()).select_from(SyncState)
                                     .where(SyncState.lease_token.is_not(None))))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    lines: list[str] = []
    report = Worker(hub, concurrency=3, options=FAST, jitter_seconds=0, out=lines.append).run_once()
    stop.set()
    sampler.join()

    assert len(report.ran) == 8 and not report.failed
    assert max(seen) == 3  # never more than the concurrency, and it was used
    assert all(runs == [(True, None)] for runs in runs_per_pair(hub).values())
    assert len(lines) == 8 and all("success=true" in line for line in lines)
    assert Worker(hub, concurrency=3, options=FAST, jitter_seconds=0).run_once().ran == []  # nothing due now


def test_a_worker_process_starts_without_loading_the_retell_sdk():
    # ~1 s of CPU per process: loaded on a thread of its own once the worker runs (ClientLoader)
    code = ("import sys, integhub.cli, integhub.worker, integhub.sync.engine\n"
            "from integhub.providers import all_providers\n"
            "names = [p.name for p in all_providers()]\n"
            "print(names, 'retell' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['calcom', 'retell'] False"


class SlowClientLoader:
    """A ClientLoader whose Retell client is still loading until `loaded` is set."""

    def __init__(self):
        self.loaded = threading.Event()

    def ready(self, provider: str) -> bool:
        return provider != "retell" or self.loaded.is_set()


class RetellFirst(random.Random):
    """Puts the Retell pairs at the head of the worker's (otherwise shuffled) schedule."""

    def shuffle(self, x):
        x.sort(key=lambda item: item[2].provider != "retell")


def test_pairs_whose_client_is_still_loading_run_after_the_others(hub, simulator):
    due_companies(hub, 3)
    worker = Worker(hub, concurrency=1, options=FAST, jitter_seconds=0, rng=RetellFirst())
    worker.clients = SlowClientLoader()  # never loads: once nothing else is left they go anyway
    report = worker.run_once()
    assert [r.provider for r in report.ran] == ["calcom"] * 3 + ["retell"] * 3
    assert not report.failed


def test_pairs_held_back_for_a_loading_client_go_first_once_it_is_loaded(hub, simulator):
    due_companies(hub, 3)
    worker = Worker(hub, concurrency=1, options=FAST, jitter_seconds=0, rng=RetellFirst())
    loader = worker.clients = SlowClientLoader()
    real_run = worker._run_pair

    def run_pair(pair, listed_at):
        loader.loaded.set()  # the client has loaded while the first sync runs
        real_run(pair, listed_at)

    worker._run_pair = run_pair
    report = worker.run_once()
    assert [r.provider for r in report.ran] == ["calcom", "retell", "retell", "retell", "calcom", "calcom"]
    assert not report.failed


def test_start_times_are_spread_by_the_jitter(hub, simulator):
    due_companies(hub, 3)
    report = Worker(hub, concurrency=6, options=FAST, jitter_seconds=1.5).run_once()
    assert len(report.ran) == 6
    with hub.session() as s:
        starts = sorted(s.scalars(select(SyncRun.started_at)))
    assert (starts[-1] - starts[0]).total_seconds() > 0.3


def test_a_failing_pair_backs_off_and_the_others_still_run(hub, simulator):
    good, bad = due_companies(hub, 2, providers=("retell",))
    simulator.revoke(retell_key(1))
    first = Worker(hub, concurrency=2, options=FAST, jitter_seconds=0).run_once()
    assert sorted(r.success for r in first.ran) == [False, True]
    set_last_sync(hub, good, "retell", 20)  # due again by its interval
    second = Worker(hub, concurrency=2, options=FAST, jitter_seconds=0).run_once()
    assert [(r.company_id, r.success) for r in second.ran] == [(str(good), True)]  # `bad` is backing off
    with hub.session() as s:
        state = s.get(SyncState, (bad, "retell"))
    assert state.consecutive_failures == 1 and state.next_attempt_at > utcnow()


# --- the CLI, as cron runs it ---------------------------------------------------------------------
def test_worker_once_runs_what_is_due_and_exits(hub, hub_env, simulator):
    due_companies(hub, 2)
    env = worker_env(hub_env, simulator)
    proc = subprocess.run([sys.executable, "-m", "integhub", "worker", "--once", "--concurrency", "2"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    sync_lines = [line for line in proc.stdout.splitlines() if line.startswith("sync ")]
    assert len(sync_lines) == 4 and all("success=true" in line for line in sync_lines)
    assert proc.stdout.strip().splitlines()[-1] == "worker: ran=4 failed=0 skipped=0"

    again = subprocess.run([sys.executable, "-m", "integhub", "worker", "--once"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "worker: ran=0 failed=0" in again.stdout


def test_worker_once_exits_1_when_a_sync_failed(hub, hub_env, simulator):
    due_companies(hub, 1, providers=("calcom",))
    simulator.revoke(cal_key(0))
    proc = subprocess.run([sys.executable, "-m", "integhub", "worker", "--once"], env=worker_env(hub_env, simulator),
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "error_code=invalid_credentials" in proc.stdout
    assert proc.stderr.strip().startswith("error:") and "Traceback" not in proc.stderr
    assert cal_key(0) not in proc.stdout + proc.stderr


# --- many processes -------------------------------------------------------------------------------
@postgres_only  # many workers on many machines share the work through PostgreSQL
def test_eight_worker_processes_run_every_due_sync_exactly_once(hub, hub_env, simulator):
    pairs = {(cid, p) for cid in due_companies(hub, 12) for p in ("calcom", "retell")}
    simulator.fault(kind="latency", latency_ms=30)  # runs overlap in time
    env = worker_env(hub_env, simulator)
    procs = [start_worker(env, "--once", "--concurrency", "2") for _ in range(8)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]

    runs = runs_per_pair(hub)
    assert set(runs) == pairs
    assert all(r == [(True, None)] for r in runs.values()), runs
    with hub.session() as s:
        assert s.scalar(select(func.count()).select_from(IntegrationMetric)
                        .where(IntegrationMetric.action == "sync")) == len(pairs)
    ran = sum(int(line.split("ran=")[1].split()[0]) for out, _ in outputs for line in out.splitlines()
              if line.startswith("worker: "))
    assert ran == len(pairs)


def test_after_kill_9_another_worker_completes_the_sync_once_the_lease_expires(hub, hub_env, simulator):
    (company,) = due_companies(hub, 1, providers=("retell",))
    simulator.configure(retell_key(0), calls=60)
    simulator.fault(provider="retell", path_prefix="/v3/list-calls", kind="latency", latency_ms=400)
    env = worker_env(hub_env, simulator, INTEGHUB_SYNC_LEASE_SECONDS="3", INTEGHUB_SYNC_CALLS_PAGE_SIZE="10")
    victim = start_worker(env, "--once")
    wait_for(lambda: any(r["path"] == "/v3/list-calls" for r in simulator.requests("retell")), timeout=60)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)

    assert running_sync(hub, company, "retell") is not None  # the dead worker's lease is still live
    early = Worker(hub, concurrency=1, options=FAST, jitter_seconds=0).run_once()
    assert early.ran == [] and leases.claim(hub, company, "retell", trigger="worker", actor="x",
                                            lease_seconds=3) is None  # not taken over before it expires

    wait_for(lambda: running_sync(hub, company, "retell") is None, timeout=10)
    simulator.clear_faults()
    later = subprocess.run([sys.executable, "-m", "integhub", "worker", "--once"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert later.returncode == 0, later.stderr
    assert "worker: ran=1 failed=0" in later.stdout
    assert runs_per_pair(hub)[(company, "retell")] == [(False, "abandoned"), (True, None)]
    with hub.session() as s:
        calls = s.scalars(select(RetellCall.call_id).where(RetellCall.company_id == company)).all()
    assert len(calls) == len(set(calls)) == 60


def test_sigterm_lets_the_running_sync_finish_and_exits_cleanly(hub, hub_env, simulator):
    (company,) = due_companies(hub, 1, providers=("calcom",))
    simulator.fault(provider="calcom", kind="latency", latency_ms=300)
    worker = start_worker(worker_env(hub_env, simulator, INTEGHUB_WORKER_POLL_SECONDS="0.2"))
    wait_for(lambda: running_sync(hub, company, "calcom"), timeout=60)
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert runs_per_pair(hub)[(company, "calcom")] == [(True, None)]
    assert running_sync(hub, company, "calcom") is None


def test_sigterm_after_the_grace_period_cancels_and_releases_the_lease(hub, hub_env, simulator):
    (company,) = due_companies(hub, 1, providers=("calcom",))
    simulator.configure(cal_key(0), bookings=400)
    simulator.fault(provider="calcom", path_prefix="/v2/bookings", kind="latency", latency_ms=500)
    worker = start_worker(worker_env(hub_env, simulator, INTEGHUB_WORKER_STOP_GRACE_SECONDS="0",
                                     INTEGHUB_WORKER_POLL_SECONDS="0.2"))
    wait_for(lambda: any(r["path"] == "/v2/bookings" for r in simulator.requests("calcom")), timeout=60)
    worker.send_signal(signal.SIGTERM)
    _out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert runs_per_pair(hub)[(company, "calcom")] == [(False, "cancelled")]
    assert running_sync(hub, company, "calcom") is None
    assert run_sync(hub, company, "calcom", options=FAST).success  # free for the next run at once

"""`python -m integhub worker [--once] [--concurrency N]`: runs due syncs.

- Bounded concurrency: N threads, each running one sync at a time. A pair's lease is only claimed
  when a thread is free to run it, so a busy worker never sits on work another one could do.
- Any number of workers on any number of machines share the work through the database: a claim is
  atomic and re-checks that no run finished since the pair was listed as due, so every due sync
  runs exactly once (integhub.sync.lease).
- Jitter: each listed pair gets a random start offset within INTEGHUB_WORKER_JITTER_SECONDS (default
  10), so companies that became due together do not hit a provider in the same second; the offsets
  persist through last_sync_at into later rounds.
- Backoff: a failing pair is held back exponentially (capped) by the engine's sync_state; see
  `integhub.services.sync.sync_status`.
- SIGTERM/SIGINT: stop claiming, let running syncs finish; after INTEGHUB_WORKER_STOP_GRACE_SECONDS
  (default 30) or a second signal they are cancelled at the next page and release their leases.
- `--once`: one round over what is due now, then exit (for cron). Exit 1 when a sync failed.
- Without `--once` each pass also prunes the webhook inbox, at most hourly (integhub.services.webhooks).
- Start-up: the providers' client libraries load on a thread of their own (the Retell SDK is ~1 s of
  CPU); pairs whose client is still loading wait behind the others instead of holding a thread.
"""
from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from .db import Hub
from .errors import HubError
from .providers import ClientLoader, all_providers
from .services.webhooks import prune_inbox_if_due
from .sync import engine
from .sync.gc_tuning import freeze_startup_objects
from .sync.options import SyncOptions, _env_float
from .sync.result import SyncResult
from .sync.schedule import DuePair, TakenPairs, due_pairs

log = logging.getLogger(__name__)

DEFAULT_JITTER_SECONDS = 10.0
DEFAULT_POLL_SECONDS = 15.0
DEFAULT_STOP_GRACE_SECONDS = 30.0
TAKEN_REFRESH_SECONDS = 0.5


@dataclass
class WorkerReport:
    ran: list[SyncResult] = field(default_factory=list)
    skipped: int = 0  # listed as due, but another worker (or a manual run) got there first

    @property
    def failed(self) -> list[SyncResult]:
        return [r for r in self.ran if not r.success]


class Worker:
    def __init__(self, hub: Hub, *, concurrency: int = 4, options: SyncOptions | None = None,
                 jitter_seconds: float | None = None, poll_seconds: float | None = None,
                 stop_grace_seconds: float | None = None, out=None, rng: random.Random | None = None,
                 clients: ClientLoader | None = None) -> None:
        self.hub = hub
        self.concurrency = max(1, int(concurrency))
        self.options = options or SyncOptions.from_env()
        self.jitter = (_env_float("INTEGHUB_WORKER_JITTER_SECONDS", DEFAULT_JITTER_SECONDS)
                       if jitter_seconds is None else max(0.0, jitter_seconds))
        self.poll = (_env_float("INTEGHUB_WORKER_POLL_SECONDS", DEFAULT_POLL_SECONDS, 0.1)
                     if poll_seconds is None else max(0.1, poll_seconds))
        self.stop_grace = (_env_float("INTEGHUB_WORKER_STOP_GRACE_SECONDS", DEFAULT_STOP_GRACE_SECONDS)
                           if stop_grace_seconds is None else max(0.0, stop_grace_seconds))
        self.out = out or (lambda line: None)
        self.rng = rng or random.Random()
        self.stopping = threading.Event()  # no new claims
        self.cancel = threading.Event()  # running syncs stop at their next check
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._report = WorkerReport()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="sync")
        self.clients = clients or ClientLoader(all_providers())

    # --- stopping --------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """First call: finish what runs, claim nothing new. Second call (or the grace period over): cancel."""
        if self.stopping.is_set():
            self.cancel.set()
            return
        self.stopping.set()
        timer = threading.Timer(self.stop_grace, self.cancel.set)
        timer.daemon = True
        timer.start()

    # --- running ---------------------------------------------------------------------------------
    def run_once(self) -> WorkerReport:
        """One round over what is due now; returns when every sync of the round has ended."""
        try:
            listed_at, pairs = due_pairs(self.hub)
            self._dispatch(pairs, listed_at)
        finally:
            self._pool.shutdown(wait=True)
        return self._report

    def run_forever(self) -> WorkerReport:
        try:
            while not self.stopping.is_set():
                prune_inbox_if_due(self.hub)  # hourly at most, never raises (`--once` users: `webhooks prune`)
                listed_at, pairs = due_pairs(self.hub)
                claimed = self._dispatch(pairs, listed_at)
                if not claimed:
                    self.stopping.wait(self.poll * self.rng.uniform(0.8, 1.2))
        finally:
            self._pool.shutdown(wait=True)
        return self._report

    def _dispatch(self, pairs: list[DuePair], listed_at: datetime) -> int:
        """Start each pair when a thread is free and its jittered start time has come. Returns how many
        were handed to a thread (claims happen there)."""
        begin = time.monotonic()
        if self.jitter:
            schedule = sorted((self.rng.uniform(0.0, self.jitter), i, pair) for i, pair in enumerate(pairs))
        else:  # still shuffled: workers started together should not all queue on the same pair
            schedule = [(0.0, i, pair) for i, pair in enumerate(pairs)]
            self.rng.shuffle(schedule)
        handed = 0
        taken_pairs = TakenPairs(listed_at)
        taken: set = set()
        refreshed = time.monotonic()
        pending, deferred = deque(schedule), deque()
        while pending or deferred:
            if deferred and (not pending or self.clients.ready(deferred[0][2].provider)):
                offset, _i, pair = deferred.popleft()
            else:
                offset, _i, pair = item = pending.popleft()
                if not self.clients.ready(pair.provider):
                    # Its client library is still loading: run the others first instead of holding
                    # a thread on the import. Once nothing else is left, it goes (and waits there).
                    deferred.append(item)
                    continue
            while not self._slots.acquire(timeout=0.2):
                if self.stopping.is_set():
                    return handed
            # With several workers most listed pairs get done by the others; one query now and then
            # spares a claim attempt per pair.
            if time.monotonic() - refreshed > TAKEN_REFRESH_SECONDS:
                taken, refreshed = taken_pairs.refresh(self.hub), time.monotonic()
            if (pair.company_id, pair.provider) in taken:
                self._slots.release()
                with self._lock:
                    self._report.skipped += 1
                continue
            wait = begin + offset - time.monotonic()
            if (wait > 0 and self.stopping.wait(wait)) or self.stopping.is_set():
                self._slots.release()
                return handed
            self._pool.submit(self._run_pair, pair, listed_at)
            handed += 1
        return handed

    def _run_pair(self, pair: DuePair, listed_at: datetime) -> None:
        try:
            result = engine.run(self.hub, pair.company_id, pair.provider, actor="worker", trigger="worker",
                                options=self.options, cancel=self.cancel, unless_finished_since=listed_at,
                                raise_if_running=False)
        except Exception as exc:  # e.g. the company was deleted meanwhile; never kill the worker
            log.warning("worker: sync %s/%s not run: %s", pair.company_id, pair.provider, type(exc).__name__)
            result = None
        finally:
            self._slots.release()
        with self._lock:  # also keeps two threads' lines from interleaving in the output
            if result is None:
                self._report.skipped += 1
                return
            self._report.ran.append(result)
            self.out(_line(result))


def _line(result: SyncResult) -> str:
    text = (f"sync company={result.company_id} provider={result.provider} "
            f"success={'true' if result.success else 'false'} records_synced={result.records_synced} "
            f"duration_ms={result.duration_ms}")
    if not result.success:
        text += f" error_code={result.error_code} error={result.error}"
    return text


def cli(args, hub: Hub, out) -> int:
    """The `worker` command (see build_parser in integhub/cli.py: --once, --concurrency)."""
    # A worker process lives on: what start-up loaded (and the client libraries, once they are in)
    # need not be scanned by every full collection.
    freeze_startup_objects()
    clients = ClientLoader(all_providers(), then=freeze_startup_objects)
    worker = Worker(hub, concurrency=getattr(args, "concurrency", 4) or 4, out=out, clients=clients)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda _signum, _frame: worker.request_stop())
    try:
        if getattr(args, "once", False):
            report = worker.run_once()
        else:
            out(f"worker {os.getpid()}: running due syncs with concurrency {worker.concurrency}")
            report = worker.run_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out(f"worker: ran={len(report.ran)} failed={len(report.failed)} skipped={report.skipped}")
    if getattr(args, "once", False) and report.failed:
        raise HubError("sync_engine.worker_failures", failed=len(report.failed), total=len(report.ran))
    return 0

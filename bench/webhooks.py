"""Webhook receivers under load: signed deliveries per second and their latency, over real HTTP.

The hub runs as `uvicorn server:app --workers N` (the st.App: UI and /api routes in every worker).
A local load generator (httpx async client, C requests in flight) first drives GET /api/health on
the same server: that is the ceiling (routing, a thread hop and one trivial query). Then it sends
signed deliveries, each for a new call, so every one is verified, stored in the inbox and upserted:
- Retell `call_ended` (owner lookup, SDK signature check, inbox row, call upsert, metric row)
- Cal.com `BOOKING_CREATED` (secret lookup, HMAC check, inbox row, booking upsert, metric row)

    python bench/webhooks.py [--quick] [--workers 2] [--concurrency 32] [--database-url URL] [--app ui|api]

Figures (floor = the health endpoint measured the same way on the same server):
    webhook_retell_per_s   deliveries/s; goal: at least 25 % of the health ceiling
    webhook_retell_p50_ms  median latency; goal: at most 4 × health's
    webhook_retell_p99_ms  99th percentile; goal: at most 4 × health's
    webhook_calcom_per_s   deliveries/s; goal: at least 25 % of the health ceiling
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from _common import result, temp_hub

ROOT = Path(__file__).resolve().parent.parent
RETELL_KEY = "key_bench_5f4e3d2c1b0a9f8e"
CALCOM_SECRET = "bench-webhook-secret-0123456789abcdef"
AGENT = "agent_bench_0000000000000000000001"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def setup_company(hub):
    from integhub.crypto import context_for
    from integhub.models import IntegrationConfig
    from integhub.services.companies import create_company

    company = create_company(hub, "Bench Praxis", slug=f"bench-{os.getpid()}-{int(time.time())}")
    with hub.session() as s:
        s.add(IntegrationConfig(company_id=company.id, provider="retell", is_active=True,
                                api_key=hub.keyring.encrypt(RETELL_KEY, context_for(company.id, "retell", "api_key")),
                                settings={"default_agent_id": AGENT}))
        s.add(IntegrationConfig(company_id=company.id, provider="calcom", is_active=True,
                                api_key=hub.keyring.encrypt("cal_" + "ab" * 16, context_for(company.id, "calcom", "api_key")),
                                webhook_secret=hub.keyring.encrypt(CALCOM_SECRET, context_for(company.id, "calcom", "webhook_secret")),
                                settings={}))
    return company.id


def retell_request(i: int, run: str):
    call = {"call_id": f"call_{run}_{i}", "agent_id": AGENT, "call_type": "phone_call", "call_status": "ended",
            "direction": "inbound", "from_number": "+4930123456", "to_number": "+4930999888",
            "start_timestamp": 1_780_000_000_000 + i, "end_timestamp": 1_780_000_090_000 + i,
            "disconnection_reason": "user_hangup", "transcript": "Agent: Guten Tag. User: Ich hätte gern einen Termin."}
    body = json.dumps({"event": "call_ended", "call": call}, separators=(",", ":"), ensure_ascii=False)
    ts = int(time.time() * 1000)
    digest = hmac.new(RETELL_KEY.encode(), (body + str(ts)).encode(), hashlib.sha256).hexdigest()
    return "/api/retell/webhook", body.encode(), {"x-retell-signature": f"v={ts},d={digest}",
                                                  "content-type": "application/json"}


def calcom_request(company_id, i: int, run: str):
    payload = {"uid": f"bk_{run}_{i}", "bookingId": i, "eventTypeId": 42, "title": "Erstberatung",
               "startTime": "2026-06-02T08:00:00.000Z", "endTime": "2026-06-02T08:30:00.000Z", "status": "ACCEPTED",
               "attendees": [{"name": "Jana Köhler", "email": "jana@example.de"}]}
    body = json.dumps({"triggerEvent": "BOOKING_CREATED", "createdAt": "2026-05-28T09:00:00.000Z",
                       "payload": payload}).encode()
    digest = hmac.new(CALCOM_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return f"/api/calcom/webhook/{company_id}", body, {"x-cal-signature-256": digest,
                                                      "content-type": "application/json"}


async def drive(url: str, total: int, concurrency: int, make) -> tuple[float, list[float], dict[int, int]]:
    """`total` requests with `concurrency` in flight; returns (seconds, latencies ms, status counts)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        async def worker():
            nonlocal next_index
            while next_index < total:
                i = next_index
                next_index += 1
                method, path, body, headers = make(i)
                t0 = time.perf_counter()
                try:
                    reply = await client.request(method, path, content=body, headers=headers)
                except httpx.TransportError as exc:  # reported below, with the server's log
                    statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, statuses


SERVER_LOG: Path | None = None


def measure(label: str, url: str, total: int, concurrency: int, make, expect: int = 200) -> dict[str, float]:
    seconds, latencies, statuses = asyncio.run(drive(url, total, concurrency, make))
    if set(statuses) != {expect}:
        tail = SERVER_LOG.read_text()[-3000:] if SERVER_LOG and SERVER_LOG.exists() else ""
        raise SystemExit(f"{label}: unexpected answers {statuses}\nserver log:\n{tail}")
    figures = {"per_s": total / seconds, "p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99)}
    print(f"{label:<22} {total:>6} requests, {concurrency} in flight: {figures['per_s']:8.0f}/s  "
          f"p50 {figures['p50']:6.1f} ms  p99 {figures['p99']:6.1f} ms", flush=True)
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


APPS = {"ui": ["server:app"], "api": ["--factory", "integhub.web:api_app"]}


def start_server(port: int, workers: int, log_path: Path, app: str = "ui") -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", *APPS[app], "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    log = open(log_path, "wb")
    proc = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--app", choices=sorted(APPS), default="ui",
                        help="ui: server:app (st.App, UI + routes; default); api: the routes alone")
    args = parser.parse_args()
    total = args.requests or (300 if args.quick else 3000)

    hub = temp_hub(args.database_url)
    company_id = setup_company(hub)
    print(f"database: {hub.dialect}; uvicorn {' '.join(APPS[args.app])} --workers {args.workers}", flush=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    global SERVER_LOG
    SERVER_LOG = Path(os.environ["INTEGHUB_DATA_DIR"]) / "uvicorn.log"
    proc = start_server(port, args.workers, SERVER_LOG, args.app)
    try:
        run = f"{int(time.time())}"
        health = lambda i: ("GET", "/api/health", None, None)  # noqa: E731
        retell = lambda i: ("POST", *retell_request(i, run))  # noqa: E731
        calcom = lambda i: ("POST", *calcom_request(company_id, i, run))  # noqa: E731
        warm = lambda i: ("POST", *retell_request(i, "warm"))  # noqa: E731
        measure("warm-up", url, min(200, total), args.concurrency, warm)
        ceiling = measure("GET /api/health", url, total, args.concurrency, health)
        r = measure("Retell deliveries", url, total, args.concurrency, retell)
        c = measure("Cal.com deliveries", url, total, args.concurrency, calcom)
    finally:
        stop_server(proc)

    from sqlalchemy import func, select

    from integhub.models import CalcomBooking, RetellCall
    with hub.session() as s:
        calls = s.scalar(select(func.count()).select_from(RetellCall).where(RetellCall.call_id.like(f"call_{run}_%")))
        bookings = s.scalar(select(func.count()).select_from(CalcomBooking))
    assert calls == total and bookings == total, (calls, bookings)
    print(f"stored: {calls} calls, {bookings} bookings")

    result("webhook_retell_per_s", r["per_s"], ceiling["per_s"], 0.25, higher_is_better=True)
    result("webhook_retell_p50_ms", r["p50"], ceiling["p50"], 4)
    result("webhook_retell_p99_ms", r["p99"], ceiling["p99"], 4)
    result("webhook_calcom_per_s", c["per_s"], ceiling["per_s"], 0.25, higher_is_better=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

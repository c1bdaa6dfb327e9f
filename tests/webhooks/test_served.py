"""The real ASGI application over real HTTP: `uvicorn server:app --workers 2` (st.App: UI and /api
routes in each worker process) and `python -m integhub serve` (streamlit run), on SQLite and
PostgreSQL. Concurrency here is real: two worker processes, 50 requests in flight at once."""
from __future__ import annotations

import asyncio
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from integhub.models import CalcomBooking, IntegrationMetric, RetellCall
from integhub.models_webhooks import WebhookInbox
from integhub.services.webhooks import webhook_status
from integhub.webhooks.routes import MAX_BODY_BYTES
from tests.servers import free_port, served

from .support import (
    CALCOM_SECRET,
    RETELL_KEY,
    calcom_body,
    calcom_sign,
    make_tenant,
    retell_body,
    retell_sign,
    uvicorn_command,
)

EVENTS = ("call_started", "call_ended", "call_analyzed")


def count(hub, model, *where) -> int:
    with hub.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def run_in_fresh_loop(coro):
    """asyncio.run in its own thread: a session-wide Playwright (sync API) keeps a loop running in
    this thread when the browser tests ran first."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def fire_retell(url: str, bodies: list[str]) -> list[httpx.Response]:
    """All requests in flight together, each signed separately (its own timestamp)."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        async def one(i: int, body: str) -> httpx.Response:
            sig = retell_sign(body, RETELL_KEY, int(time.time() * 1000) + i)
            return await client.post("/api/retell/webhook", content=body.encode(),
                                     headers={"x-retell-signature": sig, "content-type": "application/json"})
        return await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))


def test_uvicorn_with_two_workers_serves_ui_and_webhooks(hub, hub_env, tmp_path):
    tenant = make_tenant(hub)
    port = free_port()
    with served(hub_env, uvicorn_command(port, workers=2), port, tmp_path / "uvicorn.log") as url:
        health = httpx.get(url + "/api/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert httpx.get(url + "/", timeout=10).status_code == 200  # the Streamlit UI, same app
        # No Nagle stall: with uvicorn's multi-worker socket every answer used to wait ~40 ms for the
        # client's delayed ACK (see integhub.web.tcp_nodelay_for_worker_sockets).
        with httpx.Client(base_url=url, timeout=10) as client:
            client.get("/api/health")
            times = []
            for _ in range(15):
                t0 = time.perf_counter()
                client.get("/api/health")
                times.append(time.perf_counter() - t0)
        assert statistics.median(times) < 0.030, times

        # 50 parallel deliveries for one call: every event of its lifecycle, each sent many times.
        bodies = [retell_body(EVENTS[i % 3], "call_parallel") for i in range(50)]
        replies = run_in_fresh_loop(fire_retell(url, bodies))
        assert [r.status_code for r in replies] == [200] * 50
        states = [r.json()["status"] for r in replies]
        assert states.count("processed") == 3 and states.count("duplicate") == 47
        assert count(hub, RetellCall) == 1
        with hub.session() as s:
            row = s.get(RetellCall, (tenant.company_id, "call_parallel"))
        assert row.stage == 3 and "call_analysis" in row.data
        assert count(hub, WebhookInbox) == 3
        assert count(hub, IntegrationMetric, IntegrationMetric.action == "webhook") == 50

        # Cal.com: signed accepted, forged refused, over the same server.
        body = calcom_body("BOOKING_CREATED", "bk_http")
        path = f"{url}/api/calcom/webhook/{tenant.company_id}"
        ok = httpx.post(path, content=body, headers={"x-cal-signature-256": calcom_sign(body, CALCOM_SECRET)})
        forged = httpx.post(path, content=body, headers={"x-cal-signature-256": calcom_sign(body, "guess")})
        assert (ok.status_code, forged.status_code) == (200, 401)
        assert count(hub, CalcomBooking) == 1

        # The size limit over a real socket: exactly 1 MB is handled, one byte more is refused.
        base = retell_body("call_analyzed", "call_big", transcript="")
        exact = retell_body("call_analyzed", "call_big", transcript="x" * (MAX_BODY_BYTES - len(base)))
        over = exact.replace('"transcript":"', '"transcript":"y', 1)
        assert len(exact.encode()) == MAX_BODY_BYTES and len(over.encode()) == MAX_BODY_BYTES + 1
        with httpx.Client(base_url=url, timeout=30) as client:
            accepted = client.post("/api/retell/webhook", content=exact.encode(),
                                   headers={"x-retell-signature": retell_sign(exact, RETELL_KEY)})
            refused = client.post("/api/retell/webhook", content=over.encode(),
                                  headers={"x-retell-signature": retell_sign(over, RETELL_KEY)})
        assert accepted.status_code == 200 and refused.status_code == 413

    retell = webhook_status(hub, tenant.company_id, "retell")
    assert retell["accepted_24h"] == 51 and retell["signature_failures_24h"] == 0
    calcom = webhook_status(hub, tenant.company_id, "calcom")
    assert (calcom["deliveries_24h"], calcom["accepted_24h"], calcom["signature_failures_24h"]) == (2, 1, 1)


def test_integhub_serve_runs_the_routes_in_the_streamlit_process(hub, hub_env, tmp_path):
    tenant = make_tenant(hub)
    port = free_port()
    command = [sys.executable, "-m", "integhub", "serve", "--port", str(port)]
    with served(hub_env, command, port, tmp_path / "serve.log") as url:
        assert httpx.get(url + "/api/health", timeout=10).json()["status"] == "ok"
        assert httpx.get(url + "/_stcore/health", timeout=10).status_code == 200
        body = retell_body("call_ended", "call_serve")
        reply = httpx.post(url + "/api/retell/webhook", content=body.encode(),
                           headers={"x-retell-signature": retell_sign(body, RETELL_KEY)}, timeout=10)
        assert reply.status_code == 200
    with hub.session() as s:
        assert s.get(RetellCall, (tenant.company_id, "call_serve")).stage == 2

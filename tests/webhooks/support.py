"""Helpers for the webhook tests: payloads signed the way the providers sign them (independent
implementations of retell-api.md §5.2 and calcom-api.md §4) and companies with stored configs."""
from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
import uuid
from dataclasses import dataclass


from integhub.crypto import context_for
from integhub.db import Hub
from integhub.models import IntegrationConfig, RetellAgent
from integhub.services.companies import create_company

RETELL_KEY = "key_7d2c4b1a9e8f6a5b4c3d2e1f"
OTHER_RETELL_KEY = "key_0a1b2c3d4e5f6a7b8c9d0e1f"
AGENT = "agent_5e1a7f0c2b9d8e4a6c3b1f0d2e"
CALCOM_SECRET = "whsec-3YkVqf0pWmXc9nA2LrT7uE5sB1dG8hJ4"
T0_MS = 1_780_000_000_000  # a fixed call start (2026-05-28), so rows are predictable


def retell_sign(body: str, api_key: str, ts_ms: int | None = None) -> str:
    """x-retell-signature as Retell makes it: v=<ms>,d=hex(HMAC-SHA256(key, body + str(ms)))."""
    ts = int(time.time() * 1000) if ts_ms is None else ts_ms
    digest = hmac.new(api_key.encode("utf-8"), (body + str(ts)).encode("utf-8"), hashlib.sha256).hexdigest()
    return f"v={ts},d={digest}"


def calcom_sign(body: bytes, secret: str) -> str:
    """X-Cal-Signature-256 as Cal.com makes it: lowercase hex HMAC-SHA256(secret, raw body)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


STATUS_FOR_EVENT = {"call_started": "ongoing", "call_ended": "ended", "call_analyzed": "ended",
                    "transcript_updated": "ongoing"}


def retell_call(event: str, call_id: str, agent_id: str = AGENT, **extra) -> dict:
    call = {"call_id": call_id, "agent_id": agent_id, "agent_version": 3, "call_type": "phone_call",
            "call_status": STATUS_FOR_EVENT.get(event, "ongoing"), "direction": "inbound",
            "from_number": "+4930123456", "to_number": "+4930999888", "start_timestamp": T0_MS}
    if event in ("call_ended", "call_analyzed"):
        call.update(end_timestamp=T0_MS + 95_000, duration_ms=95_000, disconnection_reason="user_hangup",
                    transcript="Agent: Guten Tag.\nUser: Ich möchte einen Termin.")
    if event == "call_analyzed":
        call["call_analysis"] = {"call_summary": "Termin vereinbart.", "call_successful": True,
                                 "user_sentiment": "Positive", "in_voicemail": False}
    call.update(extra)
    return call


def retell_body(event: str, call_id: str, agent_id: str = AGENT, **extra) -> str:
    """Serialised once: the exact string that is signed and sent."""
    return json.dumps({"event": event, "call": retell_call(event, call_id, agent_id, **extra)},
                      ensure_ascii=False, separators=(",", ":"))


def calcom_body(trigger: str, uid: str, *, created_at: str = "2026-05-28T09:00:00.000Z", status: str = "ACCEPTED",
                start: str = "2026-06-02T08:00:00.000Z", end: str = "2026-06-02T08:30:00.000Z", **extra) -> bytes:
    payload = {"uid": uid, "bookingId": 4711, "eventTypeId": 42, "title": "Erstberatung", "type": "erstberatung",
               "startTime": start, "endTime": end, "status": status,
               "organizer": {"id": 7, "name": "Dr. Weber", "email": "weber@praxis.de", "timeZone": "Europe/Berlin"},
               "attendees": [{"name": "Jana Köhler", "email": "Jana.Koehler@example.de", "timeZone": "Europe/Berlin"}]}
    payload.update(extra)
    return json.dumps({"triggerEvent": trigger, "createdAt": created_at, "payload": payload},
                      ensure_ascii=False).encode("utf-8")


@dataclass
class Tenant:
    company_id: uuid.UUID
    retell_key: str | None
    calcom_secret: str | None


def make_tenant(hub: Hub, name: str = "Praxis Sonnenschein", *, retell_key: str | None = RETELL_KEY,
                default_agent: str | None = AGENT, synced_agents: tuple[str, ...] = (),
                calcom_secret: str | None = CALCOM_SECRET, calcom_key: str | None = "cal_live_0123456789abcdef0123456789abcdef") -> Tenant:
    """A company with stored (encrypted) configs, written directly: these tests are about receiving,
    not about the save flow (which validates keys live and is tested elsewhere)."""
    company = create_company(hub, name, slug=f"p-{uuid.uuid4().hex[:10]}")
    cid = company.id
    with hub.session() as s:
        if retell_key:
            s.add(IntegrationConfig(company_id=cid, provider="retell", is_active=True,
                                    api_key=hub.keyring.encrypt(retell_key, context_for(cid, "retell", "api_key")),
                                    settings={"default_agent_id": default_agent, "auto_sync_enabled": False}))
        for agent in synced_agents:
            s.add(RetellAgent(company_id=cid, agent_id=agent, name="Rezeption"))
        if calcom_key:
            s.add(IntegrationConfig(
                company_id=cid, provider="calcom", is_active=True,
                api_key=hub.keyring.encrypt(calcom_key, context_for(cid, "calcom", "api_key")),
                webhook_secret=(hub.keyring.encrypt(calcom_secret, context_for(cid, "calcom", "webhook_secret"))
                                if calcom_secret else None),
                settings={"auto_sync_enabled": False}))
    return Tenant(cid, retell_key, calcom_secret)


def post_retell(client, body: str, key: str | None = RETELL_KEY, *, signature: str | None = None, **kw):
    headers = {"content-type": "application/json"}
    sig = signature if signature is not None else (retell_sign(body, key) if key else None)
    if sig is not None:
        headers["x-retell-signature"] = sig
    return client.post("/api/retell/webhook", content=body.encode("utf-8"), headers=headers, **kw)


def post_calcom(client, company_id, body: bytes, secret: str | None = CALCOM_SECRET, *,
                signature: str | None = None, **kw):
    headers = {"content-type": "application/json", "x-cal-webhook-version": "2021-10-20"}
    sig = signature if signature is not None else (calcom_sign(body, secret) if secret else None)
    if sig is not None:
        headers["x-cal-signature-256"] = sig
    return client.post(f"/api/calcom/webhook/{company_id}", content=body, headers=headers, **kw)


# --- serving the app for real-HTTP tests ---------------------------------------------------------------
def uvicorn_command(port: int, *, workers: int = 2, app: str = "server:app") -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--no-access-log", "--log-level", "warning"]

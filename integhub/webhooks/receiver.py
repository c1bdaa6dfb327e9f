"""Receiving one delivery, from raw bytes to a reply. Synchronous (the routes run it in a thread).

Order of checks, and what each failure answers (bodies are fixed, so a reply never tells which
check failed or whether a company exists):
  Retell:  body UTF-8 JSON with event/call/agent_id (400) → companies owning the agent (404) →
           signature with each such company's API key (401) → inbox + upsert (200/202)
  Cal.com: company id in the URL with an active config holding a webhook secret (404) →
           signature with that secret (401) → body JSON (400) → inbox + upsert (200/202)
Every delivery where a company is known records an integration_metrics row (action "webhook").
A processing error never loses the delivery: it is stored as `failed` for `webhooks replay` and
acknowledged with 202, so the provider does not need to retry.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..crypto import DecryptionError, context_for
from ..db import Hub
from ..models import IntegrationConfig, RetellAgent
from ..models_webhooks import INBOX_FAILED, INBOX_PROCESSED, WebhookRegistration
from ..redaction import redact, remember_secret
from ..services.metrics import record_metric
from . import handlers, inbox
from .verify import single_header, verify_calcom, verify_retell

log = logging.getLogger(__name__)

ACTION = "webhook"


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


def accepted(state: str) -> Reply:
    return Reply(202 if state == "queued" else 200, {"ok": True, "status": state})


BAD_REQUEST = Reply(400, {"error": "bad_request"})
UNAUTHORIZED = Reply(401, {"error": "unauthorized"})
NOT_FOUND = Reply(404, {"error": "not_found"})
TOO_LARGE = Reply(413, {"error": "payload_too_large"})
UNAVAILABLE = Reply(503, {"error": "unavailable"})


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record_refusals(hub: Hub, company_ids: Sequence[uuid.UUID], provider: str, code: str, started: float) -> None:
    """Best effort: a refusal must be answered even when the metric cannot be written."""
    if not company_ids:
        return
    try:
        with hub.session() as s:
            for cid in company_ids:
                record_metric(s, company_id=cid, provider=provider, action=ACTION, success=False,
                              duration_ms=_elapsed_ms(started), error_code=code)
    except Exception as exc:  # noqa: BLE001 - logged by type only
        log.warning("could not record a refused %s webhook: %s", provider, type(exc).__name__)


def describe_failure(exc: BaseException) -> str:
    """One line for the inbox row: the error's type and first line, no SQL parameters, no secrets."""
    detail = str(exc.orig) if isinstance(exc, DBAPIError) and exc.orig is not None else str(exc)
    first_line = (detail.strip().splitlines() or [""])[0][:300]
    return redact(f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__)


def store_and_process(hub: Hub, *, company_id: uuid.UUID, provider: str, event_key: str, event_type: str,
                      object_id: str | None, body: str, process: Callable[[Session, uuid.UUID], int],
                      started: float) -> str:
    """Store the delivery once and apply it, in one transaction. Returns processed | duplicate |
    queued (stored as failed for replay) | unavailable (not even stored: the provider should retry)."""
    try:
        with hub.session() as s:
            inbox_id = inbox.insert_once(s, provider=provider, company_id=company_id, event_key=event_key,
                                         event_type=event_type, object_id=object_id, body=body,
                                         status=INBOX_PROCESSED)
            written = 0 if inbox_id is None else process(s, company_id)
            record_metric(s, company_id=company_id, provider=provider, action=ACTION, success=True,
                          duration_ms=_elapsed_ms(started), records_synced=written)
        return "processed" if inbox_id is not None else "duplicate"
    except Exception as exc:  # noqa: BLE001 - whatever broke, keep the event
        error = describe_failure(exc)
        log.warning("%s webhook %s could not be processed (%s); kept for replay", provider, event_type,
                    type(exc).__name__)
    try:
        with hub.session() as s:
            inbox_id = inbox.insert_once(s, provider=provider, company_id=company_id, event_key=event_key,
                                         event_type=event_type, object_id=object_id, body=body,
                                         status=INBOX_FAILED, error=error)
            record_metric(s, company_id=company_id, provider=provider, action=ACTION, success=False,
                          duration_ms=_elapsed_ms(started), error_code="processing")
        return "queued" if inbox_id is not None else "duplicate"
    except Exception as exc:  # noqa: BLE001
        log.error("%s webhook could not be stored: %s", provider, type(exc).__name__)
        return "unavailable"


def _combine(states: list[str]) -> Reply:
    for state in ("unavailable", "queued", "processed"):
        if state in states:
            return UNAVAILABLE if state == "unavailable" else accepted(state)
    return accepted("duplicate")


# --- Retell ----------------------------------------------------------------------------------------
def retell_candidates(hub: Hub, agent_id: str) -> list[tuple[uuid.UUID, str]]:
    """(company, decrypted API key) for every active Retell config that may own `agent_id`: the agent
    was synced for it, the hub registered its webhook for it, or it is the config's default agent."""
    synced = select(RetellAgent.company_id).where(RetellAgent.agent_id == agent_id)
    registered = select(WebhookRegistration.company_id).where(WebhookRegistration.provider == "retell",
                                                              WebhookRegistration.target == agent_id)
    with hub.session() as s:
        rows = s.execute(
            select(IntegrationConfig.company_id, IntegrationConfig.api_key)
            .where(IntegrationConfig.provider == "retell", IntegrationConfig.api_key.is_not(None),
                   IntegrationConfig.is_active.is_(True),
                   or_(IntegrationConfig.company_id.in_(synced), IntegrationConfig.company_id.in_(registered),
                       IntegrationConfig.settings["default_agent_id"].as_string() == agent_id))
            .order_by(IntegrationConfig.company_id)
        ).all()
    out = []
    for cid, token in rows:
        try:
            key = hub.keyring.decrypt(token, context_for(cid, "retell", "api_key"))
        except DecryptionError:
            log.error("the Retell API key of company %s cannot be decrypted; run check-keys", cid)
            continue
        remember_secret(key)
        out.append((cid, key))
    return out


def receive_retell(hub: Hub, raw: bytes, signatures: Sequence[str]) -> Reply:
    started = time.monotonic()
    try:
        text = raw.decode("utf-8")  # the SDK verifies a str; the signed string is the body as sent
        parsed = handlers.parse_retell(text)
    except (UnicodeDecodeError, handlers.BadPayload):
        return BAD_REQUEST
    try:
        candidates = retell_candidates(hub, parsed.agent_id)
    except Exception as exc:  # noqa: BLE001 - database unreachable: let Retell retry
        log.error("Retell webhook: owner lookup failed: %s", type(exc).__name__)
        return UNAVAILABLE
    if not candidates:
        return NOT_FOUND
    header = single_header(signatures)
    verified = [cid for cid, key in candidates if verify_retell(text, key, header)]
    if not verified:
        _record_refusals(hub, [cid for cid, _ in candidates], "retell", "signature", started)
        return UNAUTHORIZED
    event_key = inbox.retell_event_key(parsed.event, parsed.object_id, text)
    states = [
        store_and_process(hub, company_id=cid, provider="retell", event_key=event_key, event_type=parsed.event,
                          object_id=parsed.object_id, body=text, started=started,
                          process=lambda s, c: handlers.process_retell(s, c, parsed))
        for cid in verified
    ]
    return _combine(states)


# --- Cal.com ---------------------------------------------------------------------------------------
def calcom_secret(hub: Hub, company_id: uuid.UUID) -> tuple[str | None, bool]:
    """(decrypted webhook secret or None, whether an active Cal.com config exists)."""
    with hub.session() as s:
        row = s.execute(
            select(IntegrationConfig.webhook_secret, IntegrationConfig.is_active)
            .where(IntegrationConfig.company_id == company_id, IntegrationConfig.provider == "calcom")
        ).first()
    if row is None or not row.is_active:
        return None, False
    if not row.webhook_secret:
        return None, True
    try:
        secret = hub.keyring.decrypt(row.webhook_secret, context_for(company_id, "calcom", "webhook_secret"))
    except DecryptionError:
        log.error("the Cal.com webhook secret of company %s cannot be decrypted; run check-keys", company_id)
        return None, True
    remember_secret(secret)
    return secret, True


def parse_company_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text and len(text) <= 64 else None
    except (ValueError, TypeError):
        return None


def refuse_calcom(hub: Hub, company_text: str, reply: Reply, code: str) -> Reply:
    """A delivery refused before it was read (e.g. too large): counted when the company is configured."""
    started = time.monotonic()
    cid = parse_company_id(company_text)
    if cid is not None:
        try:
            configured = calcom_secret(hub, cid)[1]
        except Exception:  # noqa: BLE001 - the refusal stands either way
            configured = False
        if configured:
            _record_refusals(hub, [cid], "calcom", code, started)
    return reply


def receive_calcom(hub: Hub, company_text: str, raw: bytes, signatures: Sequence[str]) -> Reply:
    started = time.monotonic()
    cid = parse_company_id(company_text)
    if cid is None:
        return NOT_FOUND
    try:
        secret, configured = calcom_secret(hub, cid)
    except Exception as exc:  # noqa: BLE001
        log.error("Cal.com webhook: secret lookup failed: %s", type(exc).__name__)
        return UNAVAILABLE
    if secret is None:
        if configured:  # a real company, but the hub registered no webhook for it (or cannot read it)
            _record_refusals(hub, [cid], "calcom", "not_registered", started)
        return NOT_FOUND
    if not verify_calcom(raw, secret, single_header(signatures)):
        _record_refusals(hub, [cid], "calcom", "signature", started)
        return UNAUTHORIZED
    try:
        text = raw.decode("utf-8")
        parsed = handlers.parse_calcom(text)
    except (UnicodeDecodeError, handlers.BadPayload):
        _record_refusals(hub, [cid], "calcom", "malformed", started)
        return BAD_REQUEST
    event_key = inbox.calcom_event_key(parsed.trigger, parsed.uid, parsed.created_at, text)
    state = store_and_process(hub, company_id=cid, provider="calcom", event_key=event_key, event_type=parsed.trigger,
                              object_id=parsed.uid, body=text, started=started,
                              process=lambda s, c: handlers.process_calcom(s, c, parsed))
    return _combine([state])


# --- replay ----------------------------------------------------------------------------------------
def process_stored(session: Session, provider: str, company_id: uuid.UUID, body: str) -> int:
    """Apply a stored delivery again (replay); raises what processing raises."""
    if provider == "retell":
        return handlers.process_retell(session, company_id, handlers.parse_retell(body))
    if provider == "calcom":
        return handlers.process_calcom(session, company_id, handlers.parse_calcom(body))
    raise ValueError(f"no webhook handler for provider {provider!r}")

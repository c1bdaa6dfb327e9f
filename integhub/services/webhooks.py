"""Webhooks as services: register the hub with a provider, replay stored deliveries, the status card.

The CLI (`webhooks register|replay`) and the provider pages' buttons call these functions.

Registration (contract.md, `webhooks register`):
- Cal.com: POST /v2/webhooks with subscriberUrl `$INTEGHUB_PUBLIC_URL/api/calcom/webhook/<company>`,
  the booking triggers and a freshly generated secret, stored encrypted in
  integration_configs.webhook_secret (a Core UPDATE: the admin form's `version` is not bumped, so an
  open form does not get a spurious conflict). Registering again when our webhook is still there
  changes nothing; a stale webhook with the same URL (one whose secret the hub does not hold) is
  replaced: the new one is created and its secret stored first, then the stale one is deleted
  (DELETE /v2/webhooks/{id}). See `_register_calcom`.
- Retell: PATCH /update-agent/<agent> setting webhook_url `$INTEGHUB_PUBLIC_URL/api/retell/webhook`
  (agent: the argument or the config's default agent). Retell signs with the API key, so no secret.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from ..crypto import CryptoError, context_for, fingerprint
from ..db import Hub
from ..errors import HubError, NotFound
from ..i18n import t
from ..models import IntegrationConfig, IntegrationMetric, RetellAgent, utcnow
from ..models_webhooks import REPLAYABLE, WebhookInbox, WebhookRegistration
from ..providers import get_provider
from ..providers.errors import NotFound as ProviderNotFound
from ..providers.errors import ProviderError
from ..redaction import remember_secret
from ..sync.upsert import upsert_rows
from ..validation import normalize_remote_id
from ..webhooks import inbox
from ..webhooks.receiver import describe_failure, process_stored
from ..webhooks.routes import CALCOM_PATH, RETELL_PATH
from .audit import record_audit
from .companies import parse_uuid
from .configs import get_secret, load_config

WEBHOOK_PROVIDERS = ("calcom", "retell")
# Booking triggers from the CreateWebhookInputDto enum only (calcom-api.md §2.5; the spec's example
# lists BOOKING_CONFIRMED etc., which the API refuses).
CALCOM_TRIGGERS = ("BOOKING_CREATED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED", "BOOKING_REQUESTED",
                   "BOOKING_REJECTED", "BOOKING_PAYMENT_INITIATED", "BOOKING_PAID", "BOOKING_NO_SHOW_UPDATED")
CALCOM_TARGET = "account"
REPLAY_MIN_AGE = timedelta(seconds=60)  # a pending row younger than this may still be in flight

log = logging.getLogger(__name__)


def webhook_url(hub: Hub, company_id: uuid.UUID, provider: str) -> str:
    base = hub.settings.public_url.rstrip("/")
    if provider == "calcom":
        return base + CALCOM_PATH.replace("{company_id}", str(company_id))
    return base + RETELL_PATH


def _provider(provider: str) -> str:
    if provider not in WEBHOOK_PROVIDERS:
        raise HubError("webhooks.unknown_provider", provider=provider)
    return provider


@dataclass
class Registration:
    company_id: str
    provider: str
    url: str
    changed: bool  # False: the provider already had exactly this registration
    remote_id: str | None = None  # Cal.com webhook id
    agent_id: str | None = None
    triggers: list[str] = field(default_factory=list)
    other_hooks: list[str] = field(default_factory=list)  # Cal.com webhooks with our URL that could not be removed
    repaired: bool = False  # Cal.com: the hub's webhook was switched on again / given every booking trigger
    removed_hooks: list[str] = field(default_factory=list)  # Cal.com: stale webhooks with our URL, deleted

    @property
    def url_is_local(self) -> bool:
        """The provider cannot reach a loopback URL (INTEGHUB_PUBLIC_URL left at its default)."""
        host = (urlsplit(self.url).hostname or "").lower()
        return host in ("localhost", "::1") or host.startswith("127.")

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "url_is_local": self.url_is_local}

    def lines(self, lang: str | None = None) -> list[str]:
        name = get_provider(self.provider).display_name
        key = "webhooks.registered" if self.changed else "webhooks.already_registered"
        lines = [t(key, lang, provider=name, url=self.url)]
        if self.agent_id:
            lines.append(t("webhooks.registered_agent", lang, agent=self.agent_id))
        if self.remote_id:
            lines.append(t("webhooks.registered_id", lang, id=self.remote_id))
        if self.repaired:
            lines.append(t("webhooks.repaired", lang))
        if self.removed_hooks:
            lines.append(t("webhooks.removed_hooks", lang, ids=", ".join(self.removed_hooks)))
        if self.other_hooks:
            lines.append(t("webhooks.other_hooks", lang, ids=", ".join(self.other_hooks)))
        if self.url_is_local:
            lines.append(t("webhooks.local_url", lang, provider=name))
        return lines


def register_webhook(hub: Hub, company_id: object, provider: str, *, agent_id: str | None = None,
                     actor: str = "system", timeout: float = 10.0) -> Registration:
    """Register the hub's webhook URL with the provider for this company. Raises HubError (not
    configured, no agent) or ProviderError (the provider refused or could not be reached)."""
    cid = parse_uuid(company_id)
    provider = _provider(provider)
    view = load_config(hub, cid, provider)  # NotFound for an unknown company
    if not view.has_key:
        raise HubError("webhooks.not_configured", provider=get_provider(provider).display_name)
    api_key = get_secret(hub, cid, provider)
    if provider == "calcom":
        return _register_calcom(hub, cid, api_key, actor=actor, timeout=timeout)
    agent = agent_id if agent_id not in (None, "") else view.settings.get("default_agent_id")
    if not agent:
        raise HubError("webhooks.no_agent")
    agent = normalize_remote_id(agent, "agent")
    return _register_retell(hub, cid, api_key, agent, actor=actor, timeout=timeout)


def _save_registration(session, cid: uuid.UUID, provider: str, target: str, url: str, remote_id: str | None,
                       actor: str) -> None:
    upsert_rows(session, WebhookRegistration,
                [{"company_id": cid, "provider": provider, "target": target, "remote_id": remote_id, "url": url,
                  "registered_at": utcnow(), "registered_by": actor or "system"}],
                key_cols=("company_id", "provider", "target"))


def _register_calcom(hub: Hub, cid: uuid.UUID, api_key: str, *, actor: str, timeout: float) -> Registration:
    """Make sure exactly one Cal.com webhook with the hub's URL exists and that the hub can verify it.

    - The hub's webhook is there and Cal.com signs with the stored secret: nothing changes (if it was
      switched off or lacks booking triggers, PATCH turns it on again; the secret stays).
    - Otherwise (no webhook, or none whose secret the hub holds: a stale one from an earlier
      registration or another installation): POST a new webhook with a new secret, store the secret
      only after Cal.com accepted it, then DELETE the stale ones. While both exist Cal.com sends every
      event to both, signed with each one's secret, so exactly one delivery verifies before and after
      the switch (the inbox stores it once). If storing fails, the new webhook is deleted again and
      the old state stays as it was.
    Any other webhook with the hub's URL is deleted: its deliveries could never be verified."""
    url = webhook_url(hub, cid, "calcom")
    with hub.session() as s:
        current = s.get(WebhookRegistration, (cid, "calcom", CALCOM_TARGET))
        current_id = current.remote_id if current is not None and current.url == url else None
        stored_token = _stored_token(s, cid)
    stored_secret = _decrypt_webhook_secret(hub, cid, stored_token)
    triggers = list(CALCOM_TRIGGERS)
    with closing(get_provider("calcom").client(api_key, timeout=timeout)) as client:
        ours = [h for h in client.webhooks() if h.get("subscriberUrl") == url]
        keep = _verifiable_hook(ours, current_id, stored_secret)
        if keep is not None:
            remote_id = str(keep["id"])
            repaired = not keep.get("active", True) or not set(triggers) <= set(keep.get("triggers") or [])
            if repaired:
                client.update_webhook(remote_id, triggers=triggers, active=True)
            removed, left = _remove_hooks(client, [h for h in ours if h is not keep])
            if repaired or removed or remote_id != current_id:
                with hub.session() as s:
                    _save_registration(s, cid, "calcom", CALCOM_TARGET, url, remote_id, actor)
                    record_audit(s, actor=actor, action="webhook.updated", company_id=cid, provider="calcom",
                                 details={"url": url, "webhook_id": remote_id, "repaired": repaired,
                                          "removed_hooks": removed, "other_hooks": left})
            return Registration(str(cid), "calcom", url, repaired or bool(removed), remote_id, triggers=triggers,
                                other_hooks=left, repaired=repaired, removed_hooks=removed)

        secret = secrets.token_urlsafe(32)
        remember_secret(secret)
        created = client.create_webhook(subscriber_url=url, triggers=triggers, secret=secret)
        remote_id = str(created.get("id") or "")
        try:
            if not remote_id:  # without an id it could never be replaced or removed later
                raise HubError("webhooks.not_applied", provider="Cal.com")
            _store_calcom_secret(hub, cid, stored_token, stored_secret, secret, url, remote_id, actor,
                                 details={"url": url, "webhook_id": remote_id, "triggers": triggers,
                                          "replaces": [str(h.get("id")) for h in ours]})
        except BaseException:
            if remote_id:  # the old state stays in force: take the new webhook back
                _remove_hooks(client, [created])
            raise
        removed, left = _remove_hooks(client, ours)
        if removed or left:
            with hub.session() as s:
                record_audit(s, actor=actor, action="webhook.updated", company_id=cid, provider="calcom",
                             details={"url": url, "webhook_id": remote_id, "removed_hooks": removed,
                                      "other_hooks": left})
    return Registration(str(cid), "calcom", url, True, remote_id, triggers=triggers, other_hooks=left,
                        removed_hooks=removed)


CONFIGS = IntegrationConfig.__table__


def _stored_token(session, cid: uuid.UUID) -> str | None:
    return session.scalar(select(CONFIGS.c.webhook_secret).where(CONFIGS.c.company_id == cid,
                                                                 CONFIGS.c.provider == "calcom"))


def _decrypt_webhook_secret(hub: Hub, cid: uuid.UUID, token: str | None) -> str | None:
    """The stored secret, or None when there is none or the key ring cannot read it (then the hub
    cannot verify deliveries anyway, so the webhook needs a new one)."""
    if not token:
        return None
    try:
        value = hub.keyring.decrypt(token, context_for(cid, "calcom", "webhook_secret"))
    except CryptoError:
        return None
    remember_secret(value)
    return value


def _verifiable_hook(ours: list[dict[str, Any]], current_id: str | None,
                     stored_secret: str | None) -> dict[str, Any] | None:
    """The hub webhook Cal.com signs with the stored secret: it shows that secret, or (secret not
    shown) it is the webhook this hub registered last. The registered one first; None if none."""
    if stored_secret is None:
        return None
    found = []
    for hook in ours:
        if hook.get("id") in (None, ""):
            continue
        listed = hook.get("secret")
        if isinstance(listed, str) and listed:
            if hmac.compare_digest(listed.encode(), stored_secret.encode()):
                found.append(hook)
        elif current_id and str(hook["id"]) == current_id:
            found.append(hook)
    found.sort(key=lambda h: (str(h["id"]) != current_id, not h.get("active", True)))
    return found[0] if found else None


def _store_calcom_secret(hub: Hub, cid: uuid.UUID, expected_token: str | None, expected_secret: str | None,
                         secret: str, url: str, remote_id: str, actor: str, *, details: dict[str, Any]) -> None:
    """Store the new secret if the stored one is still the one this registration started from (a
    key rotation may have re-encrypted it meanwhile: same secret, new ciphertext); otherwise another
    registration won and its secret stays (HubError webhooks.concurrent). A Core UPDATE: the admin
    form's `version` is not bumped, so an open form does not get a spurious conflict."""
    token = expected_token
    new_token = hub.keyring.encrypt(secret, context_for(cid, "calcom", "webhook_secret"))
    for _ in range(3):
        with hub.session() as s:
            same = CONFIGS.c.webhook_secret.is_(None) if token is None else CONFIGS.c.webhook_secret == token
            result = s.execute(update(CONFIGS).where(CONFIGS.c.company_id == cid, CONFIGS.c.provider == "calcom", same)
                               .values(webhook_secret=new_token))
            if result.rowcount == 1:
                _save_registration(s, cid, "calcom", CALCOM_TARGET, url, remote_id, actor)
                record_audit(s, actor=actor, action="webhook.registered", company_id=cid, provider="calcom",
                             details=details, old_fingerprint=fingerprint(expected_secret) if expected_secret else None,
                             new_fingerprint=fingerprint(secret))
                return
            exists = s.execute(select(CONFIGS.c.webhook_secret).where(CONFIGS.c.company_id == cid,
                                                                      CONFIGS.c.provider == "calcom")).first()
        if exists is None:
            raise NotFound("webhooks.config_gone")
        now = exists.webhook_secret
        if not now or expected_secret is None or _decrypt_webhook_secret(hub, cid, now) != expected_secret:
            raise HubError("webhooks.concurrent")
        token = now  # only re-encrypted: try again against the new ciphertext
    raise HubError("webhooks.concurrent")


def _remove_hooks(client, hooks: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """DELETE these Cal.com webhooks. Returns (ids removed or already gone, ids that stay)."""
    removed, left = [], []
    for hook in hooks:
        hook_id = str(hook.get("id") or "")
        try:
            if not hook_id:
                raise ValueError("no id")
            client.delete_webhook(hook_id)
        except ProviderNotFound:
            pass  # already gone
        except (ProviderError, ValueError) as exc:
            log.warning("could not delete the Cal.com webhook %s: %s", hook_id or "?", type(exc).__name__)
            left.append(hook_id or "?")
            continue
        removed.append(hook_id)
    return removed, left


def _register_retell(hub: Hub, cid: uuid.UUID, api_key: str, agent_id: str, *, actor: str,
                     timeout: float) -> Registration:
    url = webhook_url(hub, cid, "retell")
    with closing(get_provider("retell").client(api_key, timeout=timeout)) as client:
        before = client.get_agent(agent_id)
        changed = before.get("webhook_url") != url
        if changed:
            after = client.update_agent(agent_id, webhook_url=url)
            if after.get("webhook_url") != url:
                raise HubError("webhooks.not_applied", provider="Retell")
    with hub.session() as s:
        _save_registration(s, cid, "retell", agent_id, url, None, actor)
        s.execute(update(RetellAgent).where(RetellAgent.company_id == cid, RetellAgent.agent_id == agent_id)
                  .values(webhook_url=url).execution_options(synchronize_session=False))
        if changed:
            record_audit(s, actor=actor, action="webhook.registered", company_id=cid, provider="retell",
                         details={"url": url, "agent_id": agent_id, "previous_url": before.get("webhook_url")})
    return Registration(str(cid), "retell", url, changed, agent_id=agent_id)


# --- replay ----------------------------------------------------------------------------------------
@dataclass
class ReplayResult:
    attempted: int = 0
    processed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # "<provider> <event> <object>: <error>"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def replay_inbox(hub: Hub, company_id: object | None = None, provider: str | None = None, *,
                 actor: str = "system", limit: int | None = None,
                 min_age: timedelta = REPLAY_MIN_AGE) -> ReplayResult:
    """Process again every stored delivery that failed (or is pending for longer than `min_age`),
    oldest first. Each runs in its own transaction; one that fails again stays in the inbox."""
    cid = parse_uuid(company_id) if company_id not in (None, "") else None
    if provider is not None:
        _provider(provider)
    with hub.session() as s:
        ids = inbox.replayable_ids(s, company_id=cid, provider=provider, older_than=utcnow() - min_age, limit=limit)
    result = ReplayResult()
    touched: dict[tuple[uuid.UUID, str], list[int]] = {}
    for row_id in ids:
        pair = label = None
        try:
            with hub.session() as s:
                row = s.get(WebhookInbox, row_id, with_for_update=True)
                if row is None or row.status not in REPLAYABLE:
                    continue  # someone else replayed it meanwhile
                result.attempted += 1
                pair = (row.company_id, row.provider)
                label = f"{row.provider} {row.event_type} {row.object_id or ''}".strip()
                touched.setdefault(pair, [0, 0])
                process_stored(s, row.provider, row.company_id, row.body)
                inbox.mark(s, row_id, ok=True)
            result.processed += 1
            touched[pair][0] += 1
        except Exception as exc:  # noqa: BLE001 - recorded on the row, reported to the caller
            if pair is None:
                raise  # the row could not even be read: the database is the problem
            error = describe_failure(exc)
            with hub.session() as s:
                inbox.mark(s, row_id, ok=False, error=error)
            result.failed += 1
            result.errors.append(f"{label}: {error}")
            touched[pair][1] += 1
    if touched:
        with hub.session() as s:
            for (company, prov), (ok, bad) in touched.items():
                record_audit(s, actor=actor, action="webhook.replayed", company_id=company, provider=prov,
                             details={"processed": ok, "failed": bad})
    return result


# --- retention -------------------------------------------------------------------------------------
RETENTION_ENV = "INTEGHUB_WEBHOOK_RETENTION_DAYS"
RETENTION_DEFAULT_DAYS = 30
PRUNE_BATCH = 1000


def retention_days() -> int:
    """INTEGHUB_WEBHOOK_RETENTION_DAYS (default 30, at least 1: the inbox is also what recognises a
    provider's retry of a delivery, so rows must outlive the providers' retry window)."""
    raw = os.environ.get(RETENTION_ENV, "").strip()
    if not raw:
        return RETENTION_DEFAULT_DAYS
    try:
        days = int(raw)
    except ValueError:
        days = 0
    if days < 1:
        raise HubError("webhooks.retention_invalid", name=RETENTION_ENV, value=raw[:40])
    return days


@dataclass
class PruneResult:
    older_than_days: int
    cutoff: str  # ISO UTC: processed rows received and processed before this went
    deleted: int = 0
    batches: int = 0
    more: bool = False  # stopped at max_batches after a full batch: there may be more to delete
    kept_unprocessed: int = 0  # failed/pending rows older than the cutoff, kept for `webhooks replay`

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self, lang: str | None = None) -> list[str]:
        lines = [t("webhooks.pruned", lang, deleted=self.deleted, days=self.older_than_days)]
        if self.more:
            lines.append(t("webhooks.prune_more", lang))
        if self.kept_unprocessed:
            lines.append(t("webhooks.prune_kept", lang, count=self.kept_unprocessed))
        return lines


def prune_inbox(hub: Hub, older_than_days: int | None = None, *, batch_size: int = PRUNE_BATCH,
                max_batches: int | None = None, actor: str = "system") -> PruneResult:
    """Delete processed webhook deliveries older than `older_than_days` (default: the environment's
    retention) from the inbox, `batch_size` rows per transaction so a big inbox never holds a long
    lock; `max_batches` bounds one call (the rest waits for the next). Failed and pending rows are
    kept however old (they wait for `webhooks replay`; once replayed they count from then), and so
    is each company's newest delivery per provider (the status card's "last event").
    The worker calls it through `prune_inbox_if_due`."""
    days = retention_days() if older_than_days is None else older_than_days
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise HubError("webhooks.retention_invalid", name="older_than_days", value=str(days)[:40])
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cutoff = utcnow() - timedelta(days=days)
    result = PruneResult(days, cutoff.replace(tzinfo=timezone.utc).isoformat())
    while max_batches is None or result.batches < max_batches:
        with hub.session() as s:
            gone = inbox.delete_processed(s, before=cutoff, limit=batch_size)
        result.batches += 1
        result.deleted += gone
        result.more = gone == batch_size  # a full batch: there may be more
        if not result.more:
            break
    with hub.session() as s:
        result.kept_unprocessed = inbox.count_unprocessed(s, before=cutoff)
        if result.deleted:
            record_audit(s, actor=actor, action="webhook.inbox_pruned",
                         details={"deleted": result.deleted, "older_than_days": days, "cutoff": result.cutoff})
    return result


_last_prune: dict[str, float] = {}
_prune_lock = threading.Lock()


def prune_inbox_if_due(hub: Hub, *, every: timedelta = timedelta(hours=1), max_batches: int = 20,
                       clock: Callable[[], float] = time.monotonic) -> PruneResult | None:
    """For a loop such as the worker's, one line per pass: `prune_inbox_if_due(hub)`. Prunes at most
    once per `every` in this process (at most `max_batches` batches, so a pass stays short; the
    rest goes next time) and never raises: a failure (say a bad INTEGHUB_WEBHOOK_RETENTION_DAYS) is
    logged and tried again after `every`. Returns the result, or None when not due or failed.
    Several workers pruning at once is harmless: a row is deleted once."""
    key = str(hub.engine.url)
    with _prune_lock:
        now = clock()
        last = _last_prune.get(key)
        if last is not None and now - last < every.total_seconds():
            return None
        _last_prune[key] = now
    try:
        return prune_inbox(hub, max_batches=max_batches, actor="worker")
    except Exception as exc:  # noqa: BLE001 - a maintenance chore must not stop the worker
        message = exc.message("en") if isinstance(exc, HubError) else describe_failure(exc)
        log.warning("webhook inbox pruning failed: %s", message)
        return None


# --- status card -----------------------------------------------------------------------------------
def webhook_status(hub: Hub, company_id: object, provider: str) -> dict[str, Any]:
    """The provider page's status card: {registered, url, registered_at, agents, last_event_at,
    deliveries_24h (every delivery for this company, refused ones included), accepted_24h (stored,
    duplicates included), signature_failures_24h, pending_replay}."""
    cid = parse_uuid(company_id)
    provider = _provider(provider)
    since = utcnow() - timedelta(hours=24)
    with hub.session() as s:
        regs = list(s.scalars(select(WebhookRegistration).where(WebhookRegistration.company_id == cid,
                                                                WebhookRegistration.provider == provider)
                              .order_by(WebhookRegistration.registered_at.desc())))
        if provider == "calcom":
            has_secret = bool(s.scalar(select(IntegrationConfig.webhook_secret).where(
                IntegrationConfig.company_id == cid, IntegrationConfig.provider == "calcom")))
            regs = regs if has_secret else []
        last_event_at = s.scalar(select(func.max(WebhookInbox.received_at)).where(
            WebhookInbox.company_id == cid, WebhookInbox.provider == provider))
        pending = s.scalar(select(func.count()).select_from(WebhookInbox).where(
            WebhookInbox.company_id == cid, WebhookInbox.provider == provider,
            WebhookInbox.status.in_(REPLAYABLE))) or 0
        metrics = dict(s.execute(
            select(IntegrationMetric.error_code, func.count())
            .where(IntegrationMetric.company_id == cid, IntegrationMetric.provider == provider,
                   IntegrationMetric.action == "webhook", IntegrationMetric.created_at >= since)
            .group_by(IntegrationMetric.error_code)
        ).all())
    return {
        "registered": bool(regs),
        "url": regs[0].url if regs else webhook_url(hub, cid, provider),
        "registered_at": regs[0].registered_at if regs else None,
        "agents": [r.target for r in regs] if provider == "retell" else [],
        "last_event_at": last_event_at,
        "deliveries_24h": int(sum(metrics.values())),
        "accepted_24h": int(metrics.get(None, 0) + metrics.get("processing", 0)),
        "signature_failures_24h": int(metrics.get("signature", 0)),
        "pending_replay": int(pending),
    }


# --- CLI -------------------------------------------------------------------------------------------
def cli(args, hub: Hub, out) -> int:
    """`webhooks register --company --provider [--agent]`, `webhooks replay [--company] [--provider]` and
    `webhooks prune [--older-than-days N] [--json]`."""
    actor = getattr(args, "actor", None) or "cli"
    if args.action == "register":
        registration = register_webhook(hub, args.company, args.provider, agent_id=getattr(args, "agent", None),
                                        actor=actor)
        for line in registration.lines():
            out(line)
        return 0
    if args.action == "replay":
        result = replay_inbox(hub, getattr(args, "company", None), getattr(args, "provider", None), actor=actor)
        for error in result.errors:
            out(t("webhooks.replay_error", None, error=error))
        out(t("webhooks.replayed", None, attempted=result.attempted, processed=result.processed,
              failed=result.failed))
        return 1 if result.failed else 0
    if args.action == "prune":
        pruned = prune_inbox(hub, getattr(args, "older_than_days", None), actor=actor)
        if getattr(args, "json", False):
            out(json.dumps(pruned.as_json(), indent=2))
        else:
            for line in pruned.lines():
                out(line)
        return 0
    raise HubError("webhooks.unknown_action", action=args.action)

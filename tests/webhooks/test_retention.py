"""Inbox retention: `prune_inbox` and `webhooks prune` delete processed deliveries older than the
retention, batch by batch, and keep what still matters (failed/pending rows, each company's newest)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from integhub.errors import HubError
from integhub.models import AuditEvent, utcnow
from integhub.models_webhooks import INBOX_FAILED, INBOX_PENDING, INBOX_PROCESSED, WebhookInbox
from integhub.services.webhooks import prune_inbox, webhook_status
from integhub.webhooks import inbox
from tests.conftest import ROOT

from .support import make_tenant

DAY = timedelta(days=1)


def store(hub, company_id, key: str, *, age: timedelta, status: str = INBOX_PROCESSED,
          processed_age: timedelta | None = None, provider: str = "retell") -> int:
    """One inbox row received `age` ago (processed `processed_age` ago, default the same time)."""
    with hub.session() as s:
        row_id = inbox.insert_once(s, provider=provider, company_id=company_id, event_key=key, event_type="call_ended",
                                   object_id=key, body="{}", status=status)
        received = utcnow() - age
        processed = None if status != INBOX_PROCESSED else utcnow() - (processed_age if processed_age else age)
        s.execute(update(WebhookInbox).where(WebhookInbox.id == row_id)
                  .values(received_at=received, processed_at=processed))
    return row_id


def keys(hub) -> set[str]:
    with hub.session() as s:
        return set(s.scalars(select(WebhookInbox.event_key)))


def test_prune_deletes_old_processed_rows_in_batches_and_keeps_what_still_matters(hub):
    a, b = make_tenant(hub, "Praxis A").company_id, make_tenant(hub, "Praxis B").company_id
    for i in range(5):
        store(hub, a, f"a-old-{i}", age=40 * DAY + i * timedelta(minutes=1))
    store(hub, a, "a-recent", age=2 * DAY)
    store(hub, a, "a-failed", age=60 * DAY, status=INBOX_FAILED)
    store(hub, a, "a-pending", age=60 * DAY, status=INBOX_PENDING)
    store(hub, a, "a-replayed-yesterday", age=50 * DAY, processed_age=DAY)
    store(hub, b, "b-old-1", age=90 * DAY)
    store(hub, b, "b-old-newest", age=45 * DAY)  # b's newest delivery: the status card's "last event"
    store(hub, a, "a-calcom-only", age=80 * DAY, provider="calcom")

    result = prune_inbox(hub, 30, batch_size=2, actor="ops@example.com")

    assert result.deleted == 6 and result.batches == 4 and result.more is False
    assert keys(hub) == {"a-recent", "a-failed", "a-pending", "a-replayed-yesterday", "b-old-newest", "a-calcom-only"}
    assert result.kept_unprocessed == 2
    assert webhook_status(hub, b, "retell")["last_event_at"] is not None
    with hub.session() as s:
        [audit] = s.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.inbox_pruned")).all()
    assert audit.actor == "ops@example.com" and audit.details["deleted"] == 6 and audit.details["older_than_days"] == 30

    again = prune_inbox(hub, 30)
    assert again.deleted == 0 and keys(hub) == {"a-recent", "a-failed", "a-pending", "a-replayed-yesterday",
                                                "b-old-newest", "a-calcom-only"}
    with hub.session() as s:  # nothing deleted, nothing audited
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.action == "webhook.inbox_pruned")).all()) == 1


def test_max_batches_bounds_one_call_and_the_next_goes_on(hub):
    company = make_tenant(hub).company_id
    for i in range(7):
        store(hub, company, f"old-{i}", age=40 * DAY + i * timedelta(seconds=1))
    store(hub, company, "newest", age=DAY)
    first = prune_inbox(hub, 30, batch_size=3, max_batches=1)
    assert (first.deleted, first.more) == (3, True)
    assert {k for k in keys(hub) if k.startswith("old-")} == {"old-0", "old-1", "old-2", "old-3"}  # oldest first
    second = prune_inbox(hub, 30, batch_size=3)
    assert (second.deleted, second.more, keys(hub)) == (4, False, {"newest"})


def test_retention_comes_from_the_environment_and_bad_values_are_refused(hub, monkeypatch):
    company = make_tenant(hub).company_id
    store(hub, company, "ten-days", age=10 * DAY)
    store(hub, company, "newest", age=DAY)
    assert prune_inbox(hub).older_than_days == 30 and "ten-days" in keys(hub)
    monkeypatch.setenv("INTEGHUB_WEBHOOK_RETENTION_DAYS", "7")
    assert prune_inbox(hub).deleted == 1 and keys(hub) == {"newest"}
    for bad in ("0", "-3", "dreißig", "1.5"):
        monkeypatch.setenv("INTEGHUB_WEBHOOK_RETENTION_DAYS", bad)
        with pytest.raises(HubError) as refused:
            prune_inbox(hub)
        assert "INTEGHUB_WEBHOOK_RETENTION_DAYS" in refused.value.message("en")
    with pytest.raises(HubError):
        prune_inbox(hub, 0)
    assert keys(hub) == {"newest"}


def cli(env, *args):
    return subprocess.run([sys.executable, "-m", "integhub", "webhooks", "prune", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, cwd=ROOT, timeout=120)


def test_prune_from_the_cli(hub, hub_env):
    company = make_tenant(hub).company_id
    store(hub, company, "old", age=40 * DAY)
    store(hub, company, "failed", age=40 * DAY, status=INBOX_FAILED)
    store(hub, company, "newest", age=DAY)

    text = cli(hub_env, "--older-than-days", "45")
    assert text.returncode == 0, text.stderr
    assert "0 verarbeitete Webhook-Zustellungen gelöscht, die älter als 45 Tage waren" in text.stdout

    doc = cli(hub_env, "--json")
    assert doc.returncode == 0, doc.stderr
    result = json.loads(doc.stdout)
    assert (result["deleted"], result["older_than_days"], result["kept_unprocessed"]) == (1, 30, 1)
    assert keys(hub) == {"failed", "newest"}

    usage = cli(hub_env, "--older-than-days", "0")
    assert usage.returncode == 2 and "at least 1" in usage.stderr
    bad_env = cli({**hub_env, "INTEGHUB_WEBHOOK_RETENTION_DAYS": "nie"})
    assert bad_env.returncode == 1 and bad_env.stderr.startswith("error: ") and "Traceback" not in bad_env.stderr
    assert "INTEGHUB_WEBHOOK_RETENTION_DAYS=nie" in bad_env.stderr


def test_the_worker_prunes_at_most_once_an_hour_and_a_failure_never_escapes(hub, monkeypatch, caplog):
    from integhub.services import webhooks

    company = make_tenant(hub).company_id
    now = [1000.0]
    clock = lambda: now[0]  # noqa: E731 - a hand-wound clock
    monkeypatch.setattr(webhooks, "_last_prune", {})
    store(hub, company, "old", age=40 * DAY)
    store(hub, company, "newest", age=DAY)
    assert webhooks.prune_inbox_if_due(hub, clock=clock).deleted == 1

    store(hub, company, "old-2", age=40 * DAY)
    now[0] += 1800
    assert webhooks.prune_inbox_if_due(hub, clock=clock) is None  # not due yet
    monkeypatch.setenv("INTEGHUB_WEBHOOK_RETENTION_DAYS", "never")
    now[0] += 1800
    assert webhooks.prune_inbox_if_due(hub, clock=clock) is None  # logged, not raised
    assert "INTEGHUB_WEBHOOK_RETENTION_DAYS" in caplog.text
    monkeypatch.delenv("INTEGHUB_WEBHOOK_RETENTION_DAYS")
    now[0] += 3600
    assert webhooks.prune_inbox_if_due(hub, clock=clock).deleted == 1
    assert keys(hub) == {"newest"}
    with hub.session() as s:
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "webhook.inbox_pruned")))
    assert actors == {"worker"}


def test_a_running_worker_prunes_the_inbox_on_its_pass(hub, monkeypatch):
    from integhub.services import webhooks
    from integhub.worker import Worker

    company = make_tenant(hub).company_id
    monkeypatch.setattr(webhooks, "_last_prune", {})
    store(hub, company, "old", age=40 * DAY)
    store(hub, company, "newest", age=DAY)
    worker = Worker(hub, concurrency=1, poll_seconds=0.1, jitter_seconds=0)
    original = worker._dispatch

    def one_pass(pairs, listed_at):  # stop after the first pass
        handed = original(pairs, listed_at)
        worker.request_stop()
        return handed

    worker._dispatch = one_pass
    worker.run_forever()
    assert keys(hub) == {"newest"}

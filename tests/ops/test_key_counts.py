"""Secrets per key as the key-management page counts them (secret_key_counts and the changes the
triggers append): always equal to counting every stored ciphertext, whichever path wrote it."""
from __future__ import annotations

import threading
import uuid
from collections import Counter

from sqlalchemy import delete, func, insert, select, update

from integhub.crypto import KeyRing, context_for, generate_key, token_key_id, DecryptionError
from integhub.db import Hub
from integhub.models import IntegrationConfig, utcnow
from integhub.models_keys import SecretKeyCount, SecretKeyCountChange
from integhub.services import configs, keyring_view, keys, webhooks
from integhub.services.access import system_identity
from integhub.services.companies import create_company

ADMIN = system_identity()


def scanned(hub) -> Counter:
    """Written out independently: read every ciphertext and take its key id in Python."""
    counts: Counter = Counter()
    with hub.session() as s:
        for api_key, secret in s.execute(select(IntegrationConfig.api_key, IntegrationConfig.webhook_secret)):
            for value in (api_key, secret):
                if value:
                    try:
                        counts[token_key_id(value)] += 1
                    except DecryptionError:
                        counts["unrecognised"] += 1
    return counts


def shown(hub) -> Counter:
    view = keyring_view.key_ring_view(hub, ADMIN)
    counts = Counter({k.key_id: k.secrets for k in view.keys if k.secrets})
    if view.unrecognised:
        counts["unrecognised"] = view.unrecognised
    assert view.total_secrets == sum(counts.values())
    return counts


def ring(hub, keys_text: str) -> Hub:
    return Hub(hub.engine, KeyRing.from_string(keys_text), hub.settings)


def row(hub, cid, provider, key, secret=None) -> dict:
    return {"id": uuid.uuid4(), "company_id": cid, "provider": provider, "settings": {}, "is_active": True,
            "api_key": None if key is None else hub.keyring.encrypt(key, context_for(cid, provider, "api_key")),
            "webhook_secret": None if secret is None else
            hub.keyring.encrypt(secret, context_for(cid, provider, "webhook_secret")),
            "created_at": utcnow(), "updated_at": utcnow(), "version": 1}


def test_counts_follow_inserts_updates_rotation_and_deletes(hub):
    old_key, new_key = generate_key(), generate_key()
    old, new = ring(hub, old_key), ring(hub, f"{new_key},{old_key}")
    ids = [create_company(hub, f"Praxis {i}").id for i in range(6)]
    assert shown(new) == scanned(new) == Counter()

    with hub.session() as s:  # one bulk statement, as imports and the benchmark write
        s.execute(insert(IntegrationConfig), [row(old, ids[0], "calcom", "cal_live_a", "whsec_a"),
                                              row(old, ids[1], "calcom", "cal_live_b"),
                                              row(old, ids[2], "calcom", None)])
        s.add(IntegrationConfig(**row(new, ids[3], "retell", "key_d")))  # ORM insert
        s.add(IntegrationConfig(**{**row(new, ids[4], "retell", None), "api_key": "plain-legacy-value",
                                   "webhook_secret": ""}))
    assert shown(new) == scanned(new) == Counter({old.keyring.primary_id: 3, new.keyring.primary_id: 1,
                                                  "unrecognised": 1})

    with hub.session() as s:  # what a sync writes: no secret changes, nothing to count
        s.execute(update(IntegrationConfig).values(last_sync_at=utcnow(), last_error=None))
        s.execute(update(IntegrationConfig).where(IntegrationConfig.company_id == ids[1])
                  .values(webhook_secret=new.keyring.encrypt("whsec_b", context_for(ids[1], "calcom", "webhook_secret"))))
        s.execute(update(IntegrationConfig).where(IntegrationConfig.company_id == ids[0])
                  .values(api_key=None, webhook_secret=None))
    assert shown(new) == scanned(new)

    report = keyring_view.rotate(new, ADMIN, batch_size=1)
    assert report.rotated == 1 and len(report.failed) == 1  # the plaintext value cannot be re-encrypted
    assert shown(new) == scanned(new) == Counter({new.keyring.primary_id: 3, "unrecognised": 1})
    assert keyring_view.key_ring_view(new, ADMIN).needs_rotation == 1  # the unrecognised one

    with hub.session() as s:
        s.execute(delete(IntegrationConfig).where(IntegrationConfig.company_id.in_(ids[1:3])))
    assert shown(new) == scanned(new) == Counter({new.keyring.primary_id: 1, "unrecognised": 1})


def test_the_save_flow_and_webhook_registration_are_counted(hub, simulator):
    cid = create_company(hub, "Praxis Lindenhof").id
    assert configs.save_config(hub, cid, "calcom", api_key="cal_live_0123456789abcdef0123456789abcdef",
                               actor="test").ok
    assert shown(hub) == scanned(hub) == Counter({hub.keyring.primary_id: 1})
    webhooks.register_webhook(hub, cid, "calcom", actor="test")  # stores a webhook secret (Core UPDATE)
    assert shown(hub) == scanned(hub) == Counter({hub.keyring.primary_id: 2})
    assert configs.save_config(hub, cid, "calcom", api_key="cal_live_fedcba9876543210fedcba9876543210",
                               actor="test").ok  # a new key replaces the old: still two
    assert shown(hub) == scanned(hub) == Counter({hub.keyring.primary_id: 2})


def test_concurrent_saves_during_a_rotation_keep_the_counts_exact(hub, monkeypatch):
    """Saves that run while a rotation re-encrypts (and while readers fold the changes in) neither
    wait on each other in a deadlock nor get lost."""
    monkeypatch.setattr(keys, "FOLD_AFTER", 10)
    old_key, new_key = generate_key(), generate_key()
    old, new = ring(hub, old_key), ring(hub, f"{new_key},{old_key}")
    ids = [create_company(hub, f"Praxis {i}").id for i in range(60)]
    with hub.session() as s:
        s.execute(insert(IntegrationConfig), [row(old, cid, "calcom", f"cal_live_{i}", f"whsec_{i}")
                                              for i, cid in enumerate(ids)])
    errors: list[BaseException] = []

    def save_some(offset: int) -> None:
        try:
            for i, cid in enumerate(ids[offset::4]):
                with hub.session() as s:
                    s.execute(update(IntegrationConfig).where(IntegrationConfig.company_id == cid).values(
                        api_key=new.keyring.encrypt(f"cal_live_new_{i}", context_for(cid, "calcom", "api_key"))))
                shown(new)  # reads and folds in between
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    writers = [threading.Thread(target=save_some, args=(k,)) for k in range(3)]
    for w in writers:
        w.start()
    keyring_view.rotate(new, ADMIN, batch_size=5)
    for w in writers:
        w.join()
    assert not errors
    assert shown(new) == scanned(new)
    keyring_view.rotate(new, ADMIN, batch_size=5)
    assert shown(new) == scanned(new) == Counter({new.keyring.primary_id: 120})


def test_readers_fold_the_changes_into_the_counts(hub, monkeypatch):
    monkeypatch.setattr(keys, "FOLD_AFTER", 3)
    ids = [create_company(hub, f"Praxis {i}").id for i in range(5)]
    for cid in ids:  # one statement each: five changes
        with hub.session() as s:
            s.execute(insert(IntegrationConfig), [row(hub, cid, "calcom", "cal_live_x")])
    assert shown(hub) == scanned(hub) == Counter({hub.keyring.primary_id: 5})  # counted, then folded
    with hub.session() as s:
        assert s.scalar(select(func.count()).select_from(SecretKeyCountChange)) == 0
        assert s.scalar(select(SecretKeyCount.secrets)) == 5
    assert shown(hub) == scanned(hub)


def test_check_keys_repairs_counts_that_drifted(hub):
    cid = create_company(hub, "Alpha").id
    with hub.session() as s:
        s.execute(insert(IntegrationConfig), [row(hub, cid, "calcom", "cal_live_a", "whsec_a")])
    keys.fold_key_usage(hub)
    with hub.session() as s:  # as if written with the triggers switched off
        s.execute(update(SecretKeyCount).values(secrets=7))
        s.add(SecretKeyCount(key_id="deadbeef", secrets=3))
        s.add(SecretKeyCountChange(key_id="deadbeef", delta=-1))
    assert shown(hub) != scanned(hub)
    assert keyring_view.check(hub, ADMIN).ok == 2
    assert shown(hub) == scanned(hub) == Counter({hub.keyring.primary_id: 2})
    assert keys.recount_key_usage(hub) == {hub.keyring.primary_id: 2}

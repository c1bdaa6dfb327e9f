"""Key ring maintenance: re-encrypt under the primary key (rotate) and find undecryptable rows (check)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select, update

from ..crypto import CANARY_CONTEXT, CANARY_PLAINTEXT, DecryptionError, context_for, token_key_id
from ..db import Hub
from ..models import AppMeta, IntegrationConfig
from .audit import record_audit

SECRET_FIELDS = ("api_key", "webhook_secret")


@dataclass
class RotationReport:
    rotated: int = 0
    already_current: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (company_id, provider, field)


def rotate_keys(hub: Hub, *, batch_size: int = 200, actor: str = "system",
                progress: Callable[[int, int], None] | None = None) -> RotationReport:
    """Re-encrypt every secret not yet under the primary key, one batch per transaction.

    Resumable: an interrupted run leaves each row either old or new, both decryptable, and the next
    run continues with what is left. An update only applies if the row still holds the ciphertext
    that was read, so a concurrent admin save is never overwritten.
    """
    report = RotationReport()
    primary = hub.keyring.primary_id
    with hub.session() as s:
        total = s.scalar(select(func.count()).select_from(IntegrationConfig)) or 0
    last_id = None
    done = 0
    while True:
        with hub.session() as s:
            stmt = select(IntegrationConfig).order_by(IntegrationConfig.id).limit(batch_size)
            if last_id is not None:
                stmt = stmt.where(IntegrationConfig.id > last_id)
            rows = list(s.scalars(stmt))
            if not rows:
                break
            for row in rows:
                for name in SECRET_FIELDS:
                    token = getattr(row, name)
                    if not token:
                        continue
                    try:
                        if token_key_id(token) == primary:
                            report.already_current += 1
                            continue
                        ctx = context_for(row.company_id, row.provider, name)
                        fresh = hub.keyring.encrypt(hub.keyring.decrypt(token, ctx), ctx)
                    except DecryptionError:
                        report.failed.append((str(row.company_id), row.provider, name))
                        continue
                    # Core UPDATE (no version bump): rotation is not an admin edit.
                    s.execute(update(IntegrationConfig.__table__)
                              .where(IntegrationConfig.__table__.c.id == row.id,
                                     getattr(IntegrationConfig.__table__.c, name) == token)
                              .values({name: fresh}))
                    report.rotated += 1
            last_id = rows[-1].id
            done += len(rows)
            s.expunge_all()
        if progress:
            progress(done, total)
    with hub.session() as s:
        canary = s.get(AppMeta, "encryption_canary")
        fresh_canary = hub.keyring.encrypt(CANARY_PLAINTEXT, CANARY_CONTEXT)
        if canary is None:
            s.add(AppMeta(key="encryption_canary", value=fresh_canary))
        else:
            canary.value = fresh_canary
        record_audit(s, actor=actor, action="keys.rotated",
                     details={"primary_key_id": primary, "rotated": report.rotated, "failed": len(report.failed)})
    return report


@dataclass
class KeyCheckReport:
    ok: int = 0
    bad: list[tuple[str, str, str, str]] = field(default_factory=list)  # (company_id, provider, field, reason)
    by_key: Counter = field(default_factory=Counter)


def check_keys(hub: Hub) -> KeyCheckReport:
    """Try to decrypt every stored secret; report which rows fail and how many each key protects."""
    report = KeyCheckReport()
    with hub.session() as s:
        for row in s.scalars(select(IntegrationConfig).order_by(IntegrationConfig.company_id, IntegrationConfig.provider)).yield_per(500):
            for name in SECRET_FIELDS:
                token = getattr(row, name)
                if not token:
                    continue
                try:
                    kid = token_key_id(token)
                    hub.keyring.decrypt(token, context_for(row.company_id, row.provider, name))
                except DecryptionError as exc:
                    report.bad.append((str(row.company_id), row.provider, name, str(exc)))
                    continue
                report.ok += 1
                report.by_key[kid] += 1
    return report

"""Key ring maintenance: re-encrypt under the primary key (rotate) and find undecryptable rows (check)."""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, case, delete, func, insert, literal, null, or_, select, text, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from ..crypto import CANARY_CONTEXT, CANARY_PLAINTEXT, PREFIX, DecryptionError, context_for, token_key_id
from ..db import Hub
from ..models import AppMeta, IntegrationConfig
from ..models_keys import UNRECOGNISED, SecretKeyCount, SecretKeyCountChange
from .audit import record_audit

log = logging.getLogger(__name__)

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
    fold_key_usage(hub)  # two changes per re-encrypted secret: fold them now, not at the next page view
    return report


@dataclass
class KeyCheckReport:
    ok: int = 0
    bad: list[tuple[str, str, str, str]] = field(default_factory=list)  # (company_id, provider, field, reason)
    by_key: Counter = field(default_factory=Counter)


def check_keys(hub: Hub) -> KeyCheckReport:
    """Try to decrypt every stored secret; report which rows fail and how many each key protects.
    Also recounts the secrets per key that the key-management page shows (`recount_key_usage`)."""
    report = KeyCheckReport()
    recount_key_usage(hub)
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


def _key_id(dialect: str, column):
    """SQL for crypto.token_key_id of a stored value; UNRECOGNISED for other values, NULL for none.
    The same rule as the triggers of migration 0006 (PostgreSQL: its function integhub_secret_key_id)."""
    if dialect == "postgresql":
        return func.integhub_secret_key_id(column)
    rest = func.substr(column, len(PREFIX) + 2)
    return case((or_(column.is_(None), column == ""), null()),
                (and_(func.substr(column, 1, len(PREFIX) + 1) == f"{PREFIX}:", func.instr(rest, ":") > 0),
                 func.substr(rest, 1, func.instr(rest, ":") - 1)),
                else_=literal(UNRECOGNISED))


FOLD_AFTER = 500  # changes a reader adds up before it folds them into the counts
_FOLD_LOCK = 7_240_913  # PostgreSQL advisory lock: one folder (or recount) at a time


def key_usage(hub: Hub) -> dict[str, int]:
    """Secrets per key id (UNRECOGNISED: values that are not integhub ciphertexts), from the counts
    the triggers keep: one statement over a few rows per key, whatever the number of configs."""
    counts, changes = SecretKeyCount.__table__, SecretKeyCountChange.__table__
    parts = union_all(select(counts.c.key_id, counts.c.secrets.label("n"), literal(0).label("c")),
                      select(changes.c.key_id, changes.c.delta, literal(1))).subquery()
    with hub.session() as s:
        rows = s.execute(select(parts.c.key_id, func.sum(parts.c.n), func.sum(parts.c.c))
                         .group_by(parts.c.key_id)).all()
    if sum(c for _k, _n, c in rows) > FOLD_AFTER:
        fold_key_usage(hub)
    return {kid: int(n) for kid, n, _c in rows if n}


def fold_key_usage(hub: Hub) -> None:
    """Move the appended changes into the counts (concurrent saves keep appending meanwhile)."""
    with hub.session() as s:
        dialect = s.get_bind().dialect.name
        if dialect == "postgresql" and not s.scalar(select(func.pg_try_advisory_xact_lock(_FOLD_LOCK))):
            return  # another process is folding right now
        moved: Counter = Counter()
        for kid, delta in s.execute(delete(SecretKeyCountChange).returning(  # on SQLite the write lock from here
                SecretKeyCountChange.key_id, SecretKeyCountChange.delta)):
            moved[kid] += delta
        if moved:
            insert_ = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SecretKeyCount)
            stmt = insert_.values([{"key_id": k, "secrets": n} for k, n in sorted(moved.items())])
            s.execute(stmt.on_conflict_do_update(index_elements=["key_id"],
                                                 set_={"secrets": SecretKeyCount.secrets + stmt.excluded.secrets}))


def recount_key_usage(hub: Hub) -> dict[str, int]:
    """Rebuild the counts from the stored ciphertexts (one scan) and return them. The triggers keep
    them current; this repairs them should they ever have drifted (say, writes with triggers
    disabled). Concurrent saves are safe: on PostgreSQL the change table is locked first, so a save
    either committed before the scan (and is counted by it) or appends its change after it."""
    cfg = IntegrationConfig.__table__
    before = key_usage(hub)
    with hub.session() as s:
        dialect = s.get_bind().dialect.name
        if dialect == "postgresql":
            s.execute(select(func.pg_advisory_xact_lock(_FOLD_LOCK)))
            s.execute(text("LOCK TABLE secret_key_count_changes IN SHARE ROW EXCLUSIVE MODE"))
        s.execute(delete(SecretKeyCountChange))  # on SQLite the first write: no other writer until the commit
        s.execute(delete(SecretKeyCount))
        tokens = union_all(*(select(_key_id(dialect, column).label("kid"))
                             for column in (cfg.c.api_key, cfg.c.webhook_secret))).subquery()
        s.execute(insert(SecretKeyCount).from_select(
            ["key_id", "secrets"],
            select(tokens.c.kid, func.count()).where(tokens.c.kid.is_not(None)).group_by(tokens.c.kid)))
        after = {kid: int(n) for kid, n in s.execute(select(SecretKeyCount.key_id, SecretKeyCount.secrets))}
    if before != after:
        log.warning("secret counts per key were off and have been recounted (%d keys)", len(after))
    return after

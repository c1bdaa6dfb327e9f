"""The key ring as the key-management page shows it: which key encrypts, how many secrets each key
still protects, rotation with progress, and the result of `check-keys`. Admins for all companies only.

Counting per key reads only the key id in each ciphertext's prefix (``ih1:<key id>:…``), in SQL,
without decrypting anything; `check` decrypts every secret and so proves the ring really works.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import String, cast, func, null, select, union_all

from ..crypto import PREFIX
from ..db import Hub
from ..models import IntegrationConfig
from . import keys
from .access import Identity, require

PERMISSION = "keys.manage"
_KEY_ID_START = len(PREFIX) + 2  # 1-based SQL position after "ih1:"
_KEY_ID_LEN = 8


@dataclass
class KeyInfo:
    key_id: str
    position: int | None  # index in INTEGHUB_ENCRYPTION_KEYS; None: not in the ring (cannot decrypt)
    primary: bool
    secrets: int


@dataclass
class KeyRingView:
    primary_id: str
    keys: list[KeyInfo]
    total_secrets: int
    needs_rotation: int  # secrets not under the primary key
    not_in_ring: int  # secrets under a key the ring does not hold (decryption will fail)
    unrecognised: int = 0  # values that are not integhub ciphertexts at all


def key_ring_view(hub: Hub, identity: Identity) -> KeyRingView:
    require(identity, PERMISSION)
    cfg = IntegrationConfig.__table__
    parts = []
    for column in (cfg.c.api_key, cfg.c.webhook_secret):
        kid = func.substr(column, _KEY_ID_START, _KEY_ID_LEN)
        ours = column.like(f"{PREFIX}:%")
        parts.append(select(kid.label("kid")).where(column.is_not(None), column != "", ours))
        parts.append(select(cast(null(), String(_KEY_ID_LEN)).label("kid"))
                     .where(column.is_not(None), column != "", ~ours))
    tokens = union_all(*parts).subquery()
    with hub.session() as s:
        per_key = {kid: n for kid, n in s.execute(select(tokens.c.kid, func.count()).group_by(tokens.c.kid))}
    unrecognised = per_key.pop(None, 0)
    ring = hub.keyring.key_ids
    infos = [KeyInfo(k, i, i == 0, per_key.get(k, 0)) for i, k in enumerate(ring)]
    infos += [KeyInfo(k, None, False, n) for k, n in sorted(per_key.items()) if k not in ring]
    total = sum(per_key.values()) + unrecognised
    primary = hub.keyring.primary_id
    return KeyRingView(primary, infos, total, needs_rotation=total - per_key.get(primary, 0),
                       not_in_ring=sum(i.secrets for i in infos if i.position is None), unrecognised=unrecognised)


@dataclass
class CheckResult:
    ok: int
    bad: list[tuple[str, str, str, str]] = field(default_factory=list)  # company, provider, field, reason
    by_key: dict[str, int] = field(default_factory=dict)


def check(hub: Hub, identity: Identity) -> CheckResult:
    """`check-keys`: decrypt every stored secret and list those the ring cannot decrypt."""
    require(identity, PERMISSION)
    report = keys.check_keys(hub)
    return CheckResult(report.ok, list(report.bad), dict(report.by_key))


def rotate(hub: Hub, identity: Identity, *, batch_size: int = 200,
           progress: Callable[[int, int], None] | None = None) -> keys.RotationReport:
    """Re-encrypt everything under the primary key (resumable), audited with the admin's name."""
    require(identity, PERMISSION)
    return keys.rotate_keys(hub, batch_size=batch_size, actor=identity.actor, progress=progress)

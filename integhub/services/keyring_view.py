"""The key ring as the key-management page shows it: which key encrypts, how many secrets each key
still protects, rotation with progress, and the result of `check-keys`. Admins for all companies only.

The count per key comes from `secret_key_counts` (integhub/models_keys.py, keys.key_usage): a few
rows per key id, kept current by database triggers on every write of a ciphertext, so the page
reads a handful of rows whatever the size of the fleet. `check` decrypts every secret, so it proves the ring really
works, and recounts the table from the ciphertexts (keys.check_keys).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..db import Hub
from ..models_keys import UNRECOGNISED
from . import keys
from .access import Identity, require

PERMISSION = "keys.manage"


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
    per_key = keys.key_usage(hub)
    unrecognised = per_key.pop(UNRECOGNISED, 0)
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

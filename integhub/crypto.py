"""Authenticated encryption of stored secrets (AES-256-GCM from `cryptography`).

A ciphertext looks like ``ih1:<key id>:<base64url(nonce || ciphertext+tag)>``. The key id says which
key of the ring made it, so several keys can decrypt while the first one encrypts. The associated
data binds the ciphertext to its row and field (``integration_configs:<company>:<provider>:api_key``),
so a value copied into another row or column fails to decrypt instead of leaking a foreign key.
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "ih1"
CANARY_CONTEXT = "app_meta:encryption_canary"
CANARY_PLAINTEXT = "integhub-canary"


class CryptoError(Exception):
    """Base class; messages never contain key material or plaintext."""


class KeyRingError(CryptoError):
    pass


class DecryptionError(CryptoError):
    pass


def generate_key() -> str:
    """A new 256-bit key as URL-safe base64 (what INTEGHUB_ENCRYPTION_KEYS holds)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")


def _decode_key(text: str) -> bytes:
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise KeyRingError("An encryption key is not 32 bytes of URL-safe base64 (use `python -m integhub generate-key`).")
    return raw


def key_id(raw: bytes) -> str:
    return hashlib.sha256(b"integhub-key-id:" + raw).hexdigest()[:8]


def context_for(company_id: object, provider: str, field: str) -> str:
    return f"integration_configs:{company_id}:{provider}:{field}"


@dataclass(frozen=True)
class _Key:
    id: str
    aead: AESGCM

    def __repr__(self) -> str:
        return f"_Key(id={self.id!r})"


class KeyRing:
    """First key encrypts; every key decrypts."""

    def __init__(self, keys: list[bytes]):
        if not keys:
            raise KeyRingError("The key ring is empty.")
        self._keys = [_Key(key_id(k), AESGCM(k)) for k in keys]
        self._by_id = {k.id: k for k in self._keys}
        if len(self._by_id) != len(self._keys):
            raise KeyRingError("The key ring contains the same key twice.")

    @classmethod
    def from_string(cls, text: str) -> "KeyRing":
        parts = [p for p in (s.strip() for s in text.split(",")) if p]
        return cls([_decode_key(p) for p in parts])

    @property
    def primary_id(self) -> str:
        return self._keys[0].id

    @property
    def key_ids(self) -> list[str]:
        return [k.id for k in self._keys]

    def __repr__(self) -> str:
        return f"KeyRing(ids={self.key_ids})"

    def encrypt(self, plaintext: str, context: str) -> str:
        key = self._keys[0]
        nonce = os.urandom(12)
        ct = key.aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return f"{PREFIX}:{key.id}:{base64.urlsafe_b64encode(nonce + ct).decode('ascii')}"

    def decrypt(self, token: str, context: str) -> str:
        kid = token_key_id(token)
        key = self._by_id.get(kid)
        if key is None:
            raise DecryptionError(f"No key with id {kid} is in the key ring.")
        try:
            blob = base64.urlsafe_b64decode(token.split(":", 2)[2])
            pt = key.aead.decrypt(blob[:12], blob[12:], context.encode("utf-8"))
        except (InvalidTag, ValueError, IndexError) as exc:
            raise DecryptionError("The ciphertext was altered or belongs to another row or field.") from exc
        return pt.decode("utf-8")


def token_key_id(token: str) -> str:
    parts = token.split(":", 2) if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != PREFIX:
        raise DecryptionError("The value is not an integhub ciphertext.")
    return parts[1]


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible label for a secret (for audit rows and the UI)."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


def mask(secret: str) -> str:
    """`cal_…3f9a`: the provider prefix (if any) and the last four characters."""
    head = ""
    if "_" in secret[:10]:
        head = secret[: secret.index("_") + 1]
        if secret.startswith(("cal_live_", "cal_test_")):
            head = secret[:9]
    tail = secret[-4:] if len(secret) >= 12 else ""
    return f"{head}…{tail}"


def load_key_ring(env_value: str | None, key_file: Path) -> tuple[KeyRing, str | None]:
    """Key ring from INTEGHUB_ENCRYPTION_KEYS, else from the generated key file.

    Returns the ring and, when a key file was just created, a notice saying where it lives.
    """
    if env_value:
        return KeyRing.from_string(env_value), None
    notice = None
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_key() + "\n")
        notice = f"Generated a new encryption key in {key_file} (mode 0600). Back it up: without it stored keys cannot be decrypted."
    return KeyRing.from_string(key_file.read_text()), notice

"""Validators for everything an admin types. Each raises ValidationFailed with a catalogue key."""
from __future__ import annotations

import re
import unicodedata

from .errors import ValidationFailed

MAX_KEY_LENGTH = 512
SYNC_INTERVALS = (15, 30, 60, 1440)
TEAM_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
COMPANY_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
REMOTE_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_BEARER = re.compile(r"^bearer(\s+|$)", re.IGNORECASE)


def normalize_api_key(raw: object, *, required_prefix: str | None = None, field: str = "api_key") -> str:
    """Strip whitespace and a pasted `Bearer ` prefix; reject what cannot be a key."""
    if not isinstance(raw, str):
        raise ValidationFailed(field, "validation.key_empty")
    key = _BEARER.sub("", raw.strip()).strip()
    if not key:
        raise ValidationFailed(field, "validation.key_empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(field, "validation.key_too_long", max=MAX_KEY_LENGTH)
    if any(ch.isspace() or unicodedata.category(ch)[0] in ("C", "Z") for ch in key):
        raise ValidationFailed(field, "validation.key_whitespace")
    if required_prefix and not key.startswith(required_prefix):
        raise ValidationFailed(field, "validation.key_prefix", prefix=required_prefix)
    return key


def normalize_team_slug(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationFailed("team_slug", "validation.team_slug")
    slug = raw.strip()
    if not slug:
        return None
    if not TEAM_SLUG_RE.fullmatch(slug):
        raise ValidationFailed("team_slug", "validation.team_slug")
    return slug


def normalize_interval(raw: object) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationFailed("sync_interval", "validation.interval") from None
    if value not in SYNC_INTERVALS:
        raise ValidationFailed("sync_interval", "validation.interval")
    return value


def normalize_bool(raw: object, field: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
        return raw.strip().lower() in ("true", "1", "yes", "on")
    raise ValidationFailed(field, "validation.boolean")


def normalize_positive_int(raw: object, field: str) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValidationFailed(field, "validation.positive_int")
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(field, "validation.positive_int") from None
    if value <= 0 or value > 2**53:
        raise ValidationFailed(field, "validation.positive_int")
    return value


def normalize_remote_id(raw: object, field: str) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str) or not REMOTE_ID_RE.fullmatch(raw.strip()):
        raise ValidationFailed(field, "validation.remote_id")
    return raw.strip()


def normalize_name(raw: object, field: str = "name", max_len: int = 255) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed(field, "validation.name_required")
    name = " ".join(raw.split())
    if len(name) > max_len or any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValidationFailed(field, "validation.name_invalid", max=max_len)
    return name


def normalize_email(raw: object, field: str = "email") -> str:
    if not isinstance(raw, str):
        raise ValidationFailed(field, "validation.email")
    email = raw.strip()
    if len(email) > 320 or not EMAIL_RE.fullmatch(email):
        raise ValidationFailed(field, "validation.email")
    return email


def slugify(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.replace("ß", "ss")).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:100]
    return slug or "company"


def normalize_company_slug(raw: object) -> str:
    if not isinstance(raw, str) or not COMPANY_SLUG_RE.fullmatch(raw.strip()):
        raise ValidationFailed("slug", "validation.company_slug")
    return raw.strip()

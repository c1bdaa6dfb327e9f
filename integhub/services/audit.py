"""Append-only audit trail. Details never contain secret values (fingerprints only)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from ..models import AuditEvent


def record_audit(session: Session, *, actor: str, action: str, company_id: uuid.UUID | None = None,
                 provider: str | None = None, details: dict[str, Any] | None = None,
                 old_fingerprint: str | None = None, new_fingerprint: str | None = None) -> AuditEvent:
    event = AuditEvent(actor=actor or "unknown", action=action, company_id=company_id, provider=provider,
                       details=details or {}, old_key_fingerprint=old_fingerprint,
                       new_key_fingerprint=new_fingerprint)
    session.add(event)
    return event


def settings_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: {"old": old.get(k), "new": new.get(k)} for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}

"""Reading the audit trail: who changed what and when — filtered and paginated in SQL, CSV export.

Rows carry key fingerprints only (the trail never holds a secret). A person sees the events of the
companies their role covers; installation-wide events (key rotation, global role changes) only
with a role for all companies.
"""
from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, false, func, select

from ..db import Hub
from ..models import AuditEvent, Company
from .access import Identity, require_any
from .companies import parse_uuid

PERMISSION = "audit.view"
CSV_COLUMNS = ("created_at", "actor", "company_id", "company", "provider", "action", "summary",
               "old_key_fingerprint", "new_key_fingerprint", "details")


@dataclass
class AuditFilter:
    company_id: uuid.UUID | str | None = None
    provider: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("config.")
    actor: str | None = None  # substring, case-insensitive
    since: date | datetime | None = None  # inclusive
    until: date | datetime | None = None  # inclusive (a date means the whole day)


@dataclass
class AuditRow:
    id: int
    created_at: datetime
    actor: str
    company_id: uuid.UUID | None
    company: str | None
    provider: str | None
    action: str
    summary: str
    old_key_fingerprint: str | None
    new_key_fingerprint: str | None
    details: dict[str, Any]


@dataclass
class AuditPage:
    rows: list[AuditRow]
    total: int
    limit: int
    offset: int


def _bounds(value: date | datetime | None, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value + timedelta(days=1), time.min) if end else datetime.combine(value, time.min)


def _filtered(stmt: Select, identity: Identity, flt: AuditFilter) -> Select:
    scope = identity.company_scope(PERMISSION)
    if scope is not None:
        stmt = stmt.where(AuditEvent.company_id.in_(sorted(scope))) if scope else stmt.where(false())
    if flt.company_id not in (None, ""):
        stmt = stmt.where(AuditEvent.company_id == parse_uuid(flt.company_id))
    if flt.provider:
        stmt = stmt.where(AuditEvent.provider == flt.provider)
    if flt.action:
        action = flt.action.strip()
        stmt = stmt.where(AuditEvent.action.like(action.replace("%", r"\%").replace("_", r"\_") + "%", escape="\\")
                          if action.endswith(".") else AuditEvent.action == action)
    if flt.actor and flt.actor.strip():
        needle = flt.actor.strip().lower().replace("%", r"\%").replace("_", r"\_")
        stmt = stmt.where(func.lower(AuditEvent.actor).like(f"%{needle}%", escape="\\"))
    since, until = _bounds(flt.since, end=False), _bounds(flt.until, end=True)
    if since is not None:
        stmt = stmt.where(AuditEvent.created_at >= since)
    if until is not None:
        whole_day = not isinstance(flt.until, datetime)  # a date: up to the end of that day
        stmt = stmt.where(AuditEvent.created_at < until if whole_day else AuditEvent.created_at <= until)
    return stmt


def _row(event: AuditEvent, company: str | None) -> AuditRow:
    details = dict(event.details or {})
    return AuditRow(event.id, event.created_at, event.actor, event.company_id, company, event.provider,
                    event.action, summarize(event.action, details, event.old_key_fingerprint,
                                            event.new_key_fingerprint),
                    event.old_key_fingerprint, event.new_key_fingerprint, details)


def query_audit(hub: Hub, identity: Identity, flt: AuditFilter | None = None, *, limit: int = 50,
                offset: int = 0) -> AuditPage:
    """One page of events, newest first, and the total matching the filter."""
    require_any(identity, PERMISSION)
    flt = flt or AuditFilter()
    limit = max(1, min(int(limit), 1000))
    offset = max(0, int(offset))
    base = select(AuditEvent, Company.name).outerjoin(Company, Company.id == AuditEvent.company_id)
    stmt = _filtered(base, identity, flt).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    count = _filtered(select(func.count()).select_from(AuditEvent), identity, flt)
    with hub.session() as s:
        rows = [_row(e, name) for e, name in s.execute(stmt.limit(limit).offset(offset))]
        return AuditPage(rows, s.scalar(count) or 0, limit, offset)


def action_names(hub: Hub, identity: Identity) -> list[str]:
    """Distinct actions present (for the filter), with their families ("config.") first."""
    require_any(identity, PERMISSION)
    with hub.session() as s:
        names = sorted(s.scalars(select(AuditEvent.action).distinct()))
    families = sorted({n.split(".", 1)[0] + "." for n in names if "." in n})
    return families + names


def _csv_safe(value: Any) -> str:
    """Spreadsheet apps execute cells starting with = + - @: quote them (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(hub: Hub, identity: Identity, flt: AuditFilter | None = None, *, max_rows: int = 100_000) -> str:
    """Every matching event (up to max_rows, newest first) as CSV text."""
    require_any(identity, PERMISSION)
    flt = flt or AuditFilter()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    base = select(AuditEvent, Company.name).outerjoin(Company, Company.id == AuditEvent.company_id)
    stmt = _filtered(base, identity, flt).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(max_rows)
    with hub.session() as s:
        for event, name in s.execute(stmt.execution_options(yield_per=1000)):
            r = _row(event, name)
            writer.writerow([_csv_safe(v) for v in (
                r.created_at.isoformat(sep=" ", timespec="seconds"), r.actor, r.company_id or "", r.company or "",
                r.provider or "", r.action, r.summary, r.old_key_fingerprint or "", r.new_key_fingerprint or "",
                json.dumps(r.details, sort_keys=True, default=str, ensure_ascii=False))])
    return buf.getvalue()


def _short(value: Any) -> str:
    if value is None or value == "":
        return "–"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def summarize(action: str, details: dict[str, Any], old_fp: str | None = None, new_fp: str | None = None) -> str:
    """One line a person can read: the settings diff, the key change (fingerprints), the role, …"""
    parts: list[str] = []
    if old_fp != new_fp and (old_fp or new_fp):
        parts.append(f"key {old_fp or '–'} → {new_fp or '–'}")
    diff = details.get("settings")
    if isinstance(diff, dict):
        for name, change in sorted(diff.items()):
            if isinstance(change, dict) and ("old" in change or "new" in change):
                parts.append(f"{name}: {_short(change.get('old'))} → {_short(change.get('new'))}")
    if action.startswith("role."):
        parts.append(f"{details.get('user')} {details.get('role')} ({details.get('scope', 'all')})")
    elif action.startswith("sync"):
        for k in ("trigger", "success", "records_synced", "error_code"):
            if k in details:
                parts.append(f"{k}={details[k]}")
    elif action == "keys.rotated":
        parts.append(f"primary={details.get('primary_key_id')} rotated={details.get('rotated')} "
                     f"failed={details.get('failed')}")
    if not parts:
        skip = {"settings", "key_changed"}
        parts = [f"{k}={_short(v)}" for k, v in sorted(details.items()) if k not in skip and not isinstance(v, (dict, list))]
    return "; ".join(parts)


__all__ = ["AuditFilter", "AuditPage", "AuditRow", "action_names", "export_csv", "query_audit", "summarize"]

"""Mappings of discovered Cal.com objects to the company's own records (the spec's auto-discovery).

- Cal.com users map to staff by email: trimmed and case-insensitive.
- Event types map to a branch when the company has exactly one active branch; with several they
  stay unmapped for an admin.
- A mapping an admin set by hand (`*_mapped_manually`) is never overwritten by discovery.

The sync engine calls `auto_map_users` / `auto_map_event_types` inside its own transaction; the
mapping editors of the UI call `list_*` and `set_*` (through `integhub.services.guarded`).
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..db import Hub
from ..errors import NotFound, ValidationFailed
from ..models import Branch, CalcomEventType, CalcomUser, Company, Staff
from .audit import record_audit
from .companies import parse_uuid

# `set_*` values: a staff/branch id maps by hand, None unmaps by hand, AUTO hands the row back to discovery.
AUTO = "auto"


def _email_key(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip().lower() or None


# --- discovery (runs inside the sync's transaction) ----------------------------------------------
def auto_map_users(session: Session, company_id: uuid.UUID) -> int:
    """Map every Cal.com user not mapped by hand to the staff member with the same email (or to
    nobody when none matches). Returns how many rows changed."""
    staff_by_email: dict[str, uuid.UUID] = {}
    for staff_id, email, active in session.execute(
        select(Staff.id, Staff.email, Staff.is_active).where(Staff.company_id == company_id)
        .order_by(Staff.is_active.desc(), Staff.name, Staff.id)
    ):
        key = _email_key(email)
        if key and key not in staff_by_email:  # an active member wins over an inactive one with the same email
            staff_by_email[key] = staff_id
    changed = 0
    for remote_id, email, current in session.execute(
        select(CalcomUser.remote_id, CalcomUser.email, CalcomUser.staff_id)
        .where(CalcomUser.company_id == company_id, CalcomUser.staff_mapped_manually.is_(False))
    ):
        wanted = staff_by_email.get(_email_key(email) or "")
        if wanted != current:
            session.execute(update(CalcomUser).where(CalcomUser.company_id == company_id,
                                                     CalcomUser.remote_id == remote_id,
                                                     CalcomUser.staff_mapped_manually.is_(False))
                            .values(staff_id=wanted))
            changed += 1
    return changed


def auto_map_event_types(session: Session, company_id: uuid.UUID) -> int:
    """With exactly one active branch, map every event type not mapped by hand to it."""
    branches = session.scalars(select(Branch.id).where(Branch.company_id == company_id,
                                                       Branch.is_active.is_(True)).limit(2)).all()
    if len(branches) != 1:
        return 0  # several (or no) branches: an admin decides
    result = session.execute(
        update(CalcomEventType)
        .where(CalcomEventType.company_id == company_id, CalcomEventType.branch_mapped_manually.is_(False),
               (CalcomEventType.branch_id.is_(None)) | (CalcomEventType.branch_id != branches[0]))
        .values(branch_id=branches[0])
        .execution_options(preserve_rowcount=True, synchronize_session=False)
    )
    return max(result.rowcount, 0)


def apply_auto_mappings(hub: Hub, company_id: object) -> dict[str, int]:
    """Re-run discovery mapping now, e.g. after staff or branches changed (no provider call)."""
    cid = parse_uuid(company_id)
    with hub.session() as s:
        _company(s, cid)
        return {"users": auto_map_users(s, cid), "event_types": auto_map_event_types(s, cid)}


# --- the UI's mapping editors ----------------------------------------------------------------------
@dataclass(frozen=True)
class UserMapping:
    remote_id: int
    name: str | None
    email: str | None
    username: str | None
    role: str | None
    staff_id: uuid.UUID | None
    staff_name: str | None
    manual: bool
    deleted: bool


@dataclass(frozen=True)
class EventTypeMapping:
    remote_id: int
    title: str
    slug: str | None
    length_minutes: int | None
    team_id: int | None
    branch_id: uuid.UUID | None
    branch_name: str | None
    manual: bool
    deleted: bool


def _company(session: Session, cid: uuid.UUID) -> Company:
    company = session.get(Company, cid)
    if company is None:
        raise NotFound("hub.company_not_found")
    return company


def list_user_mappings(hub: Hub, company_id: object, *, include_deleted: bool = False) -> list[UserMapping]:
    cid = parse_uuid(company_id)
    with hub.session() as s:
        _company(s, cid)
        q = (select(CalcomUser, Staff.name).outerjoin(Staff, Staff.id == CalcomUser.staff_id)
             .where(CalcomUser.company_id == cid).order_by(func.lower(CalcomUser.name), CalcomUser.remote_id))
        if not include_deleted:
            q = q.where(CalcomUser.deleted_at.is_(None))
        return [UserMapping(u.remote_id, u.name, u.email, u.username, u.role, u.staff_id, staff_name,
                            bool(u.staff_mapped_manually), u.deleted_at is not None)
                for u, staff_name in s.execute(q)]


def list_event_type_mappings(hub: Hub, company_id: object, *, include_deleted: bool = False) -> list[EventTypeMapping]:
    cid = parse_uuid(company_id)
    with hub.session() as s:
        _company(s, cid)
        q = (select(CalcomEventType, Branch.name).outerjoin(Branch, Branch.id == CalcomEventType.branch_id)
             .where(CalcomEventType.company_id == cid).order_by(func.lower(CalcomEventType.title),
                                                                 CalcomEventType.remote_id))
        if not include_deleted:
            q = q.where(CalcomEventType.deleted_at.is_(None))
        return [EventTypeMapping(e.remote_id, e.title, e.slug, e.length_minutes, e.team_id, e.branch_id, branch_name,
                                 bool(e.branch_mapped_manually), e.deleted_at is not None)
                for e, branch_name in s.execute(q)]


def staff_options(hub: Hub, company_id: object) -> list[tuple[uuid.UUID, str]]:
    """(id, "Name <email>") of the company's active staff, for the user mapping editor."""
    cid = parse_uuid(company_id)
    with hub.session() as s:
        rows = s.execute(select(Staff.id, Staff.name, Staff.email)
                         .where(Staff.company_id == cid, Staff.is_active.is_(True)).order_by(Staff.name)).all()
    return [(sid, f"{name} <{email}>") for sid, name, email in rows]


def branch_options(hub: Hub, company_id: object) -> list[tuple[uuid.UUID, str]]:
    cid = parse_uuid(company_id)
    with hub.session() as s:
        rows = s.execute(select(Branch.id, Branch.name)
                         .where(Branch.company_id == cid, Branch.is_active.is_(True)).order_by(Branch.name)).all()
    return [(bid, name) for bid, name in rows]


def _target(value: Any, field: str) -> uuid.UUID | None | str:
    if value is None or value == AUTO:
        return value
    return parse_uuid(value, field)


def _remote_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed("remote_id", "mapping.unknown_remote") from None


def set_user_mappings(hub: Hub, company_id: object, changes: Mapping[Any, Any], *, actor: str) -> int:
    """Map Cal.com users (by remote id) to staff by hand: {remote_id: staff_id | None | AUTO}.

    Checks everything first (unknown user, staff of another company → nothing is written), then
    writes all changes and one audit row per changed mapping with the admin's name. Returns the
    number of changed mappings.
    """
    cid = parse_uuid(company_id)
    wanted = {_remote_id(k): _target(v, "staff") for k, v in changes.items()}
    with hub.session() as s:
        _company(s, cid)
        users = {u.remote_id: u for u in s.scalars(select(CalcomUser).where(CalcomUser.company_id == cid,
                                                                              CalcomUser.remote_id.in_(list(wanted))))}
        staff_ids = {v for v in wanted.values() if isinstance(v, uuid.UUID)}
        staff = {st.id: st for st in s.scalars(select(Staff).where(Staff.id.in_(staff_ids)))} if staff_ids else {}
        for remote_id, target in wanted.items():
            if remote_id not in users:
                raise ValidationFailed("remote_id", "mapping.unknown_remote")
            if isinstance(target, uuid.UUID) and (target not in staff or staff[target].company_id != cid):
                raise ValidationFailed("staff", "mapping.foreign_staff")
        changed = 0
        for remote_id, target in wanted.items():
            user = users[remote_id]
            old = {"staff_id": str(user.staff_id) if user.staff_id else None, "manual": bool(user.staff_mapped_manually)}
            if target == AUTO:
                user.staff_mapped_manually = False
            else:
                user.staff_id, user.staff_mapped_manually = target, True
            s.flush()
            if target == AUTO:
                auto_map_users(s, cid)
                s.refresh(user)
            new = {"staff_id": str(user.staff_id) if user.staff_id else None, "manual": bool(user.staff_mapped_manually)}
            if new != old:
                changed += 1
                record_audit(s, actor=actor, action="mapping.user_staff", company_id=cid, provider="calcom",
                             details={"remote_user_id": remote_id, "email": user.email, "old": old, "new": new})
        return changed


def set_event_type_mappings(hub: Hub, company_id: object, changes: Mapping[Any, Any], *, actor: str) -> int:
    """Map Cal.com event types (by remote id) to branches by hand: {remote_id: branch_id | None | AUTO}."""
    cid = parse_uuid(company_id)
    wanted = {_remote_id(k): _target(v, "branch") for k, v in changes.items()}
    with hub.session() as s:
        _company(s, cid)
        types = {e.remote_id: e for e in s.scalars(select(CalcomEventType).where(
            CalcomEventType.company_id == cid, CalcomEventType.remote_id.in_(list(wanted))))}
        branch_ids = {v for v in wanted.values() if isinstance(v, uuid.UUID)}
        branches = {b.id: b for b in s.scalars(select(Branch).where(Branch.id.in_(branch_ids)))} if branch_ids else {}
        for remote_id, target in wanted.items():
            if remote_id not in types:
                raise ValidationFailed("remote_id", "mapping.unknown_remote")
            if isinstance(target, uuid.UUID) and (target not in branches or branches[target].company_id != cid):
                raise ValidationFailed("branch", "mapping.foreign_branch")
        changed = 0
        for remote_id, target in wanted.items():
            et = types[remote_id]
            old = {"branch_id": str(et.branch_id) if et.branch_id else None, "manual": bool(et.branch_mapped_manually)}
            if target == AUTO:
                et.branch_id, et.branch_mapped_manually = None, False  # discovery decides afresh
            else:
                et.branch_id, et.branch_mapped_manually = target, True
            s.flush()
            if target == AUTO:
                auto_map_event_types(s, cid)
                s.refresh(et)
            new = {"branch_id": str(et.branch_id) if et.branch_id else None, "manual": bool(et.branch_mapped_manually)}
            if new != old:
                changed += 1
                record_audit(s, actor=actor, action="mapping.event_type_branch", company_id=cid, provider="calcom",
                             details={"remote_event_type_id": remote_id, "title": et.title, "old": old, "new": new})
        return changed

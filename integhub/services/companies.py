"""Companies, branches and staff: the host tables the spec assumes."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from ..db import Hub
from ..errors import NotFound, ValidationFailed
from ..models import Branch, Company, Staff
from ..validation import normalize_company_slug, normalize_email, normalize_name, slugify
from .audit import record_audit


def parse_uuid(value: object, field: str = "company") -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        raise ValidationFailed(field, "validation.uuid") from None


def get_company(hub: Hub, company_id: object) -> Company:
    cid = parse_uuid(company_id)
    with hub.session() as s:
        company = s.get(Company, cid)
        if company is None:
            raise NotFound("hub.company_not_found")
        return company


def create_company(hub: Hub, name: str, slug: str | None = None, *, timezone: str = "Europe/Berlin",
                   actor: str = "system") -> Company:
    name = normalize_name(name)
    slug = normalize_company_slug(slug) if slug else slugify(name)
    try:
        with hub.session() as s:
            company = Company(name=name, slug=slug, timezone=timezone)
            s.add(company)
            s.flush()
            record_audit(s, actor=actor, action="company.created", company_id=company.id,
                         details={"name": name, "slug": slug})
            return company
    except IntegrityError:
        raise ValidationFailed("slug", "validation.slug_taken", slug=slug) from None


def update_company(hub: Hub, company_id: object, *, name: str | None = None, timezone: str | None = None,
                   actor: str = "system") -> Company:
    cid = parse_uuid(company_id)
    with hub.session() as s:
        company = s.get(Company, cid)
        if company is None:
            raise NotFound("hub.company_not_found")
        changes = {}
        if name is not None and normalize_name(name) != company.name:
            changes["name"] = {"old": company.name, "new": normalize_name(name)}
            company.name = normalize_name(name)
        if timezone is not None and timezone != company.timezone:
            _check_timezone(timezone)
            changes["timezone"] = {"old": company.timezone, "new": timezone}
            company.timezone = timezone
        if changes:
            record_audit(s, actor=actor, action="company.updated", company_id=cid, details=changes)
        return company


def _check_timezone(tz: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed("timezone", "validation.timezone") from None


@dataclass
class CompanyPage:
    rows: list[Company]
    total: int


def list_companies(hub: Hub, search: str = "", *, limit: int = 50, offset: int = 0,
                   ids: list[uuid.UUID] | None = None) -> CompanyPage:
    """Companies by name, filtered in SQL and paginated (the picker at 10,000 companies)."""
    stmt = select(Company)
    count = select(func.count()).select_from(Company)
    if search.strip():
        like = f"%{search.strip().lower()}%"
        cond = or_(func.lower(Company.name).like(like), func.lower(Company.slug).like(like))
        stmt, count = stmt.where(cond), count.where(cond)
    if ids is not None:
        stmt, count = stmt.where(Company.id.in_(ids)), count.where(Company.id.in_(ids))
    with hub.session() as s:
        rows = list(s.scalars(stmt.order_by(Company.name, Company.id).limit(limit).offset(offset)))
        return CompanyPage(rows, s.scalar(count) or 0)


def remap_discovery(s, cid: uuid.UUID) -> None:
    """Discovery mapping follows staff and branch changes at once (not only at the next sync);
    mappings an admin set by hand stay as they are."""
    from .mappings import auto_map_event_types, auto_map_users

    s.flush()
    auto_map_users(s, cid)
    auto_map_event_types(s, cid)


def _require_company(s, cid: uuid.UUID) -> None:
    if s.get(Company, cid) is None:
        raise NotFound("hub.company_not_found")


def create_branch(hub: Hub, company_id: object, name: str, *, actor: str = "system") -> Branch:
    cid = parse_uuid(company_id)
    name = normalize_name(name)
    with hub.session() as s:
        _require_company(s, cid)
        branch = Branch(company_id=cid, name=name, is_active=True)
        s.add(branch)
        s.flush()
        record_audit(s, actor=actor, action="branch.created", company_id=cid, details={"branch_id": str(branch.id), "name": name})
        remap_discovery(s, cid)
        return branch


def update_branch(hub: Hub, branch_id: object, *, name: str | None = None, is_active: bool | None = None,
                  actor: str = "system") -> Branch:
    bid = parse_uuid(branch_id, "branch")
    with hub.session() as s:
        branch = s.get(Branch, bid)
        if branch is None:
            raise NotFound("hub.branch_not_found")
        if name is not None:
            branch.name = normalize_name(name)
        if is_active is not None:
            branch.is_active = bool(is_active)
        record_audit(s, actor=actor, action="branch.updated", company_id=branch.company_id,
                     details={"branch_id": str(bid), "name": branch.name, "is_active": branch.is_active})
        remap_discovery(s, branch.company_id)
        return branch


def list_branches(hub: Hub, company_id: object) -> list[Branch]:
    cid = parse_uuid(company_id)
    with hub.session() as s:
        return list(s.scalars(select(Branch).where(Branch.company_id == cid).order_by(Branch.name)))


def create_staff(hub: Hub, company_id: object, name: str, email: str, *, branch_id: object | None = None,
                 actor: str = "system") -> Staff:
    cid = parse_uuid(company_id)
    name, email = normalize_name(name), normalize_email(email)
    bid = parse_uuid(branch_id, "branch") if branch_id not in (None, "") else None
    with hub.session() as s:
        _require_company(s, cid)
        if bid is not None:
            branch = s.get(Branch, bid)
            if branch is None or branch.company_id != cid:
                raise ValidationFailed("branch", "validation.branch_other_company")
        staff = Staff(company_id=cid, branch_id=bid, name=name, email=email, is_active=True)
        s.add(staff)
        s.flush()
        record_audit(s, actor=actor, action="staff.created", company_id=cid,
                     details={"staff_id": str(staff.id), "name": name, "email": email})
        remap_discovery(s, cid)
        return staff


def update_staff(hub: Hub, staff_id: object, *, name: str | None = None, email: str | None = None,
                 branch_id: object | None = ..., is_active: bool | None = None, actor: str = "system") -> Staff:
    sid = parse_uuid(staff_id, "staff")
    with hub.session() as s:
        staff = s.get(Staff, sid)
        if staff is None:
            raise NotFound("hub.staff_not_found")
        if name is not None:
            staff.name = normalize_name(name)
        if email is not None:
            staff.email = normalize_email(email)
        if branch_id is not ...:
            bid = parse_uuid(branch_id, "branch") if branch_id not in (None, "") else None
            if bid is not None:
                branch = s.get(Branch, bid)
                if branch is None or branch.company_id != staff.company_id:
                    raise ValidationFailed("branch", "validation.branch_other_company")
            staff.branch_id = bid
        if is_active is not None:
            staff.is_active = bool(is_active)
        record_audit(s, actor=actor, action="staff.updated", company_id=staff.company_id,
                     details={"staff_id": str(sid), "name": staff.name, "email": staff.email})
        remap_discovery(s, staff.company_id)
        return staff


def list_staff(hub: Hub, company_id: object) -> list[Staff]:
    cid = parse_uuid(company_id)
    with hub.session() as s:
        return list(s.scalars(select(Staff).where(Staff.company_id == cid).order_by(Staff.name)))


def dependency_counts(hub: Hub, company_id: uuid.UUID) -> dict[str, int]:
    with hub.session() as s:
        return {
            "branches": s.scalar(select(func.count()).select_from(Branch).where(Branch.company_id == company_id, Branch.is_active.is_(True))) or 0,
            "staff": s.scalar(select(func.count()).select_from(Staff).where(Staff.company_id == company_id, Staff.is_active.is_(True))) or 0,
        }

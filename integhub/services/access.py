"""Roles and access: who may do what, enforced in the service layer (pages only hide what is denied).

Roles, each granted for all companies (company_id None) or for one company:
- analyst:  read-only — status and metrics.
- operator: analyst + run syncs, edit mappings, see the audit trail and the fleet grid.
- admin:    operator + keys and configuration, companies, webhooks.
Installation-wide permissions (key ring, role management) need an admin for *all* companies.

`require(identity, permission, company_id=None)` raises PermissionDenied. With a company it checks
that company; without one it asks for the permission across all companies.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..db import Hub
from ..errors import NotFound, PermissionDenied, ValidationFailed
from ..models import Company
from ..models_access import RoleAssignment
from ..validation import normalize_email
from .audit import record_audit
from .companies import parse_uuid

ROLES = ("admin", "operator", "analyst")

_ANALYST = frozenset({"status.view", "metrics.view"})
_OPERATOR = _ANALYST | {"config.view", "sync.run", "mappings.edit", "audit.view", "fleet.view"}
_ADMIN = _OPERATOR | {"config.edit", "company.edit", "webhooks.manage", "keys.manage", "access.manage"}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {"analyst": _ANALYST, "operator": frozenset(_OPERATOR),
                                               "admin": frozenset(_ADMIN)}
ALL_PERMISSIONS = frozenset(_ADMIN)
# Permissions about the installation itself, never about one company: only a global grant gives them.
GLOBAL_ONLY = frozenset({"keys.manage", "access.manage"})

# Page key → the permission a person needs (for at least one company) to see it in the navigation.
PAGE_PERMISSIONS: dict[str, str] = {
    "overview": "status.view",
    "metrics": "metrics.view",
    "calcom": "config.view",
    "retell": "config.view",
    "mappings": "mappings.edit",
    "webhooks": "config.view",
    "companies": "company.edit",
    "audit": "audit.view",
    "fleet": "fleet.view",
    "keys": "keys.manage",
    "access": "access.manage",
}
UNKNOWN_PAGE_PERMISSION = "config.edit"  # a page nobody classified is for admins only


@dataclass(frozen=True)
class Grant:
    role: str
    company_id: uuid.UUID | None  # None: all companies


@dataclass(frozen=True)
class Identity:
    """The person (or process) acting. `source`: oidc, proxy, dev, cli or system."""

    email: str
    source: str
    name: str | None = None
    grants: tuple[Grant, ...] = ()
    superuser: bool = False  # the CLI and internal jobs: shell access already implies full control

    @property
    def actor(self) -> str:
        """The name written to the audit log."""
        return self.email if self.source not in ("dev",) else f"{self.email} (dev)"

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    def can(self, permission: str, company_id: object | None = None) -> bool:
        if self.superuser:
            return True
        cid = _as_uuid(company_id)
        for g in self.grants:
            if permission not in ROLE_PERMISSIONS.get(g.role, ()):
                continue
            if g.company_id is None:
                return True
            if cid is not None and g.company_id == cid and permission not in GLOBAL_ONLY:
                return True
        return False

    def can_any(self, permission: str) -> bool:
        """True when the permission holds for at least one company (what navigation asks)."""
        if self.superuser:
            return True
        if permission in GLOBAL_ONLY:
            return self.can(permission)
        return any(permission in ROLE_PERMISSIONS.get(g.role, ()) for g in self.grants)

    def company_scope(self, permission: str) -> set[uuid.UUID] | None:
        """None: every company; otherwise the companies the permission holds for (maybe empty)."""
        if self.superuser:
            return None
        scope: set[uuid.UUID] = set()
        for g in self.grants:
            if permission in ROLE_PERMISSIONS.get(g.role, ()):
                if g.company_id is None:
                    return None
                if permission not in GLOBAL_ONLY:
                    scope.add(g.company_id)
        return scope

    def __repr__(self) -> str:
        return f"Identity({self.email!r}, source={self.source!r}, roles={sorted(self.roles)})"


def _as_uuid(value: object | None) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def system_identity(actor: str = "system") -> Identity:
    """For the CLI, the worker and internal jobs."""
    return Identity(email=actor, source="cli" if actor != "system" else "system", superuser=True)


def require(identity: Identity | None, permission: str, company_id: object | None = None) -> None:
    """Raise PermissionDenied unless `identity` holds `permission` (for `company_id`, or globally)."""
    if identity is None or not identity.can(permission, company_id):
        raise PermissionDenied()


def require_any(identity: Identity | None, permission: str) -> None:
    if identity is None or not identity.can_any(permission):
        raise PermissionDenied()


def page_permission(page_key: str) -> str:
    return PAGE_PERMISSIONS.get(page_key, UNKNOWN_PAGE_PERMISSION)


def page_allowed(identity: Identity | None, page_key: str) -> bool:
    if identity is None:
        return False
    perm = page_permission(page_key)
    return identity.can(perm) if perm in GLOBAL_ONLY else identity.can_any(perm)


def allowed_pages(identity: Identity | None) -> list[str]:
    return [k for k in PAGE_PERMISSIONS if page_allowed(identity, k)]


# --- assignments ----------------------------------------------------------------------------------
def _role(role: str) -> str:
    role = (role or "").strip().lower()
    if role not in ROLES:
        raise ValidationFailed("role", "ops.access.role_unknown", role=role, roles=", ".join(ROLES))
    return role


def load_identity(hub: Hub, email: str, *, source: str, name: str | None = None,
                  extra_grants: Iterable[Grant] = ()) -> Identity:
    """The identity of `email` with the roles granted to it in the database."""
    email_norm = (email or "").strip().lower()
    with hub.session() as s:
        rows = s.execute(select(RoleAssignment.role, RoleAssignment.company_id)
                         .where(RoleAssignment.user_email == email_norm)).all()
    grants = tuple(Grant(r.role, r.company_id) for r in rows) + tuple(extra_grants)
    return Identity(email=email_norm, source=source, name=name, grants=grants)


@dataclass
class Assignment:
    user_email: str
    role: str
    company_id: uuid.UUID | None
    company_name: str | None
    granted_by: str
    created_at: object = None


@dataclass
class AssignmentPage:
    rows: list[Assignment] = field(default_factory=list)
    total: int = 0


def list_assignments(hub: Hub, identity: Identity, *, user: str | None = None, limit: int = 200,
                     offset: int = 0) -> AssignmentPage:
    require(identity, "access.manage")
    stmt = (select(RoleAssignment, Company.name).outerjoin(Company, Company.id == RoleAssignment.company_id))
    count = select(func.count()).select_from(RoleAssignment)
    if user and user.strip():
        cond = RoleAssignment.user_email.like(f"%{user.strip().lower()}%")
        stmt, count = stmt.where(cond), count.where(cond)
    stmt = stmt.order_by(RoleAssignment.user_email, RoleAssignment.role, Company.name).limit(limit).offset(offset)
    with hub.session() as s:
        rows = [Assignment(r.user_email, r.role, r.company_id, name, r.granted_by, r.created_at)
                for r, name in s.execute(stmt)]
        return AssignmentPage(rows, s.scalar(count) or 0)


def grant_role(hub: Hub, identity: Identity, user: str, role: str, company_id: object | None = None) -> bool:
    """Grant `role` to `user` (for one company or all). Returns False when it was already granted."""
    require(identity, "access.manage")
    email = normalize_email(user).lower()
    role = _role(role)
    cid = parse_uuid(company_id) if company_id not in (None, "") else None
    try:
        with hub.session() as s:
            if cid is not None and s.get(Company, cid) is None:
                raise NotFound("hub.company_not_found")
            if s.scalar(_existing(email, role, cid)) is not None:
                return False
            s.add(RoleAssignment(user_email=email, role=role, company_id=cid, granted_by=identity.actor))
            record_audit(s, actor=identity.actor, action="role.granted", company_id=cid,
                         details={"user": email, "role": role, "scope": "company" if cid else "all"})
            return True
    except IntegrityError:
        return False  # granted concurrently by someone else: the outcome is the same


def revoke_role(hub: Hub, identity: Identity, user: str, role: str, company_id: object | None = None) -> bool:
    """Remove one assignment. Returns False when there was nothing to revoke."""
    require(identity, "access.manage")
    email = (user or "").strip().lower()
    role = _role(role)
    cid = parse_uuid(company_id) if company_id not in (None, "") else None
    with hub.session() as s:
        row = s.scalar(_existing(email, role, cid))
        if row is None:
            return False
        if role == "admin" and cid is None and _global_admins(s) == {email} and not identity.superuser:
            # The UI must never lock every admin out; the CLI (shell access) may.
            raise ValidationFailed("role", "ops.access.last_admin")
        s.delete(row)
        record_audit(s, actor=identity.actor, action="role.revoked", company_id=cid,
                     details={"user": email, "role": role, "scope": "company" if cid else "all"})
        return True


def _existing(email: str, role: str, cid: uuid.UUID | None):
    stmt = select(RoleAssignment).where(RoleAssignment.user_email == email, RoleAssignment.role == role)
    return stmt.where(RoleAssignment.company_id.is_(None) if cid is None else RoleAssignment.company_id == cid)


def _global_admins(s) -> set[str]:
    return set(s.scalars(select(RoleAssignment.user_email).where(RoleAssignment.role == "admin",
                                                                 RoleAssignment.company_id.is_(None))))


# --- CLI ------------------------------------------------------------------------------------------
def cli(args, hub: Hub, out) -> int:
    """`roles grant|revoke|list` — the CLI acts with shell access, recorded as `--actor`."""
    actor = system_identity(getattr(args, "actor", None) or "cli")
    if args.action == "grant":
        changed = grant_role(hub, actor, args.user, args.role, args.company)
        out(f"{'granted' if changed else 'unchanged (already granted)'}: {args.user.strip().lower()} "
            f"{args.role} {'company ' + str(args.company) if args.company else 'all companies'}")
        return 0
    if args.action == "revoke":
        changed = revoke_role(hub, actor, args.user, args.role, args.company)
        if not changed:
            raise NotFound("ops.access.not_granted")
        out(f"revoked: {args.user.strip().lower()} {args.role} "
            f"{'company ' + str(args.company) if args.company else 'all companies'}")
        return 0
    page = list_assignments(hub, actor, limit=100_000)
    if not page.rows:
        out("no role assignments")
    for a in page.rows:
        scope = f"company {a.company_id} ({a.company_name})" if a.company_id else "all companies"
        out(f"{a.user_email}\t{a.role}\t{scope}\tgranted_by={a.granted_by}")
    return 0

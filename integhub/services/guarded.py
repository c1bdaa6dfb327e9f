"""The service calls pages make, each behind its permission check (integhub.services.access).

Pages call these instead of the unguarded services, so hiding a page is never the only protection:
`guarded.save_config(identity, hub, company_id, "calcom", api_key=..., settings=...)` raises
PermissionDenied unless the identity is an admin for that company, then delegates with the
identity's name as the audit actor. CLI, worker and webhooks keep calling the services directly.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..db import Hub
from . import companies, configs, mappings, status, sync, webhooks
from .access import Identity, require, require_any


def call(identity: Identity, permission: str, company_id: object | None, fn: Callable[..., Any],
         *args: Any, **kwargs: Any) -> Any:
    """Any other service function behind one check (for calls this module does not list yet)."""
    require(identity, permission, company_id)
    return fn(*args, **kwargs)


# --- configuration (admin) ------------------------------------------------------------------------
def save_config(identity: Identity, hub: Hub, company_id: object, provider: str, **kwargs: Any):
    require(identity, "config.edit", company_id)
    kwargs["actor"] = identity.actor
    return configs.save_config(hub, company_id, provider, **kwargs)


def test_connection(identity: Identity, hub: Hub, company_id: object, provider: str, api_key: str | None,
                    settings: dict[str, Any] | None = None, **kwargs: Any):
    require(identity, "config.edit", company_id)
    return configs.test_connection(hub, company_id, provider, api_key, settings, **kwargs)


def load_configs(identity: Identity, hub: Hub, company_id: object):
    require(identity, "config.view", company_id)
    return configs.load_configs(hub, company_id)


def load_config(identity: Identity, hub: Hub, company_id: object, provider: str):
    require(identity, "config.view", company_id)
    return configs.load_config(hub, company_id, provider)


def register_webhook(identity: Identity, hub: Hub, company_id: object, provider: str, **kwargs: Any):
    require(identity, "webhooks.manage", company_id)
    kwargs.setdefault("actor", identity.actor)
    return webhooks.register_webhook(hub, company_id, provider, **kwargs)


# --- companies (admin; creating a company needs an admin for all companies) ----------------------
def create_company(identity: Identity, hub: Hub, name: str, slug: str | None = None, **kwargs: Any):
    require(identity, "company.edit")
    return companies.create_company(hub, name, slug, actor=identity.actor, **kwargs)


def update_company(identity: Identity, hub: Hub, company_id: object, **kwargs: Any):
    require(identity, "company.edit", company_id)
    return companies.update_company(hub, company_id, actor=identity.actor, **kwargs)


def create_branch(identity: Identity, hub: Hub, company_id: object, name: str):
    require(identity, "company.edit", company_id)
    return companies.create_branch(hub, company_id, name, actor=identity.actor)


def create_staff(identity: Identity, hub: Hub, company_id: object, name: str, email: str, **kwargs: Any):
    require(identity, "company.edit", company_id)
    return companies.create_staff(hub, company_id, name, email, actor=identity.actor, **kwargs)


def update_branch(identity: Identity, hub: Hub, company_id: object, branch_id: object, **kwargs: Any):
    """`company_id` is the branch's company (the page knows it); the service checks the branch belongs."""
    require(identity, "company.edit", company_id)
    return _check_owner(companies.update_branch(hub, branch_id, actor=identity.actor, **kwargs), company_id)


def update_staff(identity: Identity, hub: Hub, company_id: object, staff_id: object, **kwargs: Any):
    require(identity, "company.edit", company_id)
    return _check_owner(companies.update_staff(hub, staff_id, actor=identity.actor, **kwargs),
                        company_id)


def _check_owner(obj: Any, company_id: object) -> Any:
    from .access import _as_uuid

    if getattr(obj, "company_id", None) != _as_uuid(company_id):
        # Cannot happen through the UI; refuse loudly rather than let a crafted id cross companies.
        from ..errors import PermissionDenied

        raise PermissionDenied()
    return obj


# --- syncs and mappings (operator) ----------------------------------------------------------------
def run_sync(identity: Identity, hub: Hub, company_id: object, provider: str, **kwargs: Any):
    """services.sync.run_sync audits the start (`sync.started`) with the identity as actor."""
    require(identity, "sync.run", company_id)
    kwargs["actor"] = identity.actor
    kwargs.setdefault("trigger", "manual")
    return sync.run_sync(hub, company_id, provider, **kwargs)


def save_mappings(identity: Identity, hub: Hub, company_id: object, name: str, *args: Any, **kwargs: Any):
    """Any mapping editor of integhub.services.mappings, e.g. `save_mappings(ident, hub, cid,
    "set_user_mappings", rows)` → `mappings.set_user_mappings(hub, cid, rows, actor=...)`."""
    require(identity, "mappings.edit", company_id)
    kwargs.setdefault("actor", identity.actor)
    if name not in ("set_user_mappings", "set_event_type_mappings"):
        raise ValueError(f"not a mapping editor: {name}")
    return getattr(mappings, name)(hub, company_id, *args, **kwargs)


# --- read-only (analyst) --------------------------------------------------------------------------
def company_status(identity: Identity, hub: Hub, company_id: object, **kwargs: Any):
    require(identity, "status.view", company_id)
    return status.company_status(hub, company_id, **kwargs)


def list_companies(identity: Identity, hub: Hub, search: str = "", **kwargs: Any):
    """Only the companies the identity may see at all (any role)."""
    require_any(identity, "status.view")
    scope = identity.company_scope("status.view")
    if scope is not None:
        kwargs["ids"] = sorted(scope) if "ids" not in kwargs else [i for i in kwargs["ids"] if i in scope]
    return companies.list_companies(hub, search, **kwargs)

"""Sync engine entry point. (Filled by the Sync engine issue.)"""
from __future__ import annotations

from ..errors import NotAvailable


def run_sync(hub, company_id, provider: str, *, actor: str = "system", trigger: str = "manual"):
    raise NotAvailable()

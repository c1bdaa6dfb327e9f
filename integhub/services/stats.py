"""Locally stored counts per provider for status cards and `status --json`.

Counts what the syncs and webhooks stored, remote deletions (soft, `deleted_at`) excluded. Keys are
the provider's `stat_keys` (the contract's), plus `calls_24h` for Retell (calls started in the last
24 hours), which the status card shows.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from ..db import Hub
from ..models import CalcomBooking, CalcomEventType, CalcomUser, RetellAgent, RetellCall, RetellPhoneNumber, utcnow
from ..providers import get_provider


def _live_count(model, company_id: uuid.UUID):
    return (select(func.count()).select_from(model)
            .where(model.company_id == company_id, model.deleted_at.is_(None)).scalar_subquery())


def provider_stats(hub: Hub, company_id: uuid.UUID, provider: str) -> dict[str, int]:
    prov = get_provider(provider)
    stats = {key: 0 for key in prov.stat_keys}
    if prov.name == "calcom":
        mapped = (select(func.count()).select_from(CalcomUser)
                  .where(CalcomUser.company_id == company_id, CalcomUser.deleted_at.is_(None),
                         CalcomUser.staff_id.is_not(None)).scalar_subquery())
        query = select(_live_count(CalcomEventType, company_id), _live_count(CalcomUser, company_id), mapped,
                       _live_count(CalcomBooking, company_id))
        keys = ("event_types", "users", "users_mapped", "bookings")
    elif prov.name == "retell":
        recent = (select(func.count()).select_from(RetellCall)
                  .where(RetellCall.company_id == company_id, RetellCall.deleted_at.is_(None),
                         RetellCall.start_at >= utcnow() - timedelta(hours=24)).scalar_subquery())
        query = select(_live_count(RetellAgent, company_id), _live_count(RetellPhoneNumber, company_id),
                       _live_count(RetellCall, company_id), recent)
        keys = ("agents", "phone_numbers", "calls", "calls_24h")
    else:
        return stats
    with hub.session() as s:
        row = s.execute(query).one()
    stats.update({key: int(value or 0) for key, value in zip(keys, row)})
    return stats

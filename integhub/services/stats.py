"""Locally stored counts per provider for status cards and `status --json`."""
from __future__ import annotations

import uuid

from ..db import Hub
from ..providers import get_provider


def provider_stats(hub: Hub, company_id: uuid.UUID, provider: str) -> dict[str, int]:
    return {key: 0 for key in get_provider(provider).stat_keys}

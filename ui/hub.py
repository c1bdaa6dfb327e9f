"""The process-wide Hub for the UI, and the few settings the pages read from the environment."""
from __future__ import annotations

import logging
import os

import streamlit as st

from integhub import redaction
from integhub.config import get_settings
from integhub.db import Hub
from integhub.services import demo, status

log = logging.getLogger("integhub.ui")

DEFAULT_REFRESH_SECONDS = 30.0


@st.cache_resource(show_spinner=False)
def _hub_for(database_url: str) -> Hub:
    """One Hub (engine, pool, key ring) per process and database; every session shares it."""
    redaction.install()
    hub = Hub.from_env()
    # A database that holds the demo keeps pointing its providers at the built-in simulator,
    # also after a restart (the simulator's data is derived from the keys, so it is the same).
    demo.resume(hub)
    return hub


def get_hub() -> Hub:
    hub = _hub_for(get_settings().database_url)
    _align_status_cache()
    return hub


def refresh_seconds() -> float:
    """How often the overview's status panel refreshes (INTEGHUB_STATUS_REFRESH_SECONDS, default 30)."""
    raw = os.environ.get("INTEGHUB_STATUS_REFRESH_SECONDS", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_REFRESH_SECONDS
    except ValueError:
        value = DEFAULT_REFRESH_SECONDS
    return max(1.0, value)


def _align_status_cache() -> None:
    """Keep the status cache younger than one refresh, so every tick can show a change.

    The cache exists so that many open tabs share one provider call; with the default 30 s refresh
    its 25 s TTL already fits, with a shorter refresh (tests) the TTL follows it.
    """
    ttl = refresh_seconds() * 0.8
    if status.CACHE.ttl > ttl:
        status.CACHE.ttl = ttl

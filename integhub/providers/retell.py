"""Retell.ai: the provider's declaration over RetellClient (the official retell-sdk)."""
from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from typing import TYPE_CHECKING, Any

from ..errors import ValidationFailed
from ..validation import normalize_remote_id
from .errors import NotFound
from ._common import SYNC_DEFAULTS, merge_settings
from .base import DependencyRule, Discovery, FormField, Provider
from .http import RetryPolicy

if TYPE_CHECKING:
    from .retell_client import RetellClient

STATUS_RETRY = RetryPolicy(max_attempts=1)


class RetellProvider(Provider):
    name = "retell"
    display_name = "Retell.ai"
    icon = ":material/support_agent:"
    key_prefix = None  # Retell documents no key format
    order = 20
    client_module = "integhub.providers.retell_client"  # the official SDK: ~1 s of CPU to import
    fields = (
        FormField("api_key", "retell.api_key", "password"),
        FormField("default_agent_id", "retell.default_agent", "select", cli_flag="--default-agent"),
        FormField("auto_sync_enabled", "form.auto_sync", "toggle", section="form.section_sync",
                  cli_flag="--auto-sync"),
        FormField("sync_interval", "form.sync_interval", "interval", section="form.section_sync",
                  cli_flag="--interval"),
    )
    stat_keys = ("agents", "phone_numbers", "calls")
    dependency_rules = (DependencyRule("branches", "deps.retell_branch"),)

    ALLOWED = {"default_agent_id": None, "call_window_days": 90, **SYNC_DEFAULTS}

    def normalize_settings(self, raw: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
        merged = merge_settings(raw, current, self.ALLOWED)
        merged["default_agent_id"] = normalize_remote_id(merged["default_agent_id"], "default_agent_id")
        try:
            days = int(merged["call_window_days"])
        except (TypeError, ValueError):
            days = 90
        merged["call_window_days"] = max(1, min(days, 3650))
        return merged

    def client(self, api_key: str, *, timeout: float = 5.0, retry: RetryPolicy | None = None) -> RetellClient:
        return self.load_client().RetellClient(api_key, timeout=timeout, retry=retry)

    def validate_key(self, api_key, settings, *, timeout: float = 10.0) -> dict[str, Any]:
        with closing(self.client(api_key, timeout=timeout)) as client:
            info = client.api_key_info()
            agent_id = settings.get("default_agent_id")
            if agent_id:
                try:
                    client.get_agent(agent_id)
                except NotFound:
                    raise ValidationFailed("default_agent_id", "validation.agent_not_found", agent=agent_id) from None
            return {"org_name": info.get("org_name"), "org_id": info.get("org_id")}

    def check_status(self, api_key, settings, *, timeout: float = 5.0) -> None:
        with closing(self.client(api_key, timeout=timeout, retry=STATUS_RETRY)) as client:
            client.api_key_info()

    def discover(self, api_key, settings, *, timeout: float = 10.0) -> Discovery:
        with closing(self.client(api_key, timeout=timeout)) as client:
            agents = client.agents()
            numbers = client.phone_numbers()
        options = [(a["agent_id"], a.get("agent_name") or a["agent_id"]) for a in agents]
        return Discovery(options={"default_agent_id": options,
                                  "phone_numbers": [(n["phone_number"], n.get("nickname") or n.get("phone_number_pretty") or n["phone_number"]) for n in numbers]})


PROVIDER = RetellProvider()

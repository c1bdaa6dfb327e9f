"""What a provider module declares. Service, UI and CLI only ever talk to this interface."""
from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Contract states (../shared/contract.md, `status --json`).
STATES = ("not_configured", "connected", "invalid_credentials", "unreachable", "rate_limited", "error")

# Provider error code -> contract state.
STATE_FOR_ERROR = {
    "invalid_credentials": "invalid_credentials",
    "forbidden": "invalid_credentials",
    "unreachable": "unreachable",
    "timeout": "unreachable",
    "rate_limited": "rate_limited",
}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str  # i18n key
    kind: str  # password | text | select | toggle | interval
    help: str | None = None  # i18n key
    placeholder: str | None = None
    section: str | None = None  # i18n key of the form section
    cli_flag: str | None = None  # `configure` option, e.g. "--team-slug" (toggle: "--auto-sync/--no-auto-sync")


@dataclass
class Discovery:
    """Options and suggested mappings found at the provider (no secrets)."""

    options: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # field -> [(value, label)]
    identity: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DependencyRule:
    requires: str  # "branches" | "staff"
    message: str  # i18n key
    fix_page: str = "companies"


class Provider:
    """Base class: one subclass instance per provider module, exported as `PROVIDER`."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    icon: ClassVar[str] = ":material/link:"
    key_prefix: ClassVar[str | None] = None
    fields: ClassVar[tuple[FormField, ...]] = ()
    stat_keys: ClassVar[tuple[str, ...]] = ()
    dependency_rules: ClassVar[tuple[DependencyRule, ...]] = ()
    order: ClassVar[int] = 100
    client_module: ClassVar[str | None] = None  # e.g. "integhub.providers.retell_client", imported on first use

    # --- input --------------------------------------------------------------------------------
    def normalize_settings(self, raw: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and normalise the provider's settings (not the key). Raises ValidationFailed."""
        raise NotImplementedError

    # --- remote calls -------------------------------------------------------------------------
    def load_client(self):
        """The client module, imported now if it was not yet (thread-safe: Python's import lock)."""
        return importlib.import_module(self.client_module) if self.client_module else None

    @property
    def client_loaded(self) -> bool:
        return self.client_module is None or self.client_module in sys.modules

    def client(self, api_key: str, *, timeout: float = 5.0):
        raise NotImplementedError

    def validate_key(self, api_key: str, settings: Mapping[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        """One authenticated call that proves the key works; returns non-secret identity facts."""
        raise NotImplementedError

    def check_status(self, api_key: str, settings: Mapping[str, Any], *, timeout: float = 5.0) -> None:
        """The cheapest authenticated call; raises a ProviderError when the connection is not fine."""
        raise NotImplementedError

    def discover(self, api_key: str, settings: Mapping[str, Any], *, timeout: float = 10.0) -> Discovery:
        raise NotImplementedError

    def settings_summary(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        return dict(settings)

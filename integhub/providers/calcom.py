"""Cal.com: the provider's declaration (form, validation, status, discovery) over CalcomClient."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..validation import normalize_positive_int, normalize_team_slug
from ._common import SYNC_DEFAULTS, merge_settings
from .base import DependencyRule, Discovery, FormField, Provider
from .calcom_client import CalcomClient
from .http import RetryPolicy

# Status checks must answer within their timeout: at most one quick retry.
STATUS_RETRY = RetryPolicy(max_attempts=1)


class CalcomProvider(Provider):
    name = "calcom"
    display_name = "Cal.com"
    icon = ":material/calendar_month:"
    key_prefix = "cal_"
    order = 10
    fields = (
        FormField("api_key", "calcom.api_key", "password"),
        FormField("team_slug", "calcom.team_slug", "text", help="calcom.team_slug_help", placeholder="mein-team",
                  cli_flag="--team-slug"),
        FormField("default_event_type_id", "calcom.default_event_type", "select", cli_flag="--default-event-type"),
        FormField("auto_sync_enabled", "form.auto_sync", "toggle", section="form.section_sync",
                  cli_flag="--auto-sync"),
        FormField("sync_interval", "form.sync_interval", "interval", section="form.section_sync",
                  cli_flag="--interval"),
    )
    stat_keys = ("event_types", "users", "users_mapped", "bookings")
    dependency_rules = (
        DependencyRule("branches", "deps.calcom_branch"),
        DependencyRule("staff", "deps.calcom_staff"),
    )

    ALLOWED = {"team_slug": None, "default_event_type_id": None, "booking_window_days": 90, **SYNC_DEFAULTS}

    def normalize_settings(self, raw: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
        merged = merge_settings(raw, current, self.ALLOWED)
        merged["team_slug"] = normalize_team_slug(merged["team_slug"])
        merged["default_event_type_id"] = normalize_positive_int(merged["default_event_type_id"], "default_event_type_id")
        days = normalize_positive_int(merged["booking_window_days"], "booking_window_days")
        merged["booking_window_days"] = min(days or 90, 3650)
        return merged

    def client(self, api_key: str, *, timeout: float = 5.0, retry: RetryPolicy | None = None) -> CalcomClient:
        return CalcomClient(api_key, timeout=timeout, retry=retry)

    def validate_key(self, api_key, settings, *, timeout: float = 10.0) -> dict[str, Any]:
        with self.client(api_key, timeout=timeout) as client:
            me = client.me()
            identity = {"username": me.get("username"), "email": me.get("email")}
            slug = settings.get("team_slug")
            if slug:
                team = client.find_team(slug)
                if team is None:
                    from ..errors import ValidationFailed

                    raise ValidationFailed("team_slug", "validation.team_not_found", slug=slug)
                identity["team_id"] = team.get("id")
            return identity

    def check_status(self, api_key, settings, *, timeout: float = 5.0) -> None:
        with self.client(api_key, timeout=timeout, retry=STATUS_RETRY) as client:
            client.me()

    def discover(self, api_key, settings, *, timeout: float = 10.0) -> Discovery:
        with self.client(api_key, timeout=timeout) as client:
            me = client.me()
            event_types = list(client.event_types(me["username"]))
            team_id = None
            if settings.get("team_slug"):
                team = client.find_team(settings["team_slug"])
                if team is not None:
                    team_id = team["id"]
                    event_types += client.team_event_types(team_id)
            options = [(str(et["id"]), f"{et.get('title', et['id'])} ({et.get('lengthInMinutes', '?')} min)")
                       for et in event_types]
            return Discovery(options={"default_event_type_id": options},
                             identity={"username": me.get("username"), "team_id": team_id})


PROVIDER = CalcomProvider()

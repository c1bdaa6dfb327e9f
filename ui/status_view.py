"""What a status card says, derived from `company_status` (pure functions, no Streamlit: unit-testable).

A card shows the badge "Verbunden"/"Nicht verbunden" and the finer states behind it: key rejected,
provider unreachable, rate-limited, last sync failed, sync overdue.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integhub import i18n

# contract state -> (catalogue key of the finer badge, badge colour, material icon)
STATE_BADGES: dict[str, tuple[str, str, str]] = {
    "not_configured": ("ui.state.not_configured", "gray", ":material/link_off:"),
    "invalid_credentials": ("ui.state.invalid_credentials", "red", ":material/key_off:"),
    "unreachable": ("ui.state.unreachable", "red", ":material/cloud_off:"),
    "rate_limited": ("ui.state.rate_limited", "orange", ":material/speed:"),
    "error": ("ui.state.error", "red", ":material/error:"),
}

# A sync is overdue when the last success is older than this many intervals.
OVERDUE_FACTOR = 1.5


@dataclass(frozen=True)
class Badge:
    label_key: str
    color: str
    icon: str


def is_connected(provider_status: dict[str, Any]) -> bool:
    return provider_status.get("state") == "connected"


def badges(provider_status: dict[str, Any], now: datetime | None = None) -> list[Badge]:
    """The main badge first, then each finer state that applies."""
    state = provider_status.get("state") or "error"
    out = [Badge("ui.badge.connected", "green", ":material/check_circle:") if state == "connected"
           else Badge("ui.badge.disconnected", "red" if state != "not_configured" else "gray", ":material/cancel:")]
    if state in STATE_BADGES:
        out.append(Badge(*STATE_BADGES[state]))
    if provider_status.get("configured") and provider_status.get("last_error"):
        out.append(Badge("ui.state.sync_failed", "red", ":material/sync_problem:"))
    if is_overdue(provider_status, now):
        out.append(Badge("ui.state.sync_overdue", "orange", ":material/schedule:"))
    return out


def is_overdue(provider_status: dict[str, Any], now: datetime | None = None) -> bool:
    """Auto-sync is on and the last successful sync is older than 1.5 intervals."""
    settings = provider_status.get("settings") or {}
    if not provider_status.get("configured") or not settings.get("auto_sync_enabled"):
        return False
    last = parse_time(provider_status.get("last_sync_at"))
    if last is None:
        return False  # never synced yet: the first run is due, not late
    try:
        interval_s = int(settings.get("sync_interval") or 60) * 60
    except (TypeError, ValueError):
        interval_s = 3600
    now = now or datetime.now(timezone.utc)
    return (now - last).total_seconds() > interval_s * OVERDUE_FACTOR


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from the contract's ISO strings or from naive-UTC datetimes."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Europe/Berlin")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def absolute(value: Any, tz_name: str | None, lang: str) -> str | None:
    """`25.11.2026, 11:00` (de) or `2026-11-25 11:00` (en), in the company's time zone."""
    moment = parse_time(value)
    if moment is None:
        return None
    local = moment.astimezone(zone(tz_name))
    return local.strftime("%d.%m.%Y, %H:%M" if lang == "de" else "%Y-%m-%d %H:%M")


def clock(value: Any, tz_name: str | None) -> str | None:
    moment = parse_time(value)
    return moment.astimezone(zone(tz_name)).strftime("%H:%M:%S") if moment else None


def relative(value: Any, lang: str, now: datetime | None = None) -> str | None:
    """`vor 5 Minuten` / `5 minutes ago`."""
    moment = parse_time(value)
    if moment is None:
        return None
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - moment).total_seconds()))
    for limit, unit, key in ((60, 1, "ui.time.just_now"), (3600, 60, "ui.time.minutes"),
                             (86400, 3600, "ui.time.hours"), (None, 86400, "ui.time.days")):
        if limit is None or seconds < limit:
            n = seconds // unit
            if key != "ui.time.just_now" and n == 1:
                key += "_one"
            return i18n.t(key, lang, n=n)
    return None  # pragma: no cover - the loop always returns


def last_sync_text(provider_status: dict[str, Any], tz_name: str | None, lang: str,
                   now: datetime | None = None) -> str:
    value = provider_status.get("last_sync_at")
    if not value:
        return i18n.t("ui.time.never", lang)
    return f"{relative(value, lang, now)} · {absolute(value, tz_name, lang)}"


def number(value: Any, lang: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return str(value)
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "de" else text


def stat_items(stats: dict[str, int], lang: str = "de") -> list[tuple[str, str]]:
    """(catalogue key, shown value) per stat; users and users_mapped become "1 / 2"."""
    items: list[tuple[str, str]] = []
    for key, value in stats.items():
        if key == "users" and "users_mapped" in stats:
            continue
        if key == "users_mapped" and "users" in stats:
            items.append(("ui.stat.users_mapped", f"{number(value, lang)} / {number(stats['users'], lang)}"))
            continue
        if key == "calls" and "calls_24h" in stats:
            continue  # the card shows the last 24 hours when the stats provide them
        items.append((f"ui.stat.{key}", number(value, lang)))
    return items

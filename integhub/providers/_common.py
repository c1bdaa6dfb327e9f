"""Settings validation shared by providers that sync on a schedule."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ValidationFailed
from ..validation import normalize_bool, normalize_interval

SYNC_DEFAULTS = {"auto_sync_enabled": False, "sync_interval": 60}


def merge_settings(raw: Mapping[str, Any], current: Mapping[str, Any], allowed: Mapping[str, Any]) -> dict[str, Any]:
    """Current settings overlaid with `raw`; refuses keys the provider does not know."""
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ValidationFailed("settings", "validation.unknown_setting", name=", ".join(map(str, unknown))[:80])
    merged = {**allowed, **{k: v for k, v in current.items() if k in allowed}, **raw}
    merged["auto_sync_enabled"] = normalize_bool(merged["auto_sync_enabled"], "auto_sync_enabled")
    merged["sync_interval"] = normalize_interval(merged["sync_interval"])
    return merged

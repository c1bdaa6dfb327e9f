"""Integration configs: load, view (masked), test a key, and save following the spec's flow.

Save flow: check input → validate the key with the provider → encrypt → save (optimistic lock) →
audit → sync when auto-sync is on → new status. Any failure before "save" changes nothing, so the
previously working key stays in force.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..crypto import context_for, fingerprint, mask
from ..db import Hub
from ..errors import ConflictError, HubError, NotFound, ValidationFailed
from ..i18n import t
from ..models import Company, IntegrationConfig, utcnow
from ..providers import all_providers, get_provider
from ..providers.errors import ProviderError
from ..redaction import remember_secret
from ..validation import normalize_api_key
from .audit import record_audit, settings_diff
from .companies import parse_uuid
from .metrics import record_metric


@dataclass
class ConfigView:
    """Everything a page or the CLI may show about a config. Never a plaintext secret."""

    company_id: uuid.UUID
    provider: str
    configured: bool = False
    has_key: bool = False
    key_mask: str | None = None
    key_fingerprint: str | None = None
    has_webhook_secret: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    is_active: bool = False
    last_sync_at: datetime | None = None
    last_error: str | None = None
    version: int = 0
    updated_at: datetime | None = None


def _view(hub: Hub, provider: str, company_id: uuid.UUID, row: IntegrationConfig | None) -> ConfigView:
    prov = get_provider(provider)
    if row is None:
        return ConfigView(company_id, provider, settings=prov.normalize_settings({}, {}))
    view = ConfigView(company_id, provider, configured=True, settings=dict(row.settings or {}),
                      is_active=bool(row.is_active), last_sync_at=row.last_sync_at, last_error=row.last_error,
                      version=row.version, updated_at=row.updated_at, has_webhook_secret=bool(row.webhook_secret))
    if row.api_key:
        key = _decrypt(hub, row, "api_key")
        view.has_key = True
        view.key_mask = mask(key) if key else None
        view.key_fingerprint = fingerprint(key) if key else None
    return view


def _decrypt(hub: Hub, row: IntegrationConfig, field_name: str) -> str | None:
    token = getattr(row, field_name)
    if not token:
        return None
    value = hub.keyring.decrypt(token, context_for(row.company_id, row.provider, field_name))
    remember_secret(value)
    return value


def load_configs(hub: Hub, company_id: object) -> dict[str, ConfigView]:
    """One view per registered provider (unconfigured providers included)."""
    cid = parse_uuid(company_id)
    with hub.session() as s:
        if s.get(Company, cid) is None:
            raise NotFound("hub.company_not_found")
        rows = {r.provider: r for r in s.scalars(select(IntegrationConfig).where(IntegrationConfig.company_id == cid))}
        return {p.name: _view(hub, p.name, cid, rows.get(p.name)) for p in all_providers()}


def load_config(hub: Hub, company_id: object, provider: str) -> ConfigView:
    return load_configs(hub, company_id)[get_provider(provider).name]


def get_secret(hub: Hub, company_id: object, provider: str, field_name: str = "api_key") -> str | None:
    """The decrypted secret, for provider calls only. Never pass it to a page."""
    cid = parse_uuid(company_id)
    with hub.session() as s:
        row = s.scalar(select(IntegrationConfig).where(IntegrationConfig.company_id == cid,
                                                       IntegrationConfig.provider == provider))
        return _decrypt(hub, row, field_name) if row is not None else None


@dataclass
class SaveStep:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class SaveResult:
    ok: bool
    steps: list[SaveStep]
    config: ConfigView | None = None
    error: Exception | None = None
    error_field: str | None = None
    identity: dict[str, Any] = field(default_factory=dict)

    def error_message(self, lang: str | None = None) -> str | None:
        return describe_error(self.error, lang) if self.error else None


def describe_error(exc: BaseException, lang: str | None = None) -> str:
    """A clear one-line message for any failure (no traceback, no secret)."""
    if isinstance(exc, (HubError, ProviderError)):
        return exc.message(lang)
    return t("hub.unexpected", lang, kind=type(exc).__name__)


def test_connection(hub: Hub, company_id: object, provider: str, api_key: str | None,
                    settings: dict[str, Any] | None = None, *, timeout: float = 10.0) -> SaveResult:
    """"Verbindung testen": validate the entered (or stored) key live without saving anything."""
    steps: list[SaveStep] = []
    try:
        prov = get_provider(provider)
        current = load_config(hub, company_id, provider)
        merged = prov.normalize_settings(settings or {}, current.settings)
        key = normalize_api_key(api_key, required_prefix=prov.key_prefix) if api_key else None
        if key is None:
            key = get_secret(hub, company_id, provider)
            if key is None:
                raise ValidationFailed("api_key", "validation.key_empty")
        steps.append(SaveStep("check_input", True))
        identity = prov.validate_key(key, merged, timeout=timeout)
        steps.append(SaveStep("validate_key", True))
        return SaveResult(True, steps, identity=identity)
    except (HubError, ProviderError) as exc:
        steps.append(SaveStep("validate_key" if steps else "check_input", False, describe_error(exc)))
        return SaveResult(False, steps, error=exc, error_field=getattr(exc, "field", None))


def save_config(hub: Hub, company_id: object, provider: str, *, api_key: str | None = None,
                settings: dict[str, Any] | None = None, expected_version: int | None = None,
                actor: str = "system", trigger_sync: bool = True, timeout: float = 10.0) -> SaveResult:
    """Run the spec's save flow. Returns each step's outcome; on failure nothing was written."""
    steps: list[SaveStep] = []
    try:
        cid = parse_uuid(company_id)
        prov = get_provider(provider)
        current = load_config(hub, cid, provider)  # raises NotFound for an unknown company
        if expected_version is not None and current.version != expected_version:
            raise ConflictError()
        new_settings = prov.normalize_settings(settings or {}, current.settings)
        new_key = normalize_api_key(api_key, required_prefix=prov.key_prefix) if api_key not in (None, "") else None
        if new_key is None and not current.has_key:
            raise ValidationFailed("api_key", "validation.key_empty")
        steps.append(SaveStep("check_input", True))
    except (HubError, ProviderError) as exc:
        steps.append(SaveStep("check_input", False, describe_error(exc)))
        return SaveResult(False, steps, error=exc, error_field=getattr(exc, "field", None))

    # Live validation happens outside any transaction: a slow provider must not hold locks.
    key_for_check = new_key or get_secret(hub, cid, provider)
    needs_check = new_key is not None or new_settings != current.settings or not current.is_active
    identity: dict[str, Any] = {}
    if needs_check:
        started = time.monotonic()
        try:
            identity = prov.validate_key(key_for_check, new_settings, timeout=timeout)
        except (HubError, ProviderError) as exc:
            _record_validation(hub, cid, provider, started, exc)
            steps.append(SaveStep("validate_key", False, describe_error(exc)))
            return SaveResult(False, steps, error=exc, error_field=getattr(exc, "field", "api_key"))
        _record_validation(hub, cid, provider, started, None)
        steps.append(SaveStep("validate_key", True))

    try:
        with hub.session() as s:
            row = s.scalar(select(IntegrationConfig).where(IntegrationConfig.company_id == cid,
                                                           IntegrationConfig.provider == provider))
            version_now = row.version if row is not None else 0
            if expected_version is not None and version_now != expected_version:
                raise ConflictError()
            if row is not None and current.version != version_now:
                raise ConflictError()  # someone saved while we validated
            old_fp = current.key_fingerprint
            old_settings = dict(row.settings or {}) if row is not None else {}
            if row is None:
                row = IntegrationConfig(company_id=cid, provider=provider, settings={})
                s.add(row)
            if new_key is not None:
                row.api_key = hub.keyring.encrypt(new_key, context_for(cid, provider, "api_key"))
                remember_secret(new_key)
            steps.append(SaveStep("encrypt", True))
            row.settings = new_settings
            row.is_active = True
            # Every save writes a new version, even one that changes nothing: a concurrent save of the
            # same version must conflict rather than both "succeed" with different intents.
            row.updated_at = utcnow()
            s.flush()
            steps.append(SaveStep("save", True))
            new_fp = fingerprint(new_key) if new_key is not None else old_fp
            action = "config.created" if version_now == 0 else "config.updated"
            if new_key is not None and old_fp and new_fp != old_fp:
                action = "config.key_rotated"
            record_audit(s, actor=actor, action=action, company_id=cid, provider=provider,
                         details={"settings": settings_diff(old_settings, new_settings),
                                  "key_changed": new_key is not None and new_fp != old_fp},
                         old_fingerprint=old_fp, new_fingerprint=new_fp)
            steps.append(SaveStep("audit", True))
    except (ConflictError, StaleDataError, IntegrityError):
        steps.append(SaveStep("save", False, t("hub.conflict")))
        return SaveResult(False, steps, error=ConflictError())
    except HubError as exc:
        steps.append(SaveStep("save", False, describe_error(exc)))
        return SaveResult(False, steps, error=exc)

    if trigger_sync and new_settings.get("auto_sync_enabled"):
        steps.append(_trigger_sync(hub, cid, provider, actor))
    return SaveResult(True, steps, config=load_config(hub, cid, provider), identity=identity)


def _record_validation(hub: Hub, cid: uuid.UUID, provider: str, started: float, exc: Exception | None) -> None:
    code = None if exc is None else getattr(exc, "code", None) or "validation"
    with hub.session() as s:
        record_metric(s, company_id=cid, provider=provider, action="validate", success=exc is None,
                      duration_ms=int((time.monotonic() - started) * 1000), error_code=code)


def _trigger_sync(hub: Hub, cid: uuid.UUID, provider: str, actor: str) -> SaveStep:
    from . import sync as sync_service

    try:
        result = sync_service.run_sync(hub, cid, provider, actor=actor, trigger="save")
    except (HubError, ProviderError) as exc:
        return SaveStep("sync", False, describe_error(exc))
    ok = bool(getattr(result, "success", True))
    return SaveStep("sync", ok, "" if ok else str(getattr(result, "error", "") or ""))

"""Import API keys from the legacy host application ("Bestehende API Keys migrieren").

`python -m integhub import-legacy [--source-url URL] [--source-password-stdin] [--apply] [--app-key-stdin] [--json]`

The source database: `--source-url` or, so that nothing secret is in argv (which `ps` shows),
`INTEGHUB_LEGACY_DATABASE_URL` from the environment; with `--source-password-stdin` the password
is the first line of stdin (before the APP_KEY) and goes into the URL here, unescaped. A password
inside `--source-url` still works but draws a warning. The password and the URL with it are never
printed: the report names the source with `***` in its place.

Reads `companies.calcom_api_key`, `calcom_team_slug`, `calcom_event_type_id`, `retell_api_key`,
`retell_agent_id` and `retell_configurations.webhook_secret` from the legacy database (MySQL,
PostgreSQL or SQLite through SQLAlchemy). Values encrypted by Laravel's `Crypt::encryptString` (or
`encrypt()`, which PHP-serialises first) are decrypted with the host's APP_KEY, read from stdin;
plaintext values are accepted as the legacy accessors did. Legacy companies are matched to hub
companies by slug or name (case-insensitive).

Dry run by default: a per-company report and no writes, no provider calls. `--apply` saves each key
through the normal save flow (format check, live validation, encryption under the hub's key ring,
audit as actor "import-legacy"). A config that already holds the same key is left alone, and one
holding a *different* key is never overwritten (the hub's key is newer), so a second run reports
"nothing to do". Keys are only ever shown masked.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import sys
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import MetaData, Table, create_engine, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from .crypto import context_for, fingerprint, mask
from .db import Hub
from .errors import HubError
from .i18n import t
from .models import Company, IntegrationConfig
from .redaction import remember_secret
from .services.audit import record_audit
from .validation import slugify

ACTOR = "import-legacy"
SOURCE_URL_ENV = "INTEGHUB_LEGACY_DATABASE_URL"


class LegacyImportError(HubError):
    key = "ops.legacy.error"


class LegacyDecryptError(Exception):
    """A value that looks Laravel-encrypted but cannot be decrypted (wrong APP_KEY or damaged)."""


# --- Laravel Crypt (AES-256-CBC, HMAC-SHA256 over base64 iv + base64 value) -----------------------
def parse_app_key(text: str) -> bytes:
    """APP_KEY as Laravel parses it: 'base64:<b64>' → raw bytes; must be 32 bytes (AES-256-CBC)."""
    text = (text or "").strip()
    if text.startswith("base64:"):
        try:
            raw = base64.b64decode(text[len("base64:"):], validate=True)
        except (binascii.Error, ValueError):
            raise LegacyImportError("ops.legacy.app_key_invalid") from None
    else:
        raw = text.encode("utf-8")
    if len(raw) != 32:
        raise LegacyImportError("ops.legacy.app_key_invalid")
    return raw


def looks_encrypted(value: str) -> bool:
    # base64 of '{"iv":' — what Laravel's own accessors and CHECK constraints test for
    return value.startswith("eyJ")


def laravel_decrypt(payload: str, key: bytes) -> str:
    """Crypt::decryptString; also unwraps values written by encrypt() (PHP-serialised strings)."""
    try:
        data = json.loads(base64.b64decode(payload, validate=False))
        iv_b64, value_b64, mac = data["iv"], data["value"], data["mac"]
        if not all(isinstance(x, str) for x in (iv_b64, value_b64, mac)):
            raise TypeError
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise LegacyDecryptError("not a Laravel payload") from None
    expected = hmac.new(key, (iv_b64 + value_b64).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        raise LegacyDecryptError("The MAC is invalid.")
    try:
        iv = base64.b64decode(iv_b64)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(base64.b64decode(value_b64)) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")
    except (ValueError, binascii.Error):
        raise LegacyDecryptError("The payload cannot be decrypted.") from None
    return php_unserialize_string(plain)


def php_unserialize_string(plain: str) -> str:
    m = re.fullmatch(r's:(\d+):"(.*)";', plain, re.S)
    if m and len(m.group(2).encode("utf-8")) == int(m.group(1)):
        return m.group(2)
    return plain


# --- report -------------------------------------------------------------------------------------
@dataclass
class ProviderPlan:
    """What happens (or would happen) to one provider of one company."""

    action: str  # import | unchanged | skipped | failed | none
    key_mask: str | None = None
    key_fingerprint: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    webhook_secret: str | None = None  # import | unchanged | skipped | None — masked facts only
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class CompanyReport:
    legacy_id: str
    legacy_name: str | None
    legacy_slug: str | None
    company_id: str | None = None
    company_name: str | None = None
    matched_by: str | None = None  # slug | name
    unmatched_reason: str | None = None
    providers: dict[str, ProviderPlan] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    apply: bool
    companies: list[CompanyReport] = field(default_factory=list)
    source: str | None = None  # the source URL with *** for its password
    # (legacy id, provider) -> (key, webhook secret) in plaintext, for --apply only; never reported
    plaintext: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict, repr=False)

    def counts(self) -> dict[str, int]:
        c = {"legacy_companies": len(self.companies), "matched": 0, "unmatched": 0, "import": 0,
             "unchanged": 0, "skipped": 0, "failed": 0, "webhook_secrets": 0}
        for comp in self.companies:
            if comp.company_id is None:
                c["unmatched"] += 1
                continue
            c["matched"] += 1
            for plan in comp.providers.values():
                if plan.action in c:
                    c[plan.action] += 1
                if plan.webhook_secret == "import":
                    c["webhook_secrets"] += 1
        return c

    @property
    def nothing_to_do(self) -> bool:
        c = self.counts()
        return c["import"] == 0 and c["webhook_secrets"] == 0

    @property
    def failed(self) -> bool:
        return self.counts()["failed"] > 0

    def as_json(self) -> dict[str, Any]:
        return {"apply": self.apply, "source": self.source, "nothing_to_do": self.nothing_to_do,
                "summary": self.counts(),
                "companies": [asdict(c) for c in self.companies if c.company_id is not None],
                "unmatched": [{"legacy_id": c.legacy_id, "legacy_name": c.legacy_name, "legacy_slug": c.legacy_slug,
                               "reason": c.unmatched_reason} for c in self.companies if c.company_id is None]}


# --- reading the legacy database ----------------------------------------------------------------
@dataclass
class LegacyCompany:
    id: str
    name: str | None
    slug: str | None
    calcom_api_key: str | None = None
    calcom_team_slug: str | None = None
    calcom_event_type_id: str | None = None
    retell_api_key: str | None = None
    retell_agent_id: str | None = None
    retell_webhook_secret: str | None = None
    branch_overrides: int = 0

    def __repr__(self) -> str:  # never the key columns
        return f"LegacyCompany(id={self.id!r}, name={self.name!r})"


COMPANY_COLUMNS = ("calcom_api_key", "calcom_team_slug", "calcom_event_type_id", "retell_api_key", "retell_agent_id")


def source_url(url: str | URL | None, *, password: str | None = None) -> URL:
    """The legacy database's URL, `password` (read from stdin) put into it. Never echoes the input:
    SQLAlchemy's own parse errors quote the whole string, password included."""
    if url is None or (isinstance(url, str) and not url.strip()):
        raise LegacyImportError("ops.legacy.no_source", env=SOURCE_URL_ENV)
    try:
        parsed = make_url(url.strip() if isinstance(url, str) else url)
    except (ArgumentError, ValueError):
        raise LegacyImportError("ops.legacy.bad_url") from None
    if password is not None:
        parsed = parsed.set(password=password)
    if parsed.password:
        remember_secret(str(parsed.password))
    return parsed


def describe_source(url: URL) -> str:
    """The URL with `***` for the password: what reports and messages may show."""
    return url.render_as_string(hide_password=True)


def read_legacy(source: str | URL) -> list[LegacyCompany]:
    url = source_url(source)
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise LegacyImportError("ops.legacy.bad_url") from None
    try:
        with engine.connect() as conn:
            insp = inspect(conn)
            tables = set(insp.get_table_names())
            if "companies" not in tables:
                raise LegacyImportError("ops.legacy.no_companies_table")
            md = MetaData()
            companies = Table("companies", md, autoload_with=conn)
            cols = companies.c
            wanted = [cols.id] + [cols[n] for n in ("name", "slug", *COMPANY_COLUMNS) if n in cols]
            stmt = select(*wanted).order_by(cols.id)
            if "deleted_at" in cols:
                stmt = stmt.where(cols.deleted_at.is_(None))
            result: dict[str, LegacyCompany] = {}
            for row in conn.execute(stmt).mappings():
                comp = LegacyCompany(id=str(row["id"]), name=_text(row.get("name")), slug=_text(row.get("slug")))
                for n in COMPANY_COLUMNS:
                    setattr(comp, n, _text(row.get(n)))
                result[comp.id] = comp
            if "retell_configurations" in tables:
                rc = Table("retell_configurations", md, autoload_with=conn)
                if "webhook_secret" in rc.c and "company_id" in rc.c:
                    for row in conn.execute(select(rc.c.company_id, rc.c.webhook_secret)):
                        comp = result.get(str(row.company_id))
                        if comp is not None:
                            comp.retell_webhook_secret = _text(row.webhook_secret)
            if "branches" in tables:
                br = Table("branches", md, autoload_with=conn)
                if {"company_id", "calcom_api_key"} <= set(br.c.keys()):
                    stmt = select(br.c.company_id).where(br.c.calcom_api_key.is_not(None), br.c.calcom_api_key != "")
                    if "calendar_mode" in br.c:
                        stmt = stmt.where(br.c.calendar_mode == "override")
                    for row in conn.execute(stmt):
                        comp = result.get(str(row.company_id))
                        if comp is not None:
                            comp.branch_overrides += 1
            return list(result.values())
    except LegacyImportError:
        raise
    except SQLAlchemyError as exc:
        raise LegacyImportError("ops.legacy.source_unreadable", kind=type(exc).__name__) from None
    finally:
        engine.dispose()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = str(value).strip()
    return value or None


# --- planning and applying ----------------------------------------------------------------------
class _Matcher:
    def __init__(self, hub: Hub):
        self.by_slug: dict[str, list[Company]] = {}
        self.by_name: dict[str, list[Company]] = {}
        with hub.session() as s:
            for c in s.execute(select(Company.id, Company.name, Company.slug)):
                self.by_slug.setdefault(c.slug.lower(), []).append(c)
                self.by_name.setdefault(c.name.strip().lower(), []).append(c)

    def match(self, legacy: LegacyCompany) -> tuple[Any | None, str | None, str | None]:
        """(hub company row, matched_by, reason when unmatched)."""
        candidates: list[tuple[str, str]] = []
        if legacy.slug:
            candidates.append(("slug", legacy.slug.lower()))
        if legacy.name:
            candidates.append(("name", legacy.name.strip().lower()))
            candidates.append(("slug", slugify(legacy.name)))
        for how, value in candidates:
            found = (self.by_slug if how == "slug" else self.by_name).get(value, [])
            if len(found) == 1:
                return found[0], how, None
            if len(found) > 1:
                return None, None, "ambiguous"
        return None, None, "no_match"


def _reveal(value: str | None, app_key: bytes | None) -> str | None:
    """Plaintext of a legacy column value (None when empty)."""
    if not value:
        return None
    if looks_encrypted(value):
        if app_key is None:
            raise LegacyDecryptError("APP_KEY needed")
        plain = laravel_decrypt(value, app_key)
    else:
        plain = value
    plain = plain.strip()
    remember_secret(plain)
    return plain or None


def plan_import(hub: Hub, legacy_rows: list[LegacyCompany], app_key: bytes | None) -> ImportReport:
    from .services.configs import get_secret, load_configs

    report = ImportReport(apply=False)
    matcher = _Matcher(hub)
    for legacy in legacy_rows:
        comp = CompanyReport(legacy.id, legacy.name, legacy.slug)
        report.companies.append(comp)
        row, how, reason = matcher.match(legacy)
        if row is None:
            comp.unmatched_reason = reason
            continue
        comp.company_id, comp.company_name, comp.matched_by = str(row.id), row.name, how
        if legacy.branch_overrides:
            comp.warnings.append(f"branch_overrides={legacy.branch_overrides}")
        current = load_configs(hub, row.id)
        sources = {
            "calcom": (legacy.calcom_api_key, {"team_slug": legacy.calcom_team_slug,
                                               "default_event_type_id": legacy.calcom_event_type_id}, None),
            "retell": (legacy.retell_api_key, {"default_agent_id": legacy.retell_agent_id},
                       legacy.retell_webhook_secret),
        }
        for provider, (key_value, raw_settings, secret_value) in sources.items():
            plan = ProviderPlan(action="none")
            comp.providers[provider] = plan
            try:
                key = _reveal(key_value, app_key)
                secret = _reveal(secret_value, app_key)
            except LegacyDecryptError as exc:
                plan.action, plan.reason = "failed", ("app_key_missing" if str(exc) == "APP_KEY needed"
                                                      else "decrypt_failed")
                continue
            plan.settings = _legacy_settings(provider, raw_settings, plan.warnings)
            view = current[provider]
            if key is None:
                plan.reason = "no_key"
            else:
                plan.key_mask, plan.key_fingerprint = mask(key), fingerprint(key)
                if not view.has_key:
                    plan.action = "import"
                elif view.key_fingerprint == plan.key_fingerprint:
                    plan.action = "unchanged"
                else:
                    plan.action, plan.reason = "skipped", "hub_has_other_key"
            if secret is not None:
                stored = get_secret(hub, row.id, provider, "webhook_secret") if view.has_webhook_secret else None
                if stored is None:
                    plan.webhook_secret = "import" if plan.action in ("import", "unchanged") else "skipped"
                else:
                    plan.webhook_secret = "unchanged" if stored == secret else "skipped"
            report.plaintext[(legacy.id, provider)] = (key, secret)
    return report


def _legacy_settings(provider: str, raw: dict[str, str | None], warnings: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if name == "default_event_type_id":
            if not value.isdigit() or int(value) <= 0:
                warnings.append(f"ignored default_event_type_id={value!r} (not a numeric Cal.com id)")
                continue
            settings[name] = int(value)
        elif name == "team_slug":
            settings[name] = value.lower()
        else:
            settings[name] = value
    return settings


def apply_import(hub: Hub, report: ImportReport) -> None:
    """Write every planned import through the normal save flow; failures are recorded per company."""
    from .services.configs import save_config

    report.apply = True
    for comp in report.companies:
        if comp.company_id is None:
            continue
        for provider, plan in comp.providers.items():
            key, secret = report.plaintext.get((comp.legacy_id, provider), (None, None))
            if plan.action == "import":
                result = save_config(hub, comp.company_id, provider, api_key=key, settings=plan.settings,
                                     actor=ACTOR, trigger_sync=False)
                if not result.ok:
                    plan.action, plan.reason = "failed", result.error_message("en")
                    if plan.webhook_secret == "import":
                        plan.webhook_secret = "skipped"
                    continue
            if plan.webhook_secret == "import" and secret is not None:
                _store_webhook_secret(hub, uuid.UUID(comp.company_id), provider, secret)


def _store_webhook_secret(hub: Hub, cid: uuid.UUID, provider: str, secret: str) -> None:
    """Legacy webhook secrets are kept for reference (Retell signs with the API key itself)."""
    with hub.session() as s:
        row = s.scalar(select(IntegrationConfig).where(IntegrationConfig.company_id == cid,
                                                       IntegrationConfig.provider == provider))
        if row is None or row.webhook_secret:
            return
        row.webhook_secret = hub.keyring.encrypt(secret, context_for(cid, provider, "webhook_secret"))
        record_audit(s, actor=ACTOR, action="config.webhook_secret_imported", company_id=cid, provider=provider,
                     details={"source": "legacy", "webhook_secret_fingerprint": fingerprint(secret)})


def run_import(hub: Hub, source: str | URL, *, app_key: str | None = None, apply: bool = False) -> ImportReport:
    key = parse_app_key(app_key) if app_key else None
    if app_key:
        remember_secret(app_key.strip())
    url = source_url(source)
    legacy_rows = read_legacy(url)
    report = plan_import(hub, legacy_rows, key)
    report.source = describe_source(url)
    if apply:
        apply_import(hub, report)
    return report


# --- CLI ----------------------------------------------------------------------------------------
def _read_app_key() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        print("APP_KEY (base64:…):", file=sys.stderr)
    return (sys.stdin.readline() if sys.stdin else "").strip()


def _read_password() -> str:
    """The first line of stdin as it is (only the line break removed: passwords may end in blanks);
    typed without echo on a terminal."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(t("ops.legacy.password_prompt") + " ")
    return (sys.stdin.readline() if sys.stdin else "").rstrip("\r\n")


def render_text(report: ImportReport) -> list[str]:
    lines: list[str] = [f"source: {report.source}"] if report.source else []
    mode = "apply" if report.apply else "dry run"
    for comp in report.companies:
        if comp.company_id is None:
            continue
        lines.append(f"company {comp.company_name!r} ({comp.company_id}) <- legacy #{comp.legacy_id} "
                     f"{comp.legacy_name!r} [matched by {comp.matched_by}]")
        for provider, plan in comp.providers.items():
            verb = {"import": "imported" if report.apply else "would import"}.get(plan.action, plan.action)
            parts = [f"  {provider}: {verb}"]
            if plan.key_mask:
                parts.append(f"key {plan.key_mask} ({plan.key_fingerprint})")
            if plan.settings and plan.action == "import":
                parts.append("settings " + ", ".join(f"{k}={v}" for k, v in sorted(plan.settings.items())))
            if plan.webhook_secret:
                parts.append(f"webhook secret: {plan.webhook_secret}")
            if plan.reason:
                parts.append(f"- {plan.reason}")
            lines.append(" ".join(parts))
            lines.extend(f"    ! {w}" for w in plan.warnings)
        lines.extend(f"  ! {w}" for w in comp.warnings)
    for comp in report.companies:
        if comp.company_id is None:
            lines.append(f"unmatched: legacy #{comp.legacy_id} {comp.legacy_name!r} (slug {comp.legacy_slug or '-'}): "
                         f"{'several hub companies match' if comp.unmatched_reason == 'ambiguous' else 'no hub company with this slug or name'}")
    c = report.counts()
    lines.append(f"{mode}: legacy companies={c['legacy_companies']} matched={c['matched']} unmatched={c['unmatched']} "
                 f"{'imported' if report.apply else 'to import'}={c['import']} unchanged={c['unchanged']} "
                 f"skipped={c['skipped']} failed={c['failed']} webhook_secrets={c['webhook_secrets']}")
    if report.nothing_to_do and not report.failed:
        lines.append("nothing to do")
    elif not report.apply and c["import"]:
        lines.append("Run again with --apply to write these keys.")
    return lines


def cli(args, hub: Hub, out) -> int:
    given = getattr(args, "source_url", None)
    raw = given if given not in (None, "") else os.environ.get(SOURCE_URL_ENV, "")
    if not raw.strip():
        print(f"error: {t('ops.legacy.no_source', env=SOURCE_URL_ENV)}", file=sys.stderr)
        return 2
    if given and _has_password(given):
        print(f"warning: {t('ops.legacy.password_in_argv', env=SOURCE_URL_ENV)}", file=sys.stderr)
    password = None
    if getattr(args, "source_password_stdin", False):  # stdin: the password first, then the APP_KEY
        password = _read_password()
        if not password:
            raise LegacyImportError("ops.legacy.password_empty")
        remember_secret(password)
    url = source_url(raw, password=password)
    app_key = _read_app_key() if args.app_key_stdin else None
    if args.app_key_stdin and not app_key:
        raise LegacyImportError("ops.legacy.app_key_invalid")
    report = run_import(hub, url, app_key=app_key, apply=args.apply)
    if args.json:
        out(json.dumps(report.as_json(), indent=2, default=str))
    else:
        for line in render_text(report):
            out(line)
    if report.failed:
        print(f"error: {report.counts()['failed']} provider config(s) could not be imported (see report).",
              file=sys.stderr)
        return 1
    return 0


def _has_password(raw: str) -> bool:
    try:
        return bool(make_url(raw.strip()).password)
    except (ArgumentError, ValueError):
        return "@" in raw  # unparsable: warn when it might hold credentials

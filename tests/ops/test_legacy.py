"""Legacy key import: a legacy host database with Laravel-encrypted keys lands in the hub's key ring.

The Laravel ciphertexts here are made by this test's own encryptor, written from Laravel's
Encrypter (AES-256-CBC, PKCS#7, mac = HMAC-SHA256(key, base64 iv + base64 value) in hex, JSON
{iv, value, mac, tag} base64-encoded), not by the code under test.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import uuid

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import create_engine, func, make_url, select, text

from integhub import legacy
from integhub.crypto import token_key_id
from integhub.models import AuditEvent, IntegrationConfig
from integhub.services.companies import create_company
from integhub.services.configs import get_secret

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MYSQL_URL = os.environ.get("INTEGHUB_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
PG_URL = os.environ.get("INTEGHUB_TEST_POSTGRES_URL")

RAW_APP_KEY = bytes(range(32))
APP_KEY = "base64:" + base64.b64encode(RAW_APP_KEY).decode()


# --- an independent Laravel Crypt::encryptString ---------------------------------------------
def laravel_encrypt(plain: str, raw_key: bytes = RAW_APP_KEY, *, serialize: bool = False) -> str:
    if serialize:  # encrypt() / the HEAD-era mutators: PHP serialize() first
        plain = f's:{len(plain.encode())}:"{plain}";'
    data = plain.encode()
    pad = 16 - len(data) % 16
    data += bytes([pad]) * pad
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(raw_key), modes.CBC(iv)).encryptor()
    iv_b64 = base64.b64encode(iv).decode()
    value_b64 = base64.b64encode(enc.update(data) + enc.finalize()).decode()
    mac = hmac.new(raw_key, (iv_b64 + value_b64).encode(), hashlib.sha256).hexdigest()
    payload = json.dumps({"iv": iv_b64, "value": value_b64, "mac": mac, "tag": ""}, separators=(",", ":"))
    return base64.b64encode(payload.encode()).decode()


def test_decrypts_laravel_values_and_refuses_a_wrong_key():
    secret = "cal_live_0123456789abcdef"
    token = laravel_encrypt(secret)
    assert token.startswith("eyJpdiI6")
    assert legacy.laravel_decrypt(token, legacy.parse_app_key(APP_KEY)) == secret
    assert legacy.laravel_decrypt(laravel_encrypt(secret, serialize=True), RAW_APP_KEY) == secret
    with pytest.raises(legacy.LegacyDecryptError):
        legacy.laravel_decrypt(token, bytes(32))
    tampered = json.loads(base64.b64decode(token))
    tampered["value"] = base64.b64encode(b"x" * 32).decode()
    with pytest.raises(legacy.LegacyDecryptError):
        legacy.laravel_decrypt(base64.b64encode(json.dumps(tampered).encode()).decode(), RAW_APP_KEY)
    with pytest.raises(legacy.LegacyImportError):
        legacy.parse_app_key("base64:dG9vc2hvcnQ=")


# --- legacy databases --------------------------------------------------------------------------
LEGACY_DDL = [
    """CREATE TABLE companies (
        id BIGINT PRIMARY KEY, name VARCHAR(255) NOT NULL, slug VARCHAR(255) NULL,
        calcom_api_key TEXT NULL, calcom_team_slug VARCHAR(255) NULL, calcom_event_type_id VARCHAR(255) NULL,
        calcom_user_id VARCHAR(255) NULL, retell_api_key TEXT NULL, retell_agent_id VARCHAR(255) NULL,
        retell_voice VARCHAR(50) NULL, deleted_at TIMESTAMP NULL)""",
    """CREATE TABLE retell_configurations (
        id BIGINT PRIMARY KEY, company_id BIGINT NOT NULL, webhook_url VARCHAR(255) NULL, webhook_secret TEXT NULL)""",
    """CREATE TABLE branches (
        id VARCHAR(36) PRIMARY KEY, company_id BIGINT NOT NULL, name VARCHAR(255) NOT NULL,
        calcom_api_key TEXT NULL, calendar_mode VARCHAR(20) NULL)""",
]


def _make_sqlite(tmp_path):
    path = tmp_path / "legacy.sqlite"
    yield f"sqlite:///{path}"


def _make_mysql(tmp_path):
    name = f"legacy_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(MYSQL_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}`"))
    except Exception as exc:  # noqa: BLE001 - any failure means "no MySQL here"
        admin.dispose()
        if os.environ.get("INTEGHUB_REQUIRE_MYSQL") == "1":
            raise
        pytest.skip(f"MySQL/MariaDB at {make_url(MYSQL_URL).render_as_string()} unavailable: {type(exc).__name__}")
    try:
        yield make_url(MYSQL_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def _make_postgres(tmp_path):
    name = f"legacy_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


SOURCES = {"sqlite": _make_sqlite, "mysql": _make_mysql}
if PG_URL:
    SOURCES["postgresql"] = _make_postgres


@pytest.fixture(params=list(SOURCES))
def legacy_url(request, tmp_path):
    gen = SOURCES[request.param](tmp_path)
    url = next(gen)
    yield url
    gen.close()


def sim_facts(simulator, api_key: str) -> dict:
    return httpx.post(f"{simulator.url}/_sim/accounts", json={"api_key": api_key, "counts": {}}).json()


def fill_legacy(url: str, rows: list[dict], retell_configs: list[dict], branches: list[dict]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for ddl in LEGACY_DDL:
            conn.execute(text(ddl))
        cols = ["id", "name", "slug", "calcom_api_key", "calcom_team_slug", "calcom_event_type_id",
                "retell_api_key", "retell_agent_id", "deleted_at"]
        for r in rows:
            conn.execute(text(f"INSERT INTO companies ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"),
                         {c: r.get(c) for c in cols})
        for i, r in enumerate(retell_configs, 1):
            conn.execute(text("INSERT INTO retell_configurations (id, company_id, webhook_secret) VALUES (:i, :c, :s)"),
                         {"i": i, "c": r["company_id"], "s": r["webhook_secret"]})
        for b in branches:
            conn.execute(text("INSERT INTO branches (id, company_id, name, calcom_api_key, calendar_mode) "
                              "VALUES (:id, :c, :n, :k, :m)"), b)
    engine.dispose()


def import_cli(hub_env, source_url, *flags, app_key=APP_KEY):
    args = [sys.executable, "-m", "integhub", "import-legacy", "--source-url", source_url, *flags]
    if app_key is not None:
        args.append("--app-key-stdin")
    return subprocess.run(args, input=(app_key or "") + "\n", env={**os.environ, **hub_env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def count(hub, model, *where):
    with hub.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_import_lands_every_key_encrypted_and_a_second_run_has_nothing_to_do(hub, hub_env, simulator, legacy_url):
    cal_a, ret_a = "cal_live_alpha_5f0c2e9a7b1d", "key_alpha_9d8c7b6a5f4e3d2c"
    cal_b, ret_b = "cal_test_beta_1a2b3c4d5e6f", "key_beta_0f1e2d3c4b5a6978"
    hook_secret = "whsec_legacy_alpha_7e6d5c4b"
    cal_facts, ret_facts = sim_facts(simulator, cal_a), sim_facts(simulator, ret_a)
    team_slug = cal_facts["calcom"]["teams"][0]["slug"]
    agent_id = ret_facts["retell"]["agent_ids"][0]
    alpha = create_company(hub, "Praxis Alpha", "praxis-alpha").id
    beta = create_company(hub, "Zahnarzt Beta", "zahnarzt-beta").id
    create_company(hub, "Ohne Altdaten", "ohne-altdaten")
    fill_legacy(legacy_url, rows=[
        # matched by slug; keys as Crypt::encryptString wrote them, Retell as encrypt() (serialised)
        {"id": 1, "name": "Praxis Alpha (alt)", "slug": "praxis-alpha", "calcom_api_key": laravel_encrypt(cal_a),
         "calcom_team_slug": team_slug, "calcom_event_type_id": "4711",
         "retell_api_key": laravel_encrypt(ret_a, serialize=True), "retell_agent_id": agent_id},
        # matched by name, case-insensitive; plaintext values (before the encryption migration)
        {"id": 2, "name": "ZAHNARZT BETA", "slug": None, "calcom_api_key": cal_b, "calcom_event_type_id": "legacy-x",
         "retell_api_key": laravel_encrypt(ret_b)},
        {"id": 3, "name": "Unbekannte Praxis", "slug": "unbekannt", "calcom_api_key": laravel_encrypt("cal_live_zzz_999999")},
        {"id": 4, "name": "Praxis Alpha", "slug": "geloescht", "deleted_at": "2025-06-01 00:00:00",
         "calcom_api_key": laravel_encrypt("cal_live_deleted_00000")},
    ], retell_configs=[{"company_id": 1, "webhook_secret": laravel_encrypt(hook_secret)}],
        branches=[{"id": str(uuid.uuid4()), "c": 1, "n": "Filiale", "k": laravel_encrypt("cal_live_branch_1111"),
                   "m": "override"}])
    plaintexts = [cal_a, ret_a, cal_b, ret_b, hook_secret, APP_KEY, APP_KEY.split(":", 1)[1]]

    dry = import_cli(hub_env, legacy_url)
    assert dry.returncode == 0, dry.stderr
    assert "would import" in dry.stdout and "Run again with --apply" in dry.stdout
    assert "unmatched: legacy #3 'Unbekannte Praxis'" in dry.stdout
    assert "geloescht" not in dry.stdout  # soft-deleted legacy rows are not imported
    assert "cal_live_…7b1d" in dry.stdout  # masks only
    assert "branch_overrides=1" in dry.stdout
    assert count(hub, IntegrationConfig) == 0  # a dry run writes nothing

    applied = import_cli(hub_env, legacy_url, "--apply", "--json")
    assert applied.returncode == 0, applied.stderr
    doc = json.loads(applied.stdout)
    assert doc["summary"]["import"] == 4 and doc["summary"]["failed"] == 0
    assert doc["summary"]["unmatched"] == 1 and doc["summary"]["webhook_secrets"] == 1
    by_company = {c["company_id"]: c for c in doc["companies"]}
    assert by_company[str(alpha)]["matched_by"] == "slug" and by_company[str(beta)]["matched_by"] == "name"
    for out in (dry.stdout + dry.stderr, applied.stdout + applied.stderr):
        for secret in plaintexts:
            assert secret not in out

    assert get_secret(hub, alpha, "calcom") == cal_a
    assert get_secret(hub, alpha, "retell") == ret_a
    assert get_secret(hub, alpha, "retell", "webhook_secret") == hook_secret
    assert get_secret(hub, beta, "calcom") == cal_b
    assert get_secret(hub, beta, "retell") == ret_b
    with hub.session() as s:
        rows = {(r.company_id, r.provider): r for r in s.scalars(select(IntegrationConfig))}
        assert len(rows) == 4
        for row in rows.values():
            assert token_key_id(row.api_key) == hub.keyring.primary_id  # under the hub's own key ring
            for secret in plaintexts:
                assert secret not in row.api_key
        assert rows[(alpha, "calcom")].settings["team_slug"] == team_slug
        assert rows[(alpha, "calcom")].settings["default_event_type_id"] == 4711
        assert rows[(alpha, "retell")].settings["default_agent_id"] == agent_id
        assert rows[(beta, "calcom")].settings["default_event_type_id"] is None  # "legacy-x" is not an id
        audits = list(s.scalars(select(AuditEvent).where(AuditEvent.actor == "import-legacy")))
    assert sorted(a.action for a in audits) == ["config.created"] * 4 + ["config.webhook_secret_imported"]
    for a in audits:
        dump = json.dumps(a.details) + str(a.old_key_fingerprint) + str(a.new_key_fingerprint)
        for secret in plaintexts:
            assert secret not in dump

    audit_count = count(hub, AuditEvent)
    again = import_cli(hub_env, legacy_url, "--apply")
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert "to import=0" not in again.stdout and "imported=0" in again.stdout
    assert count(hub, AuditEvent) == audit_count
    assert count(hub, IntegrationConfig) == 4


def test_wrong_app_key_or_invalid_key_changes_nothing(hub, hub_env, simulator, tmp_path):
    url = f"sqlite:///{tmp_path / 'legacy.sqlite'}"
    alpha = create_company(hub, "Praxis Alpha", "praxis-alpha").id
    create_company(hub, "Praxis Gamma", "praxis-gamma")
    fill_legacy(url, rows=[
        {"id": 1, "name": "Praxis Alpha", "calcom_api_key": laravel_encrypt("cal_live_alpha_5f0c2e9a7b1d")},
        {"id": 2, "name": "Praxis Gamma", "calcom_api_key": laravel_encrypt("cal_live_invalid_000000000")},
    ], retell_configs=[], branches=[])

    wrong = import_cli(hub_env, url, "--apply", app_key="base64:" + base64.b64encode(b"k" * 32).decode())
    assert wrong.returncode == 1 and "decrypt_failed" in wrong.stdout and "Traceback" not in wrong.stderr
    assert count(hub, IntegrationConfig) == 0

    missing = import_cli(hub_env, url, app_key=None)
    assert missing.returncode == 1 and "app_key_missing" in missing.stdout

    bad = import_cli(hub_env, url, "--apply", app_key="not-a-key")
    assert bad.returncode == 1 and "APP_KEY" in bad.stderr and "not-a-key" not in bad.stderr + bad.stdout

    partly = import_cli(hub_env, url, "--apply")
    assert partly.returncode == 1, partly.stdout
    assert "failed" in partly.stdout and "imported" in partly.stdout
    assert get_secret(hub, alpha, "calcom") == "cal_live_alpha_5f0c2e9a7b1d"
    assert count(hub, IntegrationConfig) == 1  # the rejected key was not stored
    assert "cal_live_invalid_000000000" not in partly.stdout + partly.stderr

    unreadable = import_cli(hub_env, f"sqlite:///{tmp_path / 'missing' / 'nope.sqlite'}")
    assert unreadable.returncode == 1 and unreadable.stderr.startswith("error: ")
    assert "Traceback" not in unreadable.stderr


# --- the source database's password stays out of argv and out of every output -------------------
LEGACY_PASSWORD = "Pa55:w/rd@alt#1 ?"  # URL-special characters: a stdin password needs no escaping


@pytest.fixture
def mysql_reader(tmp_path):
    """A MySQL legacy database (root URL, for filling it) and a read-only user that needs
    LEGACY_PASSWORD, as a URL without the password. MySQL checks passwords; the PostgreSQL test
    server trusts local logins, so it could not show a wrong password failing."""
    gen = _make_mysql(tmp_path)
    root_url = next(gen)
    database = make_url(root_url).database
    user = f"legacy_ro_{uuid.uuid4().hex[:8]}"
    admin = create_engine(root_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY :pw"), {"pw": LEGACY_PASSWORD})
        conn.execute(text(f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'"))
    try:
        yield root_url, make_url(root_url).set(username=user, password=None)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))
        admin.dispose()
        gen.close()


def legacy_cli(hub_env, *flags, stdin="", env=None):
    """(argv, finished process); INTEGHUB_LEGACY_DATABASE_URL only when `env` sets it."""
    args = [sys.executable, "-m", "integhub", "import-legacy", *flags]
    run_env = {**os.environ, **hub_env}
    run_env.pop(legacy.SOURCE_URL_ENV, None)
    run_env.update(env or {})
    return args, subprocess.run(args, input=stdin, env=run_env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_source_password_comes_from_stdin_or_the_environment_and_is_never_shown(hub, hub_env, simulator,
                                                                                    mysql_reader):
    root_url, reader = mysql_reader
    key = "cal_live_alpha_5f0c2e9a7b1d"
    alpha = create_company(hub, "Praxis Alpha", "praxis-alpha").id
    fill_legacy(root_url, rows=[{"id": 1, "name": "Praxis Alpha", "calcom_api_key": laravel_encrypt(key)}],
                retell_configs=[], branches=[])
    plain_url = reader.render_as_string(hide_password=False)  # no password in it
    full_url = reader.set(password=LEGACY_PASSWORD).render_as_string(hide_password=False)  # percent-escaped
    shown = reader.set(password=LEGACY_PASSWORD).render_as_string(hide_password=True)
    assert "***" in shown
    never = (LEGACY_PASSWORD, full_url, full_url.split("@")[0], "Pa55")

    def clean(args, proc):
        assert not any(secret in " ".join(args) for secret in never)  # argv: what `ps` shows
        assert not any(secret in proc.stdout + proc.stderr for secret in never)
        assert "Traceback" not in proc.stderr

    # the URL without the password in argv, the password on stdin's first line, the APP_KEY on the second
    args, p = legacy_cli(hub_env, "--source-url", plain_url, "--source-password-stdin", "--app-key-stdin", "--json",
                         stdin=f"{LEGACY_PASSWORD}\n{APP_KEY}\n")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["summary"]["import"] == 1 and doc["source"] == shown
    assert "warning" not in p.stderr
    clean(args, p)

    # the whole URL, password included, from the environment
    args, p = legacy_cli(hub_env, "--app-key-stdin", "--apply", stdin=f"{APP_KEY}\n",
                         env={legacy.SOURCE_URL_ENV: full_url})
    assert p.returncode == 0, p.stderr
    assert f"source: {shown}" in p.stdout and "imported=1" in p.stdout and "warning" not in p.stderr
    clean(args, p)
    assert get_secret(hub, alpha, "calcom") == key

    # the password inside --source-url still works, with a warning that names the way out
    args, p = legacy_cli(hub_env, "--source-url", full_url, "--app-key-stdin", stdin=f"{APP_KEY}\n")
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith("warning: ") and legacy.SOURCE_URL_ENV in p.stderr
    assert "--source-password-stdin" in p.stderr and "nothing to do" in p.stdout
    assert not any(secret in p.stdout + p.stderr for secret in never)

    # a wrong password: one clear line, naming neither password
    args, p = legacy_cli(hub_env, "--source-url", plain_url, "--source-password-stdin", "--app-key-stdin",
                         stdin=f"wrong-{LEGACY_PASSWORD}\n{APP_KEY}\n")
    assert p.returncode == 1 and p.stderr.startswith("error: ") and len(p.stderr.strip().splitlines()) == 1
    assert "wrong-" not in p.stdout + p.stderr
    clean(args, p)


def test_a_missing_source_or_password_is_refused_clearly(hub, hub_env):
    args, p = legacy_cli(hub_env, "--app-key-stdin", stdin=f"{APP_KEY}\n")
    assert p.returncode == 2 and p.stderr.startswith("error: ") and legacy.SOURCE_URL_ENV in p.stderr
    args, p = legacy_cli(hub_env, "--source-url", "mysql+pymysql://reader@legacy-db/askpro", "--source-password-stdin",
                         stdin="\n")
    assert p.returncode == 1 and "kein Passwort" in p.stderr
    args, p = legacy_cli(hub_env, env={legacy.SOURCE_URL_ENV: f"mysql+pymysql://u:{LEGACY_PASSWORD}@h:port/db"})
    assert p.returncode == 1 and p.stderr.startswith("error: ") and "Traceback" not in p.stderr
    assert LEGACY_PASSWORD not in p.stdout + p.stderr and "Pa55" not in p.stdout + p.stderr
    args, p = legacy_cli(hub_env, "--source-url", f"mysql+pymysql://u:{LEGACY_PASSWORD}@h:port/db")
    assert p.returncode == 1 and p.stderr.startswith("warning: ") and "Pa55" not in p.stdout + p.stderr

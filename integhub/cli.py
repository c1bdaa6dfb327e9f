"""`python -m integhub …` — the scripting contract (../shared/contract.md).

Exit status: 0 success, 1 the operation failed (one clear line on stderr), 2 usage error.
API keys come from standard input only, never from argv.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from sqlalchemy.exc import OperationalError, ProgrammingError

from .crypto import CryptoError, KeyRingError, generate_key
from .db import Hub, StartupError
from .errors import HubError, NotAvailable
from .i18n import t
from .providers import all_providers
from .providers.errors import ProviderError
from .validation import SYNC_INTERVALS

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def register(fn):
        COMMANDS[name] = fn
        return fn
    return register


class CommandFailed(Exception):
    """An expected failure: print the message, exit 1."""


def _hub(check_keys: bool = True) -> Hub:
    return Hub.from_env(check_keys=check_keys)


def _out(line: str) -> None:
    print(line, flush=True)


def _read_key_from_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        print(t("cli.key_prompt"), file=sys.stderr)
    data = sys.stdin.readline() if sys.stdin else ""
    return data.rstrip("\r\n")


# --- commands ---------------------------------------------------------------------------------
@command("migrate")
def cmd_migrate(args) -> int:
    from . import migrate

    hub = _hub(check_keys=False)
    migrate.upgrade(hub.engine)
    hub.verify_key_ring()
    _out(f"Database migrated to {migrate.current_revision(hub.engine)}.")
    return 0


@command("generate-key")
def cmd_generate_key(args) -> int:
    _out(generate_key())
    return 0


@command("rotate-keys")
def cmd_rotate_keys(args) -> int:
    from .services.keys import rotate_keys

    hub = _hub(check_keys=False)  # rotation is how a mismatching ring gets fixed
    report = rotate_keys(hub, batch_size=args.batch_size,
                         progress=lambda done, total: print(f"{done}/{total} configs", file=sys.stderr))
    _out(f"rotated={report.rotated} already_current={report.already_current} failed={len(report.failed)} "
         f"primary_key_id={hub.keyring.primary_id}")
    for company_id, provider, field in report.failed:
        print(f"cannot decrypt: company={company_id} provider={provider} field={field}", file=sys.stderr)
    return 1 if report.failed else 0


@command("check-keys")
def cmd_check_keys(args) -> int:
    from .services.keys import check_keys

    hub = _hub(check_keys=False)
    report = check_keys(hub)
    for company_id, provider, field, reason in report.bad:
        _out(f"BAD company={company_id} provider={provider} field={field} reason={reason}")
    counts = " ".join(f"{kid}={n}" for kid, n in sorted(report.by_key.items())) or "-"
    _out(f"ok={report.ok} bad={len(report.bad)} primary_key_id={hub.keyring.primary_id} by_key: {counts}")
    if report.bad:
        raise CommandFailed(f"{len(report.bad)} secret(s) cannot be decrypted with the configured key ring.")
    return 0


@command("company")
def cmd_company(args) -> int:
    from .services.companies import create_company

    company = create_company(_hub(), args.name, args.slug, actor=args.actor)
    _out(str(company.id))
    return 0


@command("branch")
def cmd_branch(args) -> int:
    from .services.companies import create_branch

    _out(str(create_branch(_hub(), args.company, args.name, actor=args.actor).id))
    return 0


@command("staff")
def cmd_staff(args) -> int:
    from .services.companies import create_staff

    _out(str(create_staff(_hub(), args.company, args.name, args.email, branch_id=args.branch, actor=args.actor).id))
    return 0


@command("configure")
def cmd_configure(args) -> int:
    from .services.configs import save_config

    provider = next(p for p in all_providers() if p.name == args.provider)
    settings = {}
    for f in provider.fields:
        if not f.cli_flag or f.name == "api_key":
            continue
        value = getattr(args, f.name, None)
        if value is not None:
            settings[f.name] = value
    api_key = _read_key_from_stdin() if args.api_key_stdin else None
    if args.api_key_stdin and not api_key.strip():
        raise CommandFailed(t("validation.key_empty"))
    result = save_config(_hub(), args.company, provider.name, api_key=api_key, settings=settings, actor=args.actor)
    for step in result.steps:
        _out(f"{step.name}: {'ok' if step.ok else 'failed'}{(' - ' + step.detail) if step.detail else ''}")
    if not result.ok:
        raise CommandFailed(result.error_message())
    view = result.config
    _out(f"saved {provider.name} for company {view.company_id}: key {view.key_mask} ({view.key_fingerprint}), version {view.version}")
    return 0


@command("status")
def cmd_status(args) -> int:
    from .services.status import company_status

    doc = company_status(_hub(), args.company, use_cache=False)
    if args.json:
        _out(json.dumps(doc, indent=2, default=str))
    else:
        for name, p in doc["providers"].items():
            _out(f"{name}: {p['state']}  last_sync_at={p['last_sync_at'] or '-'}  stats={p['stats']}")
            for issue in p["dependency_issues"]:
                _out(f"  ! {issue}")
    return 0


@command("sync")
def cmd_sync(args) -> int:
    from .services.companies import parse_uuid
    from .services.sync import SyncAlreadyRunning, SyncResult, run_sync

    hub = _hub()
    try:
        result = run_sync(hub, args.company, args.provider, actor=args.actor, trigger="cli")
    except SyncAlreadyRunning as exc:  # the contract's shape, with success false
        result = SyncResult(str(parse_uuid(args.company)), args.provider, False, error=exc.message(),
                            error_code="already_running")
    doc = result.as_json()
    if args.json:
        _out(json.dumps(doc, indent=2, default=str))
    else:
        _out(f"success={doc['success']} records_synced={doc['records_synced']} counts={doc['counts']}")
    if not doc["success"]:
        raise CommandFailed(doc.get("error") or "sync failed")
    return 0


@command("webhooks")
def cmd_webhooks(args) -> int:
    from .services import webhooks

    return webhooks.cli(args, _hub(), _out)


@command("worker")
def cmd_worker(args) -> int:
    from . import worker

    return worker.cli(args, _hub(), _out)


@command("import-legacy")
def cmd_import_legacy(args) -> int:
    from . import legacy

    return legacy.cli(args, _hub(), _out)


@command("roles")
def cmd_roles(args) -> int:
    from .services import access

    return access.cli(args, _hub(), _out)


@command("serve")
def cmd_serve(args) -> int:
    from .server import serve

    _hub()  # fail early (keys, database) with a clear message
    return serve(port=args.port)


@command("simulator")
def cmd_simulator(args) -> int:
    from .simulator.server import run

    run(args.port, host=args.host)
    return 0


# --- parser -----------------------------------------------------------------------------------
def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, at least 1 (got {text!r})")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m integhub", description="Integration Hub command line.")
    parser.add_argument("--actor", default="cli", help="name recorded in the audit log (default: cli)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("migrate", help="create or upgrade the database schema")
    sub.add_parser("generate-key", help="print a new encryption key for INTEGHUB_ENCRYPTION_KEYS")
    p = sub.add_parser("rotate-keys", help="re-encrypt every secret under the primary key (resumable)")
    p.add_argument("--batch-size", type=int, default=200)
    sub.add_parser("check-keys", help="list stored secrets the key ring cannot decrypt")

    p = sub.add_parser("company", help="manage companies")
    csub = p.add_subparsers(dest="action", required=True)
    c = csub.add_parser("create")
    c.add_argument("--name", required=True)
    c.add_argument("--slug")

    p = sub.add_parser("branch", help="manage branches")
    csub = p.add_subparsers(dest="action", required=True)
    c = csub.add_parser("create")
    c.add_argument("--company", required=True)
    c.add_argument("--name", required=True)

    p = sub.add_parser("staff", help="manage staff")
    csub = p.add_subparsers(dest="action", required=True)
    c = csub.add_parser("create")
    c.add_argument("--company", required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--email", required=True)
    c.add_argument("--branch")

    p = sub.add_parser("configure", help="save a provider's key and settings (key from stdin)")
    psub = p.add_subparsers(dest="provider", required=True, metavar="PROVIDER")
    for provider in all_providers():
        c = psub.add_parser(provider.name, help=f"configure {provider.display_name}")
        c.add_argument("--company", required=True)
        c.add_argument("--api-key-stdin", action="store_true", help="read the API key from standard input")
        for f in provider.fields:
            if not f.cli_flag or f.name == "api_key":
                continue
            if f.kind == "toggle":
                c.add_argument(f.cli_flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None)
            elif f.kind == "interval":
                c.add_argument(f.cli_flag, dest=f.name, type=int, choices=SYNC_INTERVALS, default=None)
            else:
                c.add_argument(f.cli_flag, dest=f.name, default=None)

    p = sub.add_parser("status", help="connection status of a company's providers")
    p.add_argument("--company", required=True)
    p.add_argument("--json", action="store_true")

    names = [pr.name for pr in all_providers()]
    p = sub.add_parser("sync", help="sync one provider of one company now")
    p.add_argument("--company", required=True)
    p.add_argument("--provider", required=True, choices=names)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("webhooks", help="register webhooks with a provider, replay or prune stored deliveries")
    wsub = p.add_subparsers(dest="action", required=True)
    c = wsub.add_parser("register")
    c.add_argument("--company", required=True)
    c.add_argument("--provider", required=True, choices=names)
    c.add_argument("--agent")
    c = wsub.add_parser("replay")
    c.add_argument("--company")
    c.add_argument("--provider", choices=names)
    c = wsub.add_parser("prune", help="delete processed deliveries older than the retention (failed ones stay)")
    c.add_argument("--older-than-days", type=_days, default=None,
                   help="retention in days (default: INTEGHUB_WEBHOOK_RETENTION_DAYS or 30)")
    c.add_argument("--json", action="store_true")

    p = sub.add_parser("worker", help="run due syncs (forever, or --once for cron)")
    p.add_argument("--once", action="store_true")
    p.add_argument("--concurrency", type=int, default=4)

    p = sub.add_parser("import-legacy", help="import API keys from the legacy host database (dry run by default)")
    p.add_argument("--source-url", help="SQLAlchemy URL of the legacy database without its password "
                   "(default: INTEGHUB_LEGACY_DATABASE_URL from the environment)")
    p.add_argument("--source-password-stdin", action="store_true",
                   help="read the legacy database password from stdin (first line, before the APP_KEY)")
    p.add_argument("--apply", action="store_true", help="write the keys (default: report only)")
    p.add_argument("--app-key-stdin", action="store_true", help="read the host's Laravel APP_KEY from stdin")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("roles", help="grant, revoke and list roles (admin, operator, analyst)")
    rsub = p.add_subparsers(dest="action", required=True)
    c = rsub.add_parser("grant")
    c.add_argument("--user", required=True, help="email of the person")
    c.add_argument("--role", required=True, choices=["admin", "operator", "analyst"])
    c.add_argument("--company", help="limit to one company (default: all companies)")
    c = rsub.add_parser("revoke")
    c.add_argument("--user", required=True)
    c.add_argument("--role", required=True, choices=["admin", "operator", "analyst"])
    c.add_argument("--company")
    rsub.add_parser("list")

    p = sub.add_parser("serve", help="start the UI and the webhook routes in one process")
    p.add_argument("--port", type=int, default=8501)

    p = sub.add_parser("simulator", help="run the Cal.com/Retell simulator standalone")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default="127.0.0.1")
    return parser


def main(argv: list[str] | None = None) -> int:
    from .redaction import install as install_redaction

    install_redaction()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except NotAvailable:
        print(f"error: '{args.command}' is not available yet.", file=sys.stderr)
        return 1
    except (HubError, ProviderError) as exc:
        print(f"error: {exc.message()}", file=sys.stderr)
        return 1
    except (StartupError, KeyRingError, CryptoError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except (OperationalError, ProgrammingError) as exc:
        print(f"error: {t('hub.database_error', 'en')} ({type(exc.orig).__name__ if exc.orig else 'db'})", file=sys.stderr)
        return 1
    except Exception as exc:  # an unexpected failure: one line, no traceback, no secret
        from .redaction import redact

        print(f"error: unexpected {type(exc).__name__}: {redact(str(exc))[:300]}", file=sys.stderr)
        return 1

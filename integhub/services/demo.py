"""Demo mode: a few demo companies whose providers are the built-in simulator, for offline click-throughs.

The provider clients read their base URLs from INTEGHUB_CALCOM_BASE_URL / INTEGHUB_RETELL_BASE_URL
each time a client is built, so pointing a process at the simulator means: start one
`SimulatorServer` in this process (a daemon thread on a free loopback port) and set both variables.
That happens once per process (`start_simulator` is idempotent and thread-safe; every Streamlit
session and the webhook routes share it) and again after a restart (`resume`), because the
database remembers that it holds the demo (app_meta `demo_mode`).

The base URLs are process-wide, so a process in demo mode talks to no real provider at all. That is
why the demo loads only into a database without real companies; use a separate database file for
a demo next to real data (see README, "Demo").
"""
from __future__ import annotations

import os
import secrets
import threading
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..db import Hub
from ..errors import HubError, NotAvailable
from ..models import AppMeta, Company
from ..providers.calcom_client import BASE_URL_ENV as CALCOM_BASE_URL_ENV
from ..providers.errors import ProviderError
from ..providers.retell_client import BASE_URL_ENV as RETELL_BASE_URL_ENV
from . import companies, configs
from .audit import record_audit

DEMO_META_KEY = "demo_mode"
DEMO_SLUG_PREFIX = "demo-"
DEMO_ACTOR = "demo"


@dataclass(frozen=True)
class DemoCompany:
    slug: str
    name: str
    branches: tuple[str, ...]
    staff: tuple[tuple[str, str], ...]  # (name, email local part); the domain comes from the simulator
    configure: tuple[str, ...] = ()  # providers set up (and synced) at load time
    owner_is_staff: bool = False  # the Cal.com key owner is a staff member, so a user maps


# One fully set up, one ready to be configured by hand, one that shows the dependency warnings.
DEMO_COMPANIES = (
    DemoCompany("demo-praxis-sonnenschein", "Zahnarztpraxis Dr. Sonnenschein (Demo)",
                ("Hauptpraxis Mitte", "Filiale Nord"),
                (("Dr. Clara Sonnenschein", "c.sonnenschein"), ("Jonas Weber", "j.weber")),
                configure=("calcom", "retell"), owner_is_staff=True),
    DemoCompany("demo-physio-bewegungsraum", "Physiotherapie Bewegungsraum (Demo)",
                ("Studio Altstadt",), (("Lena Hoffmann", "l.hoffmann"), ("Paul Becker", "p.becker"))),
    DemoCompany("demo-tierarzt-pfoetchen", "Tierarztpraxis Pfötchen (Demo)", (), ()),
)

_lock = threading.Lock()
_server = None  # the one SimulatorServer of this process


@dataclass
class DemoResult:
    company_ids: list[uuid.UUID] = field(default_factory=list)
    created: int = 0
    messages: list[str] = field(default_factory=list)  # non-fatal: e.g. a sync that could not run

    @property
    def first_company_id(self) -> uuid.UUID | None:
        return self.company_ids[0] if self.company_ids else None


def simulator_url() -> str | None:
    with _lock:
        return _server.url if _server is not None else None


def start_simulator() -> str:
    """Start this process's simulator once and point both providers' clients at it; returns its URL."""
    global _server
    with _lock:
        if _server is None:
            from ..simulator.server import SimulatorServer

            _server = SimulatorServer().start()
        os.environ[CALCOM_BASE_URL_ENV] = _server.url
        os.environ[RETELL_BASE_URL_ENV] = _server.url
        return _server.url


def simulator():
    """The running SimulatorServer (for its helpers, e.g. `facts`), or None."""
    with _lock:
        return _server


def is_demo(hub: Hub) -> bool:
    """Whether this database holds the demo (a missing table counts as "no")."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with hub.session() as s:
            row = s.get(AppMeta, DEMO_META_KEY)
            return row is not None and row.value == "1"
    except (OperationalError, ProgrammingError):
        return False


def resume(hub: Hub) -> str | None:
    """At process start: a demo database gets its simulator back. Returns the URL or None."""
    return start_simulator() if is_demo(hub) else None


def real_company_count(hub: Hub) -> int:
    with hub.session() as s:
        return s.scalar(select(func.count()).select_from(Company)
                        .where(~Company.slug.startswith(DEMO_SLUG_PREFIX))) or 0


def load_demo(hub: Hub, *, actor: str = DEMO_ACTOR, sync: bool = True) -> DemoResult:
    """Create the demo companies (idempotent) and switch this process to the simulator.

    Refused (HubError `ui.demo.refused_real_data`) when the database already has real companies,
    because the simulator would then stand in for their real providers too.
    """
    if real_company_count(hub):
        raise HubError("ui.demo.refused_real_data")
    url = start_simulator()
    with hub.session() as s:
        row = s.get(AppMeta, DEMO_META_KEY)
        if row is None:
            s.add(AppMeta(key=DEMO_META_KEY, value="1"))
            record_audit(s, actor=actor, action="demo.loaded", details={"simulator": url})
        else:
            row.value = "1"
    result = DemoResult()
    for spec in DEMO_COMPANIES:
        cid, created = _ensure_company(hub, spec, actor, result, sync=sync)
        result.company_ids.append(cid)
        result.created += int(created)
    return result


def _ensure_company(hub: Hub, spec: DemoCompany, actor: str, result: DemoResult, *,
                    sync: bool) -> tuple[uuid.UUID, bool]:
    with hub.session() as s:
        existing = s.scalar(select(Company.id).where(Company.slug == spec.slug))
    if existing is not None:
        return existing, False
    company = companies.create_company(hub, spec.name, spec.slug, actor=actor)
    branch_ids = [companies.create_branch(hub, company.id, name, actor=actor).id for name in spec.branches]
    calcom_key = f"cal_demo_{secrets.token_hex(16)}"
    retell_key = f"key_demo_{secrets.token_hex(16)}"
    domain = "praxis.example"
    staff = list(spec.staff)
    if spec.owner_is_staff:
        sim = simulator()
        owner = sim.facts(calcom_key)["calcom"] if sim is not None else None
        if owner:
            staff.insert(0, (owner["name"], owner["email"]))
    for i, (name, email) in enumerate(staff):
        address = email if "@" in email else f"{email}@{domain}"
        companies.create_staff(hub, company.id, name, address,
                               branch_id=branch_ids[i % len(branch_ids)] if branch_ids else None, actor=actor)
    keys = {"calcom": calcom_key, "retell": retell_key}
    for provider in spec.configure:
        saved = configs.save_config(hub, company.id, provider, api_key=keys[provider],
                                    settings={"auto_sync_enabled": False}, actor=actor, trigger_sync=False)
        if not saved.ok:
            result.messages.append(saved.error_message() or provider)
            continue
        if sync:
            _first_sync(hub, company.id, provider, actor, result)
    return company.id, True


def _first_sync(hub: Hub, cid: uuid.UUID, provider: str, actor: str, result: DemoResult) -> None:
    from . import sync as sync_service

    try:
        outcome = sync_service.run_sync(hub, cid, provider, actor=actor, trigger="demo")
    except NotAvailable:
        return  # the sync engine is not there yet: the demo still shows "Verbunden"
    except (HubError, ProviderError) as exc:
        result.messages.append(configs.describe_error(exc))
        return
    if not getattr(outcome, "success", True) and getattr(outcome, "error", None):
        result.messages.append(str(outcome.error))

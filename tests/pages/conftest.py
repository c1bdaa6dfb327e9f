"""AppTest fixtures: the whole app (app.py router) against a real database and the provider simulator.

Pages run through the router exactly as in the browser (`AppTest.from_file("app.py")`, then
`switch_page`). The signed-in admin comes from an OIDC login seeded through `at.user` plus a role
assignment in the database (AppTest reports a non-loopback client, so the development login does
not apply).
"""
from __future__ import annotations

import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from integhub.services import access, companies, configs, discovery

ROOT = Path(__file__).resolve().parent.parent.parent
APP = str(ROOT / "app.py")
ADMIN = "admin@example.org"
CAL_KEY = "cal_live_0123456789abcdef0123456789abcdef"
CAL_KEY_2 = "cal_live_fedcba9876543210fedcba9876543210"
RETELL_KEY = "key_0123456789abcdef01234567"


@pytest.fixture
def ui_env(hub_env, simulator, monkeypatch):
    """A hub process environment for the UI: temp database, simulator providers, 2 s refresh."""
    from integhub.services import status
    from ui import hub as ui_hub

    monkeypatch.setattr(status.CACHE, "ttl", status.CACHE.ttl)  # the UI shortens it to fit its refresh
    monkeypatch.setenv("INTEGHUB_STATUS_REFRESH_SECONDS", "2")
    monkeypatch.setenv("INTEGHUB_PUBLIC_URL", "https://hub.example.org")
    ui_hub._hub_for.clear()
    discovery.clear_cache()
    yield hub_env
    ui_hub._hub_for.clear()
    discovery.clear_cache()


@pytest.fixture
def admin(hub, ui_env):
    access.grant_role(hub, access.system_identity(), ADMIN, "admin")
    return ADMIN


@pytest.fixture
def make_app(admin):
    """AppTest factory: `make_app(email=ADMIN, lang=None)`; not yet run."""

    def make(email: str = ADMIN, **query) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test"}
        at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0]}
        for k, v in query.items():
            at.query_params[k] = v
        return at

    return make


@pytest.fixture
def company(hub, admin):
    """A company that meets every dependency check: one branch, one staff member."""
    c = companies.create_company(hub, "Praxis Lindenhof", "praxis-lindenhof")
    branch = companies.create_branch(hub, c.id, "Hauptpraxis")
    companies.create_staff(hub, c.id, "Anna Schmidt", "anna.schmidt@example.org", branch_id=branch.id)
    return c


@pytest.fixture
def configured(hub, company, simulator):
    """`company` with Cal.com and Retell keys stored through the real save flow (simulator)."""
    for provider, key in (("calcom", CAL_KEY), ("retell", RETELL_KEY)):
        result = configs.save_config(hub, company.id, provider, api_key=key, actor="test")
        assert result.ok, result.error_message("en")
    return company


@pytest.fixture
def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


# --- helpers ---------------------------------------------------------------------------------------
def open_page(at: AppTest, page: str | None = None) -> AppTest:
    """Run the app, then switch to `page` (e.g. "pages/provider_calcom.py"); fails on any exception element."""
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def tree_bytes(at: AppTest) -> bytes:
    """Every element and block of the rendered app, serialised (protos, labels, values, placeholders),
    plus the session state: what the server could ever send to this browser session."""
    chunks: list[bytes] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            chunks.append(proto.SerializeToString())
        chunks.append(repr(node).encode("utf-8", "replace"))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    chunks.append(repr(at.session_state.to_dict() if hasattr(at.session_state, "to_dict") else
                       dict(at.session_state.items())).encode("utf-8", "replace"))
    return b"\n".join(chunks)


def texts(at: AppTest) -> str:
    """All human-readable text of the page in one string (for "contains" checks)."""
    parts: list[str] = []

    def walk(node) -> None:
        for attr in ("value", "label", "body", "placeholder", "help"):
            try:
                value = getattr(node, attr, None)
            except Exception:  # some widgets compute their value; text is what matters here
                value = None
            if isinstance(value, str):
                parts.append(value)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)

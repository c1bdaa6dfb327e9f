"""Who is using the UI, and which pages they may see (Streamlit side of integhub.services.access).

Identity comes from exactly one source, in this order:
1. OIDC through `st.login` when secrets.toml has an `[auth]` section (`st.user`).
2. A trusted reverse proxy's header (INTEGHUB_TRUST_PROXY_HEADERS=1; header name in
   INTEGHUB_TRUSTED_USER_HEADER, default X-Forwarded-Email). Only safe behind a proxy that strips
   client-supplied copies of the header.
3. Local development mode: only for a browser on this machine (loopback connection, no forwarding
   headers, localhost URL), as INTEGHUB_DEV_USER (default dev@localhost) with role
   INTEGHUB_DEV_ROLE (default admin). Clearly marked in the sidebar; INTEGHUB_DEV_MODE=0 turns it off.
Roles for OIDC and proxy users come from the role assignments (`python -m integhub roles grant`).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import streamlit as st

from integhub.db import Hub
from integhub.i18n import LANGS, t
from integhub.services import access
from integhub.services.access import Grant, Identity

DEFAULT_USER_HEADER = "X-Forwarded-Email"
DEFAULT_DEV_USER = "dev@localhost"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Any of these means the request passed through a proxy, so "loopback" says nothing about the user.
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host", "via")


@dataclass(frozen=True)
class RequestInfo:
    """What Streamlit tells us about this session's request (kept separate so it can be tested)."""

    auth_configured: bool = False
    user: Mapping[str, object] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    ip_address: str | None = None  # Streamlit reports None for loopback (and when there is no client)
    url: str | None = None


@dataclass(frozen=True)
class Login:
    email: str
    source: str  # oidc | proxy | dev
    name: str | None = None


def resolve_login(req: RequestInfo, env: Mapping[str, str]) -> Login | None:
    """Decide who is signed in, from the request and the environment alone (no database)."""
    if req.auth_configured:
        if not req.user.get("is_logged_in", False):
            return None
        email = str(req.user.get("email") or "").strip().lower()
        return Login(email, "oidc", _str(req.user.get("name"))) if email else None
    if env.get("INTEGHUB_TRUST_PROXY_HEADERS") == "1":
        header = env.get("INTEGHUB_TRUSTED_USER_HEADER", DEFAULT_USER_HEADER).strip().lower()
        email = str(req.headers.get(header) or "").strip().lower()
        return Login(email, "proxy") if email else None
    if env.get("INTEGHUB_DEV_MODE", "1") != "0" and is_local_request(req):
        return Login(env.get("INTEGHUB_DEV_USER", DEFAULT_DEV_USER).strip().lower() or DEFAULT_DEV_USER, "dev")
    return None


def is_local_request(req: RequestInfo) -> bool:
    if req.ip_address is not None:
        return False
    if any(req.headers.get(h) for h in FORWARDING_HEADERS):
        return False
    if req.url:
        host = (urlsplit(req.url).hostname or "").lower()
        if host not in LOOPBACK_HOSTS:
            return False
    return True


def dev_role(env: Mapping[str, str]) -> str:
    role = env.get("INTEGHUB_DEV_ROLE", "admin").strip().lower()
    return role if role in access.ROLES else "admin"


def _str(value: object) -> str | None:
    return str(value) if value else None


# --- Streamlit glue -------------------------------------------------------------------------------
def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def request_info() -> RequestInfo:
    auth = _auth_configured()
    try:
        user = st.user.to_dict() if hasattr(st.user, "to_dict") else dict(st.user)
    except Exception:
        user = {}
    try:
        headers = {k.lower(): v for k, v in st.context.headers.to_dict().items()}
    except Exception:
        headers = {}
    ip = st.context.ip_address
    # A real session reports a string (or None for loopback); AppTest's stand-in runtime reports a
    # mock object, which we read as "no remote client" like Streamlit's own None.
    ip = ip if isinstance(ip, str) else None
    url = st.context.url
    return RequestInfo(auth_configured=auth, user=user, headers=headers, ip_address=ip,
                       url=url if isinstance(url, str) else None)


def current_identity(hub: Hub | None = None) -> Identity | None:
    """The signed-in identity with its roles, or None when nobody is signed in."""
    login = resolve_login(request_info(), os.environ)
    if login is None:
        return None
    if login.source == "dev":
        return Identity(email=login.email, source="dev", name="Development",
                        grants=(Grant(dev_role(os.environ), None),))
    return access.load_identity(hub or page_hub(), login.email, source=login.source, name=login.name)


def page_allowed(identity: Identity | None, page_key: str) -> bool:
    return access.page_allowed(identity, page_key)


def page_hub() -> Hub:
    """The UI's shared Hub (ui/hub.py)."""
    from ui.hub import get_hub

    return get_hub()


def chosen_company():
    """The company picked in the sidebar (ui/context.py), or None."""
    from ui import context

    return context.company()


def _lang() -> str | None:
    lang = st.session_state.get("lang")
    return lang if lang in LANGS else None


def lang() -> str | None:
    return _lang()


def tr(key: str, **kwargs: object) -> str:
    """A catalogue message in this session's language."""
    return t(key, _lang(), **kwargs)


def render_identity(identity: Identity | None) -> None:
    """Sidebar line: who is signed in; a loud banner in development mode; sign-out for OIDC."""
    lang = _lang()
    if identity is None:
        return
    if identity.source == "dev":
        role = next(iter(identity.roles), "admin")
        st.sidebar.warning(t("ops.auth.dev_mode", lang, email=identity.email, role=role),
                           icon=":material/construction:")
        return
    roles = ", ".join(sorted(identity.roles)) or "-"
    st.sidebar.caption(f"{t('ops.auth.signed_in', lang, email=identity.email)} · {roles}")
    if identity.source == "oidc" and st.sidebar.button(t("ops.auth.logout", lang), key="integhub_logout"):
        st.logout()


def require_page(page_key: str, hub: Hub | None = None) -> Identity:
    """Call at the top of a page: returns the identity, or shows why not and stops the script."""
    lang = _lang()
    identity = current_identity(hub)
    if identity is None:
        if _auth_configured():
            st.info(t("ops.auth.login_required", lang))
            if st.button(t("ops.auth.login", lang), key="integhub_login"):
                st.login()
        elif os.environ.get("INTEGHUB_TRUST_PROXY_HEADERS") == "1":
            st.error(t("ops.auth.proxy_missing", lang,
                       header=os.environ.get("INTEGHUB_TRUSTED_USER_HEADER", DEFAULT_USER_HEADER)))
        else:
            st.error(t("ops.auth.no_identity", lang))
        st.stop()
    if not identity.grants:
        st.warning(t("ops.auth.no_roles", lang, email=identity.email))
        st.stop()
    if not page_allowed(identity, page_key):
        st.error(t("ops.auth.page_denied", lang))
        st.stop()
    return identity

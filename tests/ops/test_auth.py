"""Which login source applies to a request: OIDC, trusted proxy header, or localhost development mode."""
from ui.auth import Login, RequestInfo, dev_role, resolve_login


def test_oidc_user_when_auth_is_configured():
    req = RequestInfo(auth_configured=True, user={"is_logged_in": True, "email": "Ada@Corp.example", "name": "Ada"})
    assert resolve_login(req, {}) == Login("ada@corp.example", "oidc", "Ada")
    assert resolve_login(RequestInfo(auth_configured=True, user={"is_logged_in": False}), {}) is None
    # an [auth] section disables both the proxy header and development mode
    hdr = RequestInfo(auth_configured=True, headers={"x-forwarded-email": "eve@x.example"})
    assert resolve_login(hdr, {"INTEGHUB_TRUST_PROXY_HEADERS": "1"}) is None


def test_proxy_header_only_when_trusted():
    req = RequestInfo(headers={"x-forwarded-email": "Bob@Corp.example"}, ip_address="10.0.0.5",
                      url="https://hub.corp.example/")
    assert resolve_login(req, {}) is None  # not trusted: the header means nothing
    assert resolve_login(req, {"INTEGHUB_TRUST_PROXY_HEADERS": "1"}) == Login("bob@corp.example", "proxy")
    custom = RequestInfo(headers={"x-auth-user": "c@corp.example"}, ip_address="10.0.0.5")
    env = {"INTEGHUB_TRUST_PROXY_HEADERS": "1", "INTEGHUB_TRUSTED_USER_HEADER": "X-Auth-User"}
    assert resolve_login(custom, env) == Login("c@corp.example", "proxy")
    # trusted proxy mode without the header: nobody (never falls back to development mode)
    assert resolve_login(RequestInfo(), {"INTEGHUB_TRUST_PROXY_HEADERS": "1"}) is None


def test_development_mode_only_for_localhost():
    local = RequestInfo(url="http://localhost:8501/")
    assert resolve_login(local, {}) == Login("dev@localhost", "dev")
    assert resolve_login(local, {"INTEGHUB_DEV_USER": "me@localhost"}) == Login("me@localhost", "dev")
    assert resolve_login(local, {"INTEGHUB_DEV_MODE": "0"}) is None
    assert resolve_login(RequestInfo(ip_address="192.168.1.20", url="http://localhost:8501/"), {}) is None
    assert resolve_login(RequestInfo(url="https://hub.corp.example/"), {}) is None
    # loopback connection from a local reverse proxy: forwarding headers give it away
    assert resolve_login(RequestInfo(headers={"x-forwarded-for": "203.0.113.9"}, url="http://localhost:8501/"), {}) is None
    assert dev_role({}) == "admin" and dev_role({"INTEGHUB_DEV_ROLE": "analyst"}) == "analyst"
    assert dev_role({"INTEGHUB_DEV_ROLE": "root"}) == "admin"

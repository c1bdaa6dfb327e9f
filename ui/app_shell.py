"""What the router does around the pages: open the hub, gate pages by role, the sidebar footer."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from integhub.db import Hub, StartupError
from integhub.services import demo
from ui.components import demo_banner, error_text
from ui.hub import get_hub
from ui.i18n import t


def open_hub() -> Hub | None:
    """The process's Hub; None (after a clear message) when the database or key ring is not usable."""
    try:
        hub = get_hub()
        with hub.session() as s:  # reachable and migrated?
            from sqlalchemy import select

            from integhub.models import Company

            s.execute(select(Company.id).limit(1)).first()
        return hub
    except StartupError as exc:
        st.error(str(exc), icon=":material/key_off:")
    except Exception as exc:  # noqa: BLE001 - unreachable or not migrated database
        from sqlalchemy.exc import SQLAlchemyError

        st.error(t("hub.database_error") if isinstance(exc, SQLAlchemyError) else error_text(exc),
                 icon=":material/database:")
    return None


def sign_in(hub: Hub):
    """The signed-in identity (shown in the sidebar), or None."""
    from ui import auth

    try:
        identity = auth.current_identity(hub)
    except Exception as exc:  # noqa: BLE001 - e.g. the role table cannot be read
        st.sidebar.error(error_text(exc), icon=":material/error:")
        return None
    auth.render_identity(identity)
    return identity


def usable(identity) -> bool:
    return identity is not None and bool(identity.grants or identity.superuser)


def require_identity(identity, hub: Hub) -> None:
    """Without a usable identity: show why (or the login button) and stop the run."""
    if not usable(identity):
        from ui import auth

        auth.require_page("overview", hub)
        st.stop()


def access_filter(identity) -> Callable[[str], bool]:
    """Which pages this identity may see in the navigation (the services check again on each call)."""
    from ui import auth

    if not usable(identity):
        return lambda key: key == "overview"  # the start page, which then explains what is missing
    return lambda key: bool(auth.page_allowed(identity, key))


def sidebar_footer(hub: Hub) -> None:
    demo_banner(demo.simulator_url() is not None)
    st.sidebar.caption(t("ui.footer", version=__import__("integhub").__version__))

"""Access (admins for all companies): who has which role, for all companies or chosen ones."""
from __future__ import annotations

import streamlit as st

from integhub.services import access
from integhub.services.companies import list_companies
from integhub.services.configs import describe_error
from ui import auth
from ui.auth import tr

MESSAGE = "_access_message"

hub = auth.page_hub()
identity = auth.require_page("access", hub)


def _role_label(role: str) -> str:
    return tr(f"ops.access.role.{role}")


def _scope_label(a) -> str:
    return tr("ops.access.scope_all") if a.company_id is None else (a.company_name or str(a.company_id))


# Buttons act in callbacks, before the page runs, so the list below already shows the change.
def _grant() -> None:
    state = st.session_state
    email, role = state.get("access_email", ""), state.get("access_role", "analyst")
    company = None if state.get("access_all", True) else state.get("access_company")
    if not state.get("access_all", True) and company is None:
        state[MESSAGE] = ("error", tr("ops.access.pick_company"))
        return
    try:
        changed = access.grant_role(hub, identity, email, role, company.id if company is not None else None)
    except Exception as exc:  # noqa: BLE001 - a message, never a traceback
        state[MESSAGE] = ("error", describe_error(exc, auth.lang()))
        return
    state[MESSAGE] = ("success" if changed else "info",
                      tr("ops.access.granted" if changed else "ops.access.already", email=email.strip().lower(),
                         role=_role_label(role)))


def _revoke() -> None:
    state = st.session_state
    target = state.get("access_revoke_pick")
    if target is None:
        return
    try:
        access.revoke_role(hub, identity, target.user_email, target.role, target.company_id)
    except Exception as exc:  # noqa: BLE001
        state[MESSAGE] = ("error", describe_error(exc, auth.lang()))
        return
    state[MESSAGE] = ("success", tr("ops.access.revoked", email=target.user_email, role=_role_label(target.role)))
    state["access_revoke_pick"] = None


st.title(tr("ops.access.title"), anchor=False)
st.caption(tr("ops.access.caption"))
if MESSAGE in st.session_state:
    kind, text = st.session_state.pop(MESSAGE)
    getattr(st, kind)(text)

# --- grant ------------------------------------------------------------------------------------------
with st.container(border=True):
    st.subheader(tr("ops.access.grant_title"), anchor=False)
    g1, g2, g3 = st.columns([3, 2, 3])
    g1.text_input(tr("ops.access.email"), key="access_email", placeholder="name@firma.de")
    g2.selectbox(tr("ops.access.role"), ["analyst", "operator", "admin"], key="access_role", format_func=_role_label,
                 help=tr("ops.access.role_help"))
    all_companies = g3.toggle(tr("ops.access.scope_all"), value=True, key="access_all")
    if not all_companies:
        needle = g3.text_input(tr("ops.access.company_search"), key="access_company_search")
        g3.selectbox(tr("ops.access.company"), list_companies(hub, needle, limit=20).rows, key="access_company",
                     format_func=lambda c: f"{c.name} ({c.slug})", index=None,
                     placeholder=tr("ops.access.company_placeholder"))
    st.button(tr("ops.access.grant"), type="primary", icon=":material/person_add:", key="access_grant",
              on_click=_grant)

# --- list and revoke --------------------------------------------------------------------------------
st.subheader(tr("ops.access.list_title"), anchor=False)
user_filter = st.text_input(tr("ops.access.filter"), key="access_filter")
try:
    page = access.list_assignments(hub, identity, user=user_filter, limit=500)
except Exception as exc:  # noqa: BLE001
    st.error(describe_error(exc, auth.lang()), icon=":material/error:")
    st.stop()
if not page.rows:
    st.info(tr("ops.access.none"), icon=":material/group_off:")
else:
    st.dataframe([{tr("ops.access.email"): a.user_email, tr("ops.access.role"): _role_label(a.role),
                   tr("ops.access.scope"): _scope_label(a), tr("ops.access.granted_by"): a.granted_by,
                   tr("ops.col.time"): a.created_at} for a in page.rows], hide_index=True, key="access_table")
    if page.total > len(page.rows):
        st.caption(tr("ops.access.more", shown=len(page.rows), total=page.total))
    r1, r2 = st.columns([4, 1], vertical_alignment="bottom")
    target = r1.selectbox(tr("ops.access.revoke_pick"), page.rows, index=None, key="access_revoke_pick",
                          placeholder=tr("ops.access.revoke_pick"),
                          format_func=lambda a: f"{a.user_email} · {_role_label(a.role)} · {_scope_label(a)}")
    r2.button(tr("ops.access.revoke"), icon=":material/person_remove:", disabled=target is None,
              key="access_revoke", on_click=_revoke)

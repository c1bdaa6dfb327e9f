"""Key management (admins for all companies): the key ring, rotation with progress, check-keys."""
from __future__ import annotations

import streamlit as st

from integhub.services import keyring_view
from integhub.services.configs import describe_error
from ui import auth
from ui.auth import tr

hub = auth.page_hub()
identity = auth.require_page("keys", hub)

st.title(tr("ops.keys.title"), anchor=False)
st.caption(tr("ops.keys.caption"))

try:
    view = keyring_view.key_ring_view(hub, identity)
except Exception as exc:  # noqa: BLE001
    st.error(describe_error(exc, auth.lang()), icon=":material/error:")
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric(tr("ops.keys.primary"), view.primary_id, border=True)
c2.metric(tr("ops.keys.total"), view.total_secrets, border=True)
c3.metric(tr("ops.keys.needs_rotation"), view.needs_rotation, border=True)
if view.not_in_ring:
    st.error(tr("ops.keys.not_in_ring", n=view.not_in_ring), icon=":material/key_off:")

st.dataframe([{
    tr("ops.keys.col.key"): k.key_id,
    tr("ops.keys.col.role"): (tr("ops.keys.role.primary") if k.primary else
                              tr("ops.keys.role.old", n=k.position + 1) if k.position is not None else
                              tr("ops.keys.role.missing")),
    tr("ops.keys.col.secrets"): k.secrets,
} for k in view.keys], hide_index=True, key="keys_table")

st.subheader(tr("ops.keys.rotate_title"), anchor=False)
st.markdown(tr("ops.keys.rotate_help"))
if st.button(tr("ops.keys.rotate"), type="primary", icon=":material/autorenew:", key="keys_rotate",
             disabled=view.needs_rotation == 0 and not view.not_in_ring):
    bar = st.progress(0.0, text=tr("ops.keys.rotate_progress", done=0, total="…"))

    def _progress(done: int, total: int) -> None:
        bar.progress(min(1.0, done / total) if total else 1.0,
                     text=tr("ops.keys.rotate_progress", done=done, total=total))

    try:
        report = keyring_view.rotate(hub, identity, progress=_progress)
    except Exception as exc:  # noqa: BLE001
        st.error(describe_error(exc, auth.lang()), icon=":material/error:")
    else:
        bar.progress(1.0, text=tr("ops.keys.rotate_done"))
        (st.warning if report.failed else st.success)(
            tr("ops.keys.rotate_result", rotated=report.rotated, current=report.already_current,
               failed=len(report.failed)))

st.subheader(tr("ops.keys.check_title"), anchor=False)
if st.button(tr("ops.keys.check"), icon=":material/fact_check:", key="keys_check"):
    try:
        checked = keyring_view.check(hub, identity)
    except Exception as exc:  # noqa: BLE001
        st.error(describe_error(exc, auth.lang()), icon=":material/error:")
    else:
        if checked.bad:
            st.error(tr("ops.keys.check_bad", ok=checked.ok, bad=len(checked.bad)), icon=":material/key_off:")
            st.dataframe([{tr("ops.col.company"): c, tr("ops.col.provider"): p, tr("ops.keys.col.field"): f,
                           tr("ops.keys.col.reason"): r} for c, p, f, r in checked.bad],
                         hide_index=True, key="keys_bad")
        else:
            st.success(tr("ops.keys.check_ok", ok=checked.ok), icon=":material/verified:")

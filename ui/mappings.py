"""Mapping editors below the Cal.com form: Cal.com users ↔ staff, event types ↔ branches (st.data_editor).

Rows come prefilled by discovery (the sync maps users by e-mail, event types to the only branch);
"automatisch" hands a row back to discovery, any other choice is kept as a manual mapping. Saved
through the guarded mapping service with the admin's name in the audit log.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from integhub.db import Hub
from integhub.services import guarded, mappings
from ui import context
from ui.components import Failed, attempt
from ui.i18n import t


def calcom_mapping_editors(hub: Hub, company, prov, view) -> None:
    with st.container(border=True):
        st.subheader(f":material/account_tree: {t('ui.map.title')}", anchor=False)
        st.caption(t("ui.map.caption"))
        users_tab, types_tab = st.tabs([t("ui.map.users"), t("ui.map.event_types")])
        with users_tab:
            _editor(hub, company, kind="users", list_fn=mappings.list_user_mappings,
                    options_fn=mappings.staff_options, save_name="set_user_mappings", auto=mappings.AUTO)
        with types_tab:
            _editor(hub, company, kind="event_types", list_fn=mappings.list_event_type_mappings,
                    options_fn=mappings.branch_options, save_name="set_event_type_mappings", auto=mappings.AUTO)


def _editor(hub: Hub, company, *, kind: str, list_fn, options_fn, save_name: str, auto: str) -> None:
    who = context.identity()
    cid = company.id
    try:
        rows = attempt(lambda: guarded.call(who, "config.view", cid, list_fn, hub, cid))
        options = attempt(lambda: guarded.call(who, "config.view", cid, options_fn, hub, cid))
    except Failed:
        return
    if not rows:
        st.info(t(f"ui.map.empty_{kind}"), icon=":material/sync:")
        return
    auto_label, none_label = t("ui.map.auto"), t("ui.map.none")
    label_for = {str(oid): label for oid, label in options}
    id_for = {label: oid for oid, label in options}
    target_attr = "staff_id" if kind == "users" else "branch_id"
    name_attr = "staff_name" if kind == "users" else "branch_name"

    def initial(row: Any) -> str:
        target = getattr(row, target_attr)
        if not row.manual:
            return auto_label
        return label_for.get(str(target), none_label) if target else none_label

    def current(row: Any) -> str:
        name = getattr(row, name_attr) or "—"
        return f"{name} ({t('ui.map.manual') if row.manual else t('ui.map.by_discovery')})"

    if kind == "users":
        frame = pd.DataFrame({
            "remote_id": [r.remote_id for r in rows],
            "name": [r.name or r.username or "" for r in rows],
            "email": [r.email or "" for r in rows],
            "current": [current(r) for r in rows],
            "mapping": [initial(r) for r in rows],
        })
        columns = {"name": st.column_config.TextColumn(t("ui.map.col.user")),
                   "email": st.column_config.TextColumn(t("ui.map.col.email"))}
        target_label = t("ui.map.col.staff")
    else:
        frame = pd.DataFrame({
            "remote_id": [r.remote_id for r in rows],
            "name": [r.title for r in rows],
            "email": [f"{r.length_minutes} min" if r.length_minutes else "" for r in rows],
            "current": [current(r) for r in rows],
            "mapping": [initial(r) for r in rows],
        })
        columns = {"name": st.column_config.TextColumn(t("ui.map.col.event_type")),
                   "email": st.column_config.TextColumn(t("ui.map.col.length"))}
        target_label = t("ui.map.col.branch")
    choices = [auto_label, none_label] + list(id_for)
    can_edit = context.can("mappings.edit", cid)
    gen_key = f"map_gen_{kind}_{cid}"
    edited = st.data_editor(
        frame, key=f"map_{kind}_{cid}_{st.session_state.get(gen_key, 0)}", hide_index=True, width="stretch", num_rows="fixed",
        disabled=["remote_id", "name", "email", "current"] if can_edit else True,
        column_order=["name", "email", "current", "mapping"],
        column_config={**columns,
                       "current": st.column_config.TextColumn(t("ui.map.col.current")),
                       "mapping": st.column_config.SelectboxColumn(target_label, options=choices, required=True)},
    )
    changes: dict[int, Any] = {}
    for before, after in zip(frame.itertuples(), edited.itertuples()):
        if before.mapping != after.mapping:
            value = after.mapping
            changes[int(before.remote_id)] = auto if value == auto_label else None if value == none_label else id_for.get(value)
    clicked = st.button(t("ui.map.save", n=len(changes)), key=f"map_save_{kind}_{cid}", icon=":material/save:",
                        disabled=not changes or not can_edit, type="primary")
    if clicked:
        try:
            changed = attempt(lambda: guarded.save_mappings(who, hub, cid, save_name, changes))
        except Failed:
            return
        st.toast(t("ui.map.saved", n=changed), icon=":material/check_circle:")
        st.session_state[gen_key] = st.session_state.get(gen_key, 0) + 1  # a fresh editor on the saved rows
        st.rerun()

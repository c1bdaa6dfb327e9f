"""Unternehmen: create and edit companies, branches and staff; staff import from CSV with a preview.

Creating or renaming a company runs in the submit button's callback (before the page renders), so
the sidebar picker already shows the new company or name in the same run.
"""
from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

import pandas as pd
import streamlit as st

from integhub.db import Hub
from integhub.services import companies, guarded, staff_import
from ui import context
from ui.components import Failed, attempt, error_text, no_company_notice
from ui.hub import get_hub
from ui.i18n import lang, t
from ui.picker import select_company

FLASH = "_integhub_companies_flash"
DEFAULT_TZ = "Europe/Berlin"
CSV_TEMPLATE = "name;email;filiale\nAnna Schmidt;anna.schmidt@example.org;Hauptpraxis\n"


@cache
def timezones() -> list[str]:
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def companies_page(company) -> None:
    hub = get_hub()
    st.title(f":material/domain: {t('ui.companies.title')}", anchor=False)
    st.caption(t("ui.companies.caption"))
    _show_flash()
    tabs = st.tabs([f":material/domain: {t('ui.companies.tab_company')}",
                    f":material/store: {t('ui.companies.tab_branches')}",
                    f":material/badge: {t('ui.companies.tab_staff')}",
                    f":material/upload_file: {t('ui.companies.tab_import')}"])
    with tabs[0]:
        left, right = st.columns(2, gap="large")
        with left:
            new_company_form(hub)
        with right:
            if company is not None:
                edit_company_form(hub, company)
    for tab, render in zip(tabs[1:], (branches_tab, staff_tab, import_tab)):
        with tab:
            if company is None:
                no_company_notice()
            else:
                render(hub, company)


# --- flash messages (set in callbacks, shown in the next render) -----------------------------------
def _flash(kind: str, text: str) -> None:
    st.session_state.setdefault(FLASH, []).append((kind, text))


def _show_flash() -> None:
    for kind, text in st.session_state.pop(FLASH, []):
        if kind == "ok":
            st.success(text, icon=":material/check_circle:")
            st.toast(text, icon=":material/check_circle:")
        else:
            st.error(text, icon=":material/error:")


# --- companies ---------------------------------------------------------------------------------------
def new_company_form(hub: Hub) -> None:
    can_create = context.can("company.edit")
    with st.container(border=True):
        st.subheader(f":material/domain_add: {t('ui.companies.new')}", anchor=False)
        with st.form("new_company", border=False, enter_to_submit=False):
            st.text_input(t("ui.companies.name"), key="new_company.name", placeholder=t("ui.companies.name_placeholder"))
            st.text_input(t("ui.companies.slug"), key="new_company.slug", placeholder="praxis-mueller",
                          help=t("ui.companies.slug_help"))
            zones = timezones()
            st.selectbox(t("ui.companies.timezone"), zones, index=zones.index(DEFAULT_TZ), key="new_company.tz")
            st.form_submit_button(t("ui.companies.create"), type="primary", icon=":material/add:",
                                  on_click=_create_company, args=(hub,), disabled=not can_create)
        if not can_create:
            st.caption(t("ui.companies.admin_only"))


def _create_company(hub: Hub) -> None:
    state = st.session_state
    try:
        company = guarded.create_company(context.identity(), hub, state.get("new_company.name", ""),
                                         (state.get("new_company.slug") or "").strip() or None,
                                         timezone=state.get("new_company.tz") or DEFAULT_TZ)
    except Exception as exc:  # noqa: BLE001 - the form keeps what was typed
        _flash("error", error_text(exc))
        return
    select_company(company.id)
    state["new_company.name"] = ""
    state["new_company.slug"] = ""
    _flash("ok", t("ui.companies.created", name=company.name))


def edit_company_form(hub: Hub, company) -> None:
    with st.container(border=True):
        st.subheader(f":material/edit: {t('ui.companies.edit', name=company.name)}", anchor=False)
        key = f"edit_company.{company.id}"
        with st.form(key, border=False, enter_to_submit=False):
            st.text_input(t("ui.companies.name"), value=company.name, key=f"{key}.name")
            st.text_input(t("ui.companies.slug"), value=company.slug, disabled=True, help=t("ui.companies.slug_fixed"))
            zones = timezones()
            st.selectbox(t("ui.companies.timezone"), zones,
                         index=zones.index(company.timezone) if company.timezone in zones else zones.index(DEFAULT_TZ),
                         key=f"{key}.tz")
            st.form_submit_button(t("ui.companies.save"), icon=":material/save:", on_click=_update_company,
                                  args=(hub, str(company.id), key), disabled=not context.can("company.edit", company.id))


def _update_company(hub: Hub, company_id: str, key: str) -> None:
    state = st.session_state
    try:
        company = guarded.update_company(context.identity(), hub, company_id, name=state.get(f"{key}.name"),
                                         timezone=state.get(f"{key}.tz"))
    except Exception as exc:  # noqa: BLE001
        _flash("error", error_text(exc))
        return
    _flash("ok", t("ui.companies.updated", name=company.name))


# --- branches ------------------------------------------------------------------------------------------
def branches_tab(hub: Hub, company) -> None:
    who = context.identity()
    can_edit = context.can("company.edit", company.id)
    try:
        branches = attempt(lambda: guarded.call(who, "status.view", company.id, companies.list_branches, hub, company.id))
    except Failed:
        return
    left, right = st.columns([3, 2], gap="large")
    with left, st.container(border=True):
        st.subheader(f":material/store: {t('ui.branches.title', n=len(branches))}", anchor=False)
        if not branches:
            st.info(t("ui.branches.empty"), icon=":material/info:")
        else:
            frame = pd.DataFrame({"id": [str(b.id) for b in branches], "name": [b.name for b in branches],
                                  "active": [bool(b.is_active) for b in branches]})
            edited = st.data_editor(
                frame, key=f"branches_{company.id}_{_gen('branches')}", hide_index=True, width="stretch",
                num_rows="fixed", column_order=["name", "active"], disabled=["id"] if can_edit else True,
                column_config={"name": st.column_config.TextColumn(t("ui.branches.name"), required=True),
                               "active": st.column_config.CheckboxColumn(t("ui.common.active"))})
            changed = _changed_rows(frame, edited, ["name", "active"])
            if st.button(t("ui.common.save_changes", n=len(changed)), key=f"branches_save_{company.id}",
                         disabled=not changed or not can_edit, icon=":material/save:"):
                _save_rows(changed, "branches", lambda row: guarded.update_branch(
                    who, hub, company.id, row["id"], name=row["name"], is_active=bool(row["active"])))
    with right, st.container(border=True):
        st.subheader(f":material/add_business: {t('ui.branches.new')}", anchor=False)
        with st.form(f"new_branch_{company.id}", border=False, clear_on_submit=False, enter_to_submit=False):
            name = st.text_input(t("ui.branches.name"), key=f"new_branch.{company.id}.name",
                                 placeholder=t("ui.branches.name_placeholder"))
            submitted = st.form_submit_button(t("ui.branches.create"), icon=":material/add:", type="primary",
                                              disabled=not can_edit)
        if submitted:
            try:
                branch = attempt(lambda: guarded.create_branch(who, hub, company.id, name))
            except Failed:
                return
            _flash("ok", t("ui.branches.created", name=branch.name))
            _bump("branches")
            st.session_state.pop(f"new_branch.{company.id}.name", None)
            st.rerun()


# --- staff ---------------------------------------------------------------------------------------------
def staff_tab(hub: Hub, company) -> None:
    who = context.identity()
    can_edit = context.can("company.edit", company.id)
    try:
        staff = attempt(lambda: guarded.call(who, "status.view", company.id, companies.list_staff, hub, company.id))
        branches = attempt(lambda: guarded.call(who, "status.view", company.id, companies.list_branches, hub, company.id))
    except Failed:
        return
    branch_names = {str(b.id): b.name for b in branches}
    no_branch = t("ui.staff.no_branch")
    branch_ids = {name: bid for bid, name in branch_names.items()}
    left, right = st.columns([3, 2], gap="large")
    with left, st.container(border=True):
        st.subheader(f":material/badge: {t('ui.staff.title', n=len(staff))}", anchor=False)
        if not staff:
            st.info(t("ui.staff.empty"), icon=":material/info:")
        else:
            frame = pd.DataFrame({
                "id": [str(p.id) for p in staff], "name": [p.name for p in staff], "email": [p.email for p in staff],
                "branch": [branch_names.get(str(p.branch_id), no_branch) for p in staff],
                "active": [bool(p.is_active) for p in staff]})
            edited = st.data_editor(
                frame, key=f"staff_{company.id}_{_gen('staff')}", hide_index=True, width="stretch", num_rows="fixed",
                column_order=["name", "email", "branch", "active"], disabled=["id"] if can_edit else True,
                column_config={
                    "name": st.column_config.TextColumn(t("ui.staff.name"), required=True),
                    "email": st.column_config.TextColumn(t("ui.staff.email"), required=True),
                    "branch": st.column_config.SelectboxColumn(t("ui.staff.branch"),
                                                               options=[no_branch] + list(branch_ids), required=True),
                    "active": st.column_config.CheckboxColumn(t("ui.common.active"))})
            changed = _changed_rows(frame, edited, ["name", "email", "branch", "active"])
            if st.button(t("ui.common.save_changes", n=len(changed)), key=f"staff_save_{company.id}",
                         disabled=not changed or not can_edit, icon=":material/save:"):
                _save_rows(changed, "staff", lambda row: guarded.update_staff(
                    who, hub, company.id, row["id"], name=row["name"], email=row["email"],
                    branch_id=branch_ids.get(row["branch"]), is_active=bool(row["active"])))
    with right, st.container(border=True):
        st.subheader(f":material/person_add: {t('ui.staff.new')}", anchor=False)
        key = f"new_staff.{company.id}"
        with st.form(key, border=False, enter_to_submit=False):
            name = st.text_input(t("ui.staff.name"), key=f"{key}.name")
            email = st.text_input(t("ui.staff.email"), key=f"{key}.email", placeholder="name@example.org")
            options = [None] + list(branch_names)
            branch = st.selectbox(t("ui.staff.branch"), options, key=f"{key}.branch",
                                  format_func=lambda b: no_branch if b is None else branch_names[b])
            submitted = st.form_submit_button(t("ui.staff.create"), icon=":material/add:", type="primary",
                                              disabled=not can_edit)
        if submitted:
            try:
                person = attempt(lambda: guarded.create_staff(who, hub, company.id, name, email, branch_id=branch))
            except Failed:
                return
            _flash("ok", t("ui.staff.created", name=person.name))
            _bump("staff")
            for suffix in ("name", "email"):
                st.session_state.pop(f"{key}.{suffix}", None)
            st.rerun()


# --- CSV import ------------------------------------------------------------------------------------------
def import_tab(hub: Hub, company) -> None:
    who = context.identity()
    can_edit = context.can("company.edit", company.id)
    with st.container(border=True):
        st.subheader(f":material/upload_file: {t('ui.import.title')}", anchor=False)
        st.markdown(t("ui.import.explain"))
        st.download_button(t("ui.import.template"), CSV_TEMPLATE, file_name="mitarbeiter.csv", mime="text/csv",
                           icon=":material/download:")
        upload = st.file_uploader(t("ui.import.file"), type=["csv", "txt"], key=f"import_{company.id}_{_gen('import')}",
                                  disabled=not can_edit)
        if upload is None:
            return
        data = upload.getvalue()
        try:
            preview = attempt(lambda: guarded.call(who, "company.edit", company.id, staff_import.preview_staff_csv,
                                                   hub, company.id, data))
        except Failed:
            return
        current = lang()
        with st.container(horizontal=True):
            st.metric(t("ui.import.rows"), len(preview.rows), border=True)
            st.metric(t("ui.import.good"), len(preview.good), border=True)
            st.metric(t("ui.import.bad"), len(preview.bad), border=True)
        st.dataframe(pd.DataFrame({
            t("ui.import.col.line"): [r.line for r in preview.rows],
            t("ui.staff.name"): [r.name for r in preview.rows],
            t("ui.staff.email"): [r.email for r in preview.rows],
            t("ui.staff.branch"): [r.branch for r in preview.rows],
            t("ui.import.col.result"): [("✅ " + t("ui.import.ok")) if r.ok else ("❌ " + r.error(current))
                                        for r in preview.rows],
        }), hide_index=True, width="stretch")
        if st.button(t("ui.import.run", n=len(preview.good)), type="primary", icon=":material/group_add:",
                     disabled=not preview.good or not can_edit, key=f"import_run_{company.id}"):
            try:
                result = attempt(lambda: guarded.call(who, "company.edit", company.id, staff_import.import_staff_csv,
                                                      hub, company.id, data, actor=who.actor))
            except Failed:
                return
            _flash("ok", t("ui.import.done", n=result.created, skipped=len(result.skipped)))
            _bump("import")
            _bump("staff")
            st.rerun()


# --- helpers -------------------------------------------------------------------------------------------
def _gen(name: str) -> int:
    return int(st.session_state.get(f"_gen_{name}", 0))


def _bump(name: str) -> None:
    st.session_state[f"_gen_{name}"] = _gen(name) + 1


def _changed_rows(before: pd.DataFrame, after: pd.DataFrame, columns: list[str]) -> list[dict]:
    out = []
    for (_, old), (_, new) in zip(before.iterrows(), after.iterrows()):
        if any(old[c] != new[c] for c in columns):
            out.append(new.to_dict())
    return out


def _save_rows(rows: list[dict], what: str, save) -> None:
    """Save each changed row on its own; a bad row gets its message, the others are saved."""
    saved, failed = 0, []
    for row in rows:
        try:
            save(row)
            saved += 1
        except Exception as exc:  # noqa: BLE001
            failed.append(f"{row.get('name') or row.get('id')}: {error_text(exc)}")
    if saved:
        _flash("ok", t("ui.common.saved_rows", n=saved))
    for line in failed:
        _flash("error", line)
    if not failed:
        _bump(what)  # a fresh editor on the saved rows; with errors the edits stay for correction
    st.rerun()

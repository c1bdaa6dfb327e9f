"""One generic provider page, driven by the provider's FormField declarations.

A new provider module (integhub/providers/<name>.py with its `fields`) gets its page without any
page logic: fields without a section, or in a section without a toggle, go into the `st.form`
"Zugangsdaten"; a section that starts with a toggle (Synchronisation) is rendered live next to the
form, so the fields after the toggle (the interval) appear only while the toggle is on — inside an
`st.form` a toggle cannot rerun the page, so it could not hide the interval.

Keys: a stored key is never shown. The password field starts empty with the key's mask as
placeholder (`cal_…3f9a`); empty means "keep the stored key". After a successful save the field is
replaced by a fresh, empty one, so the typed key does not stay in the session either.
Optimistic locking: the config version the admin first saw is sent with each save; a concurrent
save elsewhere gives the conflict message and the form keeps what the admin typed.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from integhub.db import Hub
from integhub.errors import ConflictError
from integhub.providers import get_provider
from integhub.providers.base import FormField, Provider
from integhub.services import discovery, guarded, webhooks
from integhub.validation import SYNC_INTERVALS
from ui.components import Failed, attempt, error_text, steps_view
from ui import context
from ui.hub import get_hub
from ui.i18n import lang, t



# --- per-company form state ------------------------------------------------------------------------
class FormState:
    """Session keys for one (provider, company) form: generations, seen version, flash messages."""

    def __init__(self, provider: str, company_id: str):
        self.base = f"{provider}.{company_id}"

    def _get(self, name: str, default: Any = None) -> Any:
        return st.session_state.get(f"{self.base}.{name}", default)

    def _set(self, name: str, value: Any) -> None:
        st.session_state[f"{self.base}.{name}"] = value

    def gen(self, part: str) -> int:
        return int(self._get(f"gen.{part}", 0))

    def bump(self, part: str) -> None:
        self._set(f"gen.{part}", self.gen(part) + 1)

    def widget_key(self, part: str, field_name: str) -> str:
        return f"{self.base}.{part}{self.gen(part)}.{field_name}"

    def seen_version(self, current: int) -> int:
        value = self._get("seen_version")
        if value is None:
            self._set("seen_version", current)
            return current
        return int(value)

    def saw(self, version: int) -> None:
        self._set("seen_version", version)

    def flash(self, part: str, payload: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Set (with payload) or take (without) the message to show after the next rerun."""
        name = f"flash.{part}"
        if payload is not None:
            self._set(name, payload)
            return None
        return st.session_state.pop(f"{self.base}.{name}", None)


# --- the page ----------------------------------------------------------------------------------------
def provider_page(provider_name: str, company, *, extra: Callable[[Hub, Any, Provider, Any], None] | None = None) -> None:
    hub = get_hub()
    prov = get_provider(provider_name)
    st.title(f"{prov.icon} {prov.display_name}", anchor=False)
    if company is None:
        from ui.components import no_company_notice

        no_company_notice()
        return
    st.caption(t("ui.provider.caption", provider=prov.display_name, company=company.name))
    try:
        view = attempt(lambda: guarded.load_config(context.identity(), hub, company.id, prov.name))
    except Failed:
        return
    state = FormState(prov.name, str(company.id))
    _connection_badge(view, company)
    credentials_form(hub, company, prov, view, state)
    for section, fields in _live_sections(prov):
        live_section(hub, company, prov, view, state, section, fields)
    webhook_section(hub, company, prov, view)
    if extra is not None:
        extra(hub, company, prov, view)


def _connection_badge(view, company) -> None:
    with st.container(horizontal=True, gap="small"):
        if view.has_key:
            st.badge(t("ui.provider.key_stored", mask=view.key_mask or "…"), icon=":material/key:", color="blue")
        else:
            st.badge(t("ui.provider.no_key"), icon=":material/key_off:", color="gray")
        if view.last_sync_at:
            from ui.status_view import absolute

            st.badge(t("ui.provider.last_sync", when=absolute(view.last_sync_at, company.timezone, lang())),
                     icon=":material/sync:", color="gray")


def _form_fields(prov: Provider) -> list[FormField]:
    live = {section for section, _ in _live_sections(prov)}
    return [f for f in prov.fields if f.section not in live]


def _live_sections(prov: Provider) -> list[tuple[str, list[FormField]]]:
    """Sections whose first field is a toggle: rendered outside the form so the toggle acts at once."""
    sections: dict[str, list[FormField]] = {}
    for f in prov.fields:
        if f.section:
            sections.setdefault(f.section, []).append(f)
    return [(name, fields) for name, fields in sections.items() if fields and fields[0].kind == "toggle"]


# --- "Zugangsdaten": the st.form -----------------------------------------------------------------------
def credentials_form(hub: Hub, company, prov: Provider, view, state: FormState) -> None:
    options, options_error = _options(hub, company, prov, view)
    seen = state.seen_version(view.version)
    can_edit = context.can("config.edit", company.id)
    with st.container(border=True):
        st.subheader(f":material/key: {t('ui.form.credentials')}", anchor=False)
        with st.form(f"form.{prov.name}.{company.id}", border=False, enter_to_submit=False):
            values: dict[str, Any] = {}
            current_section = None
            for f in _form_fields(prov):
                if f.section and f.section != current_section:
                    st.markdown(f"**{t(f.section)}**")
                current_section = f.section
                values[f.name] = render_field(f, prov, view, options, state.widget_key("form", f.name),
                                              disabled=not can_edit)
            if options_error:
                st.caption(f":orange[:material/warning:] {t('ui.form.options_failed', error=options_error)}")
            if not can_edit:
                st.caption(f":material/lock: {t('ui.form.admins_only')}")
            with st.container(horizontal=True, gap="small"):
                test = st.form_submit_button(t("ui.form.test"), icon=":material/network_check:", disabled=not can_edit)
                save = st.form_submit_button(t("ui.form.save"), icon=":material/save:", type="primary",
                                             disabled=not can_edit)
        feedback = st.container()
    with feedback:
        _show_flash(state, "form")
        if test:
            _test(hub, company, prov, values)
        elif save:
            _save(hub, company, prov, view, state, values, seen, part="form")


def render_field(f: FormField, prov: Provider, view, options: dict[str, list[tuple[str, str]]], key: str,
                 *, disabled: bool = False) -> Any:
    label = t(f.label)
    help_text = t(f.help) if f.help else None
    current = view.settings.get(f.name)
    if f.kind == "password":
        if view.has_key:
            return st.text_input(label, key=key, type="password", placeholder=view.key_mask or "…",
                                 help=t("ui.form.key_keep_help"), disabled=disabled)
        placeholder = t("ui.form.key_placeholder", prefix=prov.key_prefix) if prov.key_prefix else t("ui.form.key_placeholder_any")
        return st.text_input(label, key=key, type="password", placeholder=placeholder, help=help_text,
                             disabled=disabled)
    if f.kind == "text":
        return st.text_input(label, value="" if current is None else str(current), key=key,
                             placeholder=f.placeholder, help=help_text, disabled=disabled)
    if f.kind == "select":
        pairs = list(options.get(f.name, []))
        labels = dict(pairs)
        values: list[str | None] = [None] + [v for v, _ in pairs]
        if current is not None and str(current) not in labels:
            values.append(str(current))
            labels[str(current)] = t("ui.form.stored_option", value=current)
        index = values.index(str(current)) if current is not None else 0
        if not pairs:
            help_text = t("ui.form.options_after_key") if not view.has_key else help_text
        return st.selectbox(label, values, index=index, key=key, help=help_text, disabled=disabled,
                            format_func=lambda v: t("ui.form.none_option") if v is None else labels.get(v, v))
    if f.kind == "toggle":
        return st.toggle(label, value=bool(current), key=key, help=help_text, disabled=disabled)
    if f.kind == "interval":
        minutes = int(current) if current in SYNC_INTERVALS else 60
        return st.selectbox(label, list(SYNC_INTERVALS), index=list(SYNC_INTERVALS).index(minutes), key=key,
                            format_func=lambda m: t(f"interval.{m}"), help=help_text, disabled=disabled)
    return st.text_input(label, value="" if current is None else str(current), key=key, help=help_text,
                         disabled=disabled)


def _options(hub: Hub, company, prov: Provider, view) -> tuple[dict[str, list[tuple[str, str]]], str | None]:
    if not view.has_key or not any(f.kind == "select" for f in prov.fields):
        return {}, None
    try:
        return guarded.call(context.identity(), "config.view", company.id, discovery.field_options,
                            hub, company.id, prov.name), None
    except Exception as exc:  # noqa: BLE001 - the form still works with the stored value
        return {}, error_text(exc)


def _settings_from(prov: Provider, values: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    api_key = None
    settings: dict[str, Any] = {}
    for f in prov.fields:
        if f.name not in values:
            continue
        if f.kind == "password":
            api_key = values[f.name] or None
        else:
            value = values[f.name]
            settings[f.name] = value.strip() if isinstance(value, str) else value
    return api_key, settings


def _test(hub: Hub, company, prov: Provider, values: dict[str, Any]) -> None:
    api_key, settings = _settings_from(prov, values)
    try:
        result = attempt(lambda: guarded.test_connection(context.identity(), hub, company.id, prov.name, api_key,
                                                          settings))
    except Failed:
        return
    steps_view(result.steps)
    if result.ok:
        who = ", ".join(str(v) for v in (result.identity or {}).values() if v) or prov.display_name
        st.success(t("ui.form.test_ok", provider=prov.display_name, who=who), icon=":material/check_circle:")
    else:
        _error_for(prov, result)


def _save(hub: Hub, company, prov: Provider, view, state: FormState, values: dict[str, Any], seen: int,
          *, part: str) -> None:
    api_key, settings = _settings_from(prov, values)
    try:
        result = attempt(lambda: guarded.save_config(context.identity(), hub, company.id, prov.name, api_key=api_key,
                                                     settings=settings, expected_version=seen))
    except Failed:
        return
    if result.ok:
        state.saw(result.config.version if result.config else seen + 1)
        state.bump(part)  # fresh, empty widgets: the typed key leaves the session
        state.flash(part, {"steps": [(s.name, s.ok, s.detail) for s in result.steps],
                           "text": t("ui.form.saved", provider=prov.display_name)})
        st.toast(t("ui.form.saved", provider=prov.display_name), icon=":material/check_circle:")
        st.rerun()
    steps_view(result.steps)
    _error_for(prov, result)
    if isinstance(result.error, ConflictError):
        st.button(t("ui.form.reload"), key=f"reload.{part}.{prov.name}.{company.id}", icon=":material/refresh:",
                  on_click=_reload, args=(hub, company, prov, state))


def _reload(hub: Hub, company, prov: Provider, state: FormState) -> None:
    """After a conflict: take the stored version and drop the typed values (button callback)."""
    try:
        view = guarded.load_config(context.identity(), hub, company.id, prov.name)
    except Exception:  # noqa: BLE001 - the page shows the load error on the next run
        return
    state.saw(view.version)
    state.bump("form")
    state.bump("live")


def _error_for(prov: Provider, result) -> None:
    message = result.error_message(lang()) or t("hub.error")
    field = next((f for f in prov.fields if f.name == result.error_field), None)
    if field is not None:
        message = t("ui.form.field_error", field=t(field.label), message=message)
    st.error(message, icon=":material/error:")


def _show_flash(state: FormState, part: str) -> None:
    flash = state.flash(part)
    if not flash:
        return
    from integhub.services.configs import SaveStep

    steps_view([SaveStep(*s) for s in flash["steps"]])
    st.success(flash["text"], icon=":material/check_circle:")


# --- live sections (Synchronisation) ------------------------------------------------------------------
def live_section(hub: Hub, company, prov: Provider, view, state: FormState, section: str,
                 fields: list[FormField]) -> None:
    seen = state.seen_version(view.version)
    can_edit = context.can("config.edit", company.id)
    with st.container(border=True):
        st.subheader(f":material/sync: {t(section)}", anchor=False)
        toggle, rest = fields[0], fields[1:]
        values = {toggle.name: render_field(toggle, prov, view, {}, state.widget_key("live", toggle.name),
                                            disabled=not can_edit)}
        if values[toggle.name]:
            for f in rest:
                values[f.name] = render_field(f, prov, view, {}, state.widget_key("live", f.name),
                                              disabled=not can_edit)
        if not view.has_key:
            st.caption(t("ui.form.key_first"))
        clicked = st.button(t("ui.form.save_section", section=t(section)), icon=":material/save:",
                            key=state.widget_key("live", "save"), disabled=not view.has_key or not can_edit)
        _show_flash(state, "live")
        if clicked:
            _save(hub, company, prov, view, state, values, seen, part="live")


# --- webhooks -------------------------------------------------------------------------------------------
def webhook_section(hub: Hub, company, prov: Provider, view) -> None:
    if prov.name not in webhooks.WEBHOOK_PROVIDERS:
        return
    with st.container(border=True):
        st.subheader(f":material/webhook: {t('ui.webhook.section')}", anchor=False)
        st.markdown(f"**{t('ui.webhook.url')}**")
        st.code(webhooks.webhook_url(hub, company.id, prov.name), language=None)
        st.caption(t("ui.webhook.copy_hint"))
        info = _webhook_info(hub, company, prov)
        if info is not None:
            _webhook_state(info)
        _webhook_register(hub, company, prov, view)
        if info is not None and int(info.get("pending_replay") or 0):
            _webhook_replay(hub, company, prov, int(info["pending_replay"]))


def _webhook_info(hub: Hub, company, prov: Provider) -> dict[str, Any] | None:
    try:
        return guarded.call(context.identity(), "status.view", company.id, webhooks.webhook_status, hub, company.id,
                            prov.name)
    except Exception as exc:  # noqa: BLE001 - registration still works without the status line
        st.caption(error_text(exc))
        return None


def _webhook_state(info: dict[str, Any]) -> None:
    from ui.status_view import relative

    with st.container(horizontal=True, gap="small"):
        if info.get("registered"):
            st.badge(t("ui.webhook.registered"), icon=":material/check_circle:", color="green")
        else:
            st.badge(t("ui.webhook.not_registered"), icon=":material/link_off:", color="gray")
        if info.get("last_event_at"):
            st.badge(t("ui.webhook.last_event", when=relative(info["last_event_at"], lang())),
                     icon=":material/schedule:", color="blue")
        failures = int(info.get("signature_failures_24h") or 0)
        if failures:
            st.badge(t("ui.webhook.signature_failures_badge", n=failures), icon=":material/gpp_bad:", color="red")


def _webhook_register(hub: Hub, company, prov: Provider, view) -> None:
    can_manage = context.can("webhooks.manage", company.id)
    agent_id = None
    if prov.name == "retell":
        options, _ = _options(hub, company, prov, view)
        agents = dict(options.get("default_agent_id", []))
        default = view.settings.get("default_agent_id")
        choices = list(agents) or ([default] if default else [])
        if choices:
            agent_id = st.selectbox(t("ui.webhook.agent"), choices, index=choices.index(default) if default in choices else 0,
                                    format_func=lambda a: agents.get(a, a), key=f"webhook_agent.{company.id}",
                                    disabled=not can_manage)
    clicked = st.button(t("ui.webhook.register"), icon=":material/webhook:", key=f"webhook_register.{prov.name}.{company.id}",
                        disabled=not can_manage or not view.has_key or (prov.name == "retell" and not agent_id))
    if clicked:
        try:
            registration = attempt(lambda: guarded.register_webhook(context.identity(), hub, company.id, prov.name,
                                                                    agent_id=agent_id))
        except Failed:
            return
        st.success("  \n".join(registration.lines(lang())), icon=":material/check_circle:")


def _webhook_replay(hub: Hub, company, prov: Provider, pending: int) -> None:
    st.warning(t("ui.webhook.pending", n=pending), icon=":material/inbox:")
    if st.button(t("ui.webhook.replay"), icon=":material/replay:", key=f"webhook_replay.{prov.name}.{company.id}",
                 disabled=not context.can("webhooks.manage", company.id)):
        try:
            outcome = attempt(lambda: guarded.call(context.identity(), "webhooks.manage", company.id,
                                                   webhooks.replay_inbox, hub, company.id, prov.name,
                                                   actor=context.identity().actor))
        except Failed:
            return
        text = t("ui.webhook.replayed", processed=outcome.processed, failed=outcome.failed)
        (st.success if not outcome.failed else st.warning)(text)
        for line in outcome.errors[:10]:
            st.caption(line)

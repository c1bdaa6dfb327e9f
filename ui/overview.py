"""The overview's live status panel: one card per provider, refreshed by `st.fragment(run_every=…)`.

Only the panel reruns on each tick (the rest of the page stays as it is). A click on
"Jetzt synchronisieren" runs the sync in a worker thread and follows its progress in `st.status`,
so an interrupted page (the admin clicks elsewhere) does not abort the sync; the card then shows
the running sync with its start time until it ends.
"""
from __future__ import annotations

import queue
import threading
from typing import Any

import streamlit as st

from integhub.db import Hub
from integhub.errors import NotAvailable
from integhub.models import utcnow
from integhub.providers import all_providers
from integhub.services import guarded, sync
from ui import context, status_view
from ui.components import PAGE_COMPANIES, error_text
from ui.hub import refresh_seconds
from ui.i18n import lang, t

SYNC_POLL_SECONDS = 0.2


def status_panel(hub: Hub, company) -> None:
    """The panel; call `live_status_panel` to get it as a self-refreshing fragment."""
    cid = company.id
    doc = _status(hub, cid)
    if doc is None:
        return
    providers = all_providers()
    columns = st.columns(len(providers), gap="medium")
    slots: dict[str, dict[str, Any]] = {}
    for prov, column in zip(providers, columns):
        configured = bool(doc["providers"].get(prov.name, {}).get("configured"))
        with column:
            with st.container(border=True, key=f"card_{prov.name}"):
                slot = {"head": st.container(), "body": st.container(), "feedback": st.container()}
                with st.container(horizontal=True):
                    slot["clicked"] = st.button(t("ui.sync.now"), key=f"sync_now_{prov.name}", icon=":material/sync:",
                                                disabled=not configured or not context.can("sync.run", cid),
                                                type="primary")
                    context.page_link(prov.name, label=t("ui.card.configure"),
                                      icon=":material/settings:")
            slots[prov.name] = slot

    clicked = [prov for prov in providers if slots[prov.name]["clicked"]]
    for prov in clicked:
        with slots[prov.name]["feedback"]:
            run_sync_with_progress(hub, company, prov)
    if clicked:
        doc = _status(hub, cid) or doc  # the counts after the sync
    for prov in providers:
        provider_status = doc["providers"].get(prov.name, {})
        _fill_card(company, prov, provider_status, slots[prov.name])
    st.caption(t("ui.overview.refreshed", time=status_view.clock(utcnow(), company.timezone),
                 seconds=int(refresh_seconds())))


def _status(hub: Hub, cid) -> dict[str, Any] | None:
    try:
        return guarded.company_status(context.identity(), hub, cid, lang=lang())
    except Exception as exc:  # noqa: BLE001
        st.error(error_text(exc), icon=":material/error:")
        return None


def live_status_panel(hub: Hub, company) -> None:
    """The panel as a fragment that reruns by itself every INTEGHUB_STATUS_REFRESH_SECONDS."""
    st.fragment(status_panel, run_every=refresh_seconds())(hub, company)


def _fill_card(company, prov, provider_status: dict[str, Any], slot: dict[str, Any]) -> None:
    current = lang()
    sync_state = provider_status.get("sync") or {}
    issues = provider_status.get("dependency_details") or []
    with slot["head"]:
        st.subheader(f"{prov.icon} {prov.display_name}", anchor=False)
        with st.container(horizontal=True, gap="small"):
            for badge in status_view.badges(provider_status):
                st.badge(t(badge.label_key), icon=badge.icon, color=badge.color)
            if sync_state.get("backing_off"):
                st.badge(t("ui.state.backing_off",
                           time=status_view.clock(sync_state.get("next_attempt_at"), company.timezone)),
                         icon=":material/pause_circle:", color="orange")
    with slot["body"]:
        if provider_status.get("message") and provider_status.get("state") != "connected":
            st.caption(f":material/info: {provider_status['message']}")
        stats = status_view.stat_items(provider_status.get("stats") or {}, current)
        if stats:
            with st.container(horizontal=True, gap="small"):
                for key, value in stats:
                    st.metric(t(key), value, border=True)
        st.markdown(f"**{t('ui.card.last_sync')}:** "
                    f"{status_view.last_sync_text(provider_status, company.timezone, current)}")
        if provider_status.get("last_error"):
            st.markdown(f"**{t('ui.card.last_error')}:** :red[{provider_status['last_error']}]")
        running = sync_state.get("running")
        if running:
            st.info(t("ui.sync.running_since", time=status_view.clock(running.get("started_at"), company.timezone)),
                    icon=":material/progress_activity:")
        _webhook_line(provider_status.get("webhook") or {})
        for issue in issues:
            with st.container(border=False):
                st.warning(issue["message"], icon=":material/warning:")
                context.page_link(issue.get("fix_page") or PAGE_COMPANIES, label=t("ui.deps.fix"),
                                  icon=":material/build:")


def _running(hub: Hub, company_id, provider: str) -> dict[str, Any] | None:
    try:
        return guarded.call(context.identity(), "status.view", company_id, sync.running_sync, hub, company_id, provider)
    except Exception:  # noqa: BLE001 - the card still shows everything else
        return None


def _webhook_line(info: dict[str, Any]) -> None:
    """Registered / last event / signature failures (from company_status)."""
    registered = bool(info.get("registered"))
    parts = [t("ui.webhook.registered") if registered else t("ui.webhook.not_registered")]
    if info.get("last_event_at"):
        parts.append(t("ui.webhook.last_event", when=status_view.relative(info["last_event_at"], lang())))
    failures = int(info.get("signature_failures_24h") or 0)
    if failures:
        parts.append(t("ui.webhook.signature_failures", n=failures))
    icon = ":material/webhook:" if registered else ":material/link_off:"
    st.markdown(f"{icon} " + " · ".join(parts))


def run_sync_with_progress(hub: Hub, company, prov) -> None:
    """"Jetzt synchronisieren": progress in st.status, the outcome as a toast."""
    running = _running(hub, company.id, prov.name)
    if running:
        st.warning(t("ui.sync.already_running", time=status_view.clock(running.get("started_at"), company.timezone)),
                   icon=":material/hourglass_top:")
        return
    events: queue.Queue = queue.Queue()
    who = context.identity()

    def work() -> None:
        try:
            result = guarded.run_sync(who, hub, company.id, prov.name, trigger="ui",
                                      progress=lambda step, counts: events.put(("progress", step, dict(counts or {}))))
            events.put(("done", result))
        except BaseException as exc:  # noqa: BLE001 - reported to the page below
            events.put(("failed", exc))

    with st.status(t("ui.sync.running", provider=prov.display_name), expanded=True) as box:
        threading.Thread(target=work, name=f"ui-sync-{prov.name}", daemon=True).start()
        while True:
            try:
                kind, *payload = events.get(timeout=SYNC_POLL_SECONDS)
            except queue.Empty:
                continue
            if kind == "progress":
                step, counts = payload
                box.write(t("ui.sync.progress", step=_step_label(step), n=_count_text(step, counts)))
                continue
            if kind == "failed":
                exc = payload[0]
                if isinstance(exc, sync.SyncAlreadyRunning):
                    text = t("ui.sync.already_running",
                             time=status_view.clock(exc.started_at, company.timezone) or "?")
                elif isinstance(exc, NotAvailable):
                    text = t("ui.sync.not_available")
                else:
                    text = error_text(exc)
                box.update(label=text, state="error", expanded=True)
                st.toast(text, icon=":material/error:")
                return
            result = payload[0]
            if getattr(result, "success", False):
                text = t("ui.sync.done", provider=prov.display_name, n=result.records_synced,
                         duration=_duration(result.duration_ms))
                box.update(label=text, state="complete", expanded=False)
                st.toast(text, icon=":material/check_circle:")
            else:
                text = t("ui.sync.failed", provider=prov.display_name, error=getattr(result, "error", None) or "?")
                box.update(label=text, state="error", expanded=True)
                st.toast(text, icon=":material/error:")
            return


def _duration(ms: int) -> str:
    if ms < 1000:
        return f"{int(ms)} ms"
    seconds = f"{ms / 1000:.1f}"
    return f"{seconds.replace('.', ',') if lang() == 'de' else seconds} s"


def _step_label(step: str) -> str:
    key = f"ui.stat.{step}"
    label = t(key)
    return step if label == key else label


def _count_text(step: str, counts: dict[str, Any]) -> str:
    if step in counts:
        return str(counts[step])
    return ", ".join(f"{_step_label(k)}: {v}" for k, v in counts.items()) or "…"

"""Small building blocks every page uses: guarded service calls, headers, step lists, notices."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from integhub.errors import HubError
from integhub.providers.errors import ProviderError
from integhub.services.configs import describe_error
from ui.i18n import lang, t

log = logging.getLogger("integhub.ui")
T = TypeVar("T")

PAGE_COMPANIES = "companies"  # page key (see ui.nav)

STEP_KEYS = ("check_input", "validate_key", "encrypt", "save", "audit", "sync")


class Failed(Exception):
    """A guarded call failed; its message has already been shown."""


def error_text(exc: BaseException) -> str:
    """The admin-facing sentence for any failure (never a traceback, never a secret)."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        log.error("database error in the UI", exc_info=exc)
        return describe_error(HubError("hub.database_error"), lang())
    if not isinstance(exc, (HubError, ProviderError)):
        # Unexpected: keep the details in the server log (redacted), show a clear sentence.
        log.error("unexpected error in the UI", exc_info=exc)
    return describe_error(exc, lang())


def attempt(call: Callable[[], T], *, show: Callable[[str], Any] | None = None) -> T:
    """Run a service call; on any failure show a clear message and raise `Failed`."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message, never a traceback
        (show or _show_error)(error_text(exc))
        raise Failed() from None


def _show_error(text: str) -> None:
    st.error(text, icon=":material/error:")


def page_header(title: str, icon: str, caption: str | None = None) -> None:
    st.title(f"{icon} {title}" if icon else title, anchor=False)
    if caption:
        st.caption(caption)


def company_caption(company) -> None:
    st.caption(t("ui.company.caption", name=company.name, slug=company.slug, tz=company.timezone))


def steps_view(steps) -> None:
    """Each step of the save flow with its outcome (the spec's "Konfiguration speichern")."""
    with st.container(border=True):
        for step in steps:
            label = t(f"ui.step.{step.name}") if step.name in STEP_KEYS else step.name
            icon = ":material/check_circle:" if step.ok else ":material/cancel:"
            color = "green" if step.ok else "red"
            line = f":{color}[{icon}] {label}"
            if step.detail:
                line += f" — {step.detail}"
            st.markdown(line)


def no_company_notice() -> None:
    st.info(t("ui.picker.none_selected"), icon=":material/arrow_back:")


def demo_banner(active: bool) -> None:
    if active:
        st.sidebar.info(t("ui.demo.banner"), icon=":material/science:")

"""The UI language: INTEGHUB_LANG by default, switchable in the sidebar, kept in the URL (?lang=en)."""
from __future__ import annotations

import streamlit as st

from integhub import i18n

LANG_KEY = "lang"
LANG_LABELS = {"de": "Deutsch", "en": "English"}


def lang() -> str:
    """The language of this session (the sidebar switch, else INTEGHUB_LANG, else German)."""
    chosen = st.session_state.get(LANG_KEY)
    return chosen if chosen in i18n.LANGS else i18n.default_lang()


def t(key: str, **kwargs: object) -> str:
    """`key` from the one message catalogue, in this session's language."""
    return i18n.t(key, lang(), **kwargs)


def language_switch() -> str:
    """The sidebar switch. Bound to ?lang= so a shared link opens in the same language."""
    st.sidebar.segmented_control(
        t("ui.lang.label"), list(i18n.LANGS), default=i18n.default_lang(), required=True,
        format_func=LANG_LABELS.get, key=LANG_KEY, bind="query-params", width="stretch",
    )
    return lang()

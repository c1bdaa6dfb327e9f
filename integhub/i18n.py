"""One message catalogue for German (default) and English.

Every user-facing string lives in integhub/messages/ (one section per area, merged here); `t(key, lang, **kw)` formats one. Tests check that both
languages define the same keys.
"""
from __future__ import annotations

import os

LANGS = ("de", "en")

def _load() -> dict[str, dict[str, str]]:
    """Merge the catalogue's sections (integhub/messages/*.py, each a MESSAGES dict)."""
    import importlib
    import pkgutil

    from . import messages

    merged: dict[str, dict[str, str]] = {}
    for info in sorted(pkgutil.iter_modules(messages.__path__), key=lambda i: i.name):
        section = importlib.import_module(f"{messages.__name__}.{info.name}").MESSAGES
        dupes = set(section) & set(merged)
        if dupes:
            raise RuntimeError(f"duplicate message keys: {sorted(dupes)[:5]}")
        merged.update(section)
    return merged


MESSAGES: dict[str, dict[str, str]] = _load()


def default_lang() -> str:
    lang = os.environ.get("INTEGHUB_LANG", "de").strip().lower()
    return lang if lang in LANGS else "de"


def t(key: str, lang: str | None = None, **kwargs: object) -> str:
    """Format the message `key` in `lang` (default: INTEGHUB_LANG or German)."""
    lang = lang if lang in LANGS else default_lang()
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["de"]
    try:
        return text.format(**kwargs)
    except (KeyError, IndexError, ValueError):
        return text

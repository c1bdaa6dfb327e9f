"""One message catalogue for German (default) and English.

Every user-facing string lives here; `t(key, lang, **kw)` formats one. Tests check that both
languages define the same keys.
"""
from __future__ import annotations

import os

LANGS = ("de", "en")

MESSAGES: dict[str, dict[str, str]] = {
    # --- provider error taxonomy -------------------------------------------------------------
    "error.invalid_credentials": {
        "de": "Der API-Schlüssel wurde von {provider} abgelehnt ({status}).",
        "en": "{provider} rejected the API key ({status}).",
    },
    "error.forbidden": {
        "de": "Der API-Schlüssel hat bei {provider} keine Berechtigung für diese Aktion ({status}).",
        "en": "The API key is not permitted to do this at {provider} ({status}).",
    },
    "error.not_found": {
        "de": "{provider} kennt das angefragte Objekt nicht ({status}).",
        "en": "{provider} does not know the requested object ({status}).",
    },
    "error.rate_limited": {
        "de": "{provider} begrenzt gerade die Anfragen (429). Bitte in {retry_after} Sekunden erneut versuchen.",
        "en": "{provider} is rate-limiting requests (429). Please try again in {retry_after} seconds.",
    },
    "error.provider_error": {
        "de": "{provider} meldet einen internen Fehler ({status}). Bitte später erneut versuchen.",
        "en": "{provider} reported an internal error ({status}). Please try again later.",
    },
    "error.unreachable": {
        "de": "{provider} ist nicht erreichbar. Netzwerk oder Basis-URL prüfen.",
        "en": "{provider} cannot be reached. Check the network or the base URL.",
    },
    "error.timeout": {
        "de": "{provider} hat nicht rechtzeitig geantwortet (Zeitüberschreitung).",
        "en": "{provider} did not answer in time (timeout).",
    },
    "error.malformed_response": {
        "de": "{provider} hat eine unerwartete Antwort geschickt.",
        "en": "{provider} sent an unexpected response.",
    },
}


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

"""The UI's strings: every key in both languages, every key the UI uses exists, same placeholders."""
from __future__ import annotations

import re
import string
from pathlib import Path

from integhub import i18n
from integhub.messages.ui import MESSAGES as UI_MESSAGES
from integhub.providers import all_providers
from integhub.validation import SYNC_INTERVALS
from ui import nav, status_view
from ui.components import STEP_KEYS

ROOT = Path(__file__).resolve().parent.parent.parent
SOURCES = sorted([*ROOT.glob("ui/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py",
                  ROOT / "integhub/services/demo.py", ROOT / "integhub/services/staff_import.py"])
LITERAL_KEY = re.compile(r"""\bt\(\s*(["'])((?:ui|hub|interval|calcom|retell|form|error|validation|deps|sync|ops|webhooks)\.[A-Za-z0-9_.]+)\1""")
HUB_ERROR_KEY = re.compile(r"""HubError\(\s*["']([a-z_.]+)["']""")
FSTRING_KEY = re.compile(r"""\bt\(\s*f(["'])([a-z_.]+)\{""")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_ui_message_has_both_languages_with_the_same_placeholders():
    for key, entry in UI_MESSAGES.items():
        assert key.startswith("ui."), key
        assert set(entry) == set(i18n.LANGS), key
        assert all(entry[lang].strip() for lang in i18n.LANGS), key
        assert placeholders(entry["de"]) == placeholders(entry["en"]), key


def test_every_key_written_in_the_ui_code_exists():
    used: set[str] = set()
    for path in SOURCES:
        source = path.read_text(encoding="utf-8")
        used |= {m.group(2) for m in LITERAL_KEY.finditer(source)}
        used |= set(HUB_ERROR_KEY.findall(source))
    assert len(used) > 150  # the scan finds the keys (guards against a broken pattern)
    missing = sorted(k for k in used if k not in i18n.MESSAGES)
    assert not missing, missing


def test_every_computed_key_exists():
    """Keys built at run time: each family the code builds from, enumerated."""
    prefixes = {m.group(2) for path in SOURCES for m in FSTRING_KEY.finditer(path.read_text(encoding="utf-8"))}
    assert prefixes <= {"ui.step.", "interval.", "ui.map.empty_", "ui.stat."}, prefixes
    computed = [f"ui.step.{s}" for s in STEP_KEYS]
    computed += [f"interval.{m}" for m in SYNC_INTERVALS]
    computed += ["ui.map.empty_users", "ui.map.empty_event_types"]
    for prov in all_providers():
        computed += [f"ui.stat.{k}" for k in prov.stat_keys]
        for f in prov.fields:
            computed += [k for k in (f.label, f.help, f.section) if k]
    computed += ["ui.stat.calls_24h"]
    computed += [key for key, _, _ in status_view.STATE_BADGES.values()]
    computed += ["ui.badge.connected", "ui.badge.disconnected", "ui.state.sync_failed", "ui.state.sync_overdue"]
    computed += [f"ui.time.{u}{s}" for u in ("minutes", "hours", "days") for s in ("", "_one")]
    computed += [spec.title_key for spec in nav.page_specs() if spec.title_key]
    computed += [nav.GROUP_INTEGRATIONS, nav.GROUP_ANALYTICS]
    computed += ["ui.nav.fleet", "ui.nav.audit", "ui.nav.keys", "ui.nav.access", "ui.nav.metrics"]
    missing = sorted(k for k in computed if k not in i18n.MESSAGES)
    assert not missing, missing
    for key in computed:
        assert all(i18n.MESSAGES[key].get(lang) for lang in i18n.LANGS), key


def test_the_spec_labels_are_the_german_defaults():
    de = {k: v["de"] for k, v in i18n.MESSAGES.items()}
    assert de["ui.nav.overview"] == "Übersicht" and de["ui.nav.group.integrations"] == "Integrationen"
    assert de["ui.badge.connected"] == "Verbunden" and de["ui.badge.disconnected"] == "Nicht verbunden"
    assert de["ui.sync.now"] == "Jetzt synchronisieren" and de["ui.card.last_sync"] == "Letzte Sync"
    assert de["ui.time.never"] == "Nie" and de["ui.webhook.section"] == "Webhook Konfiguration"
    assert [de[f"interval.{m}"] for m in SYNC_INTERVALS] == ["Alle 15 Minuten", "Alle 30 Minuten", "Stündlich", "Täglich"]

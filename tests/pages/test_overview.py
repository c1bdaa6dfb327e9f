"""Übersicht: status cards against the real services and the simulator (connect, sync, faults)."""
from __future__ import annotations

import threading
import time
from unittest.mock import patch

from integhub.errors import NotAvailable
from integhub.services import companies, configs, sync

from .conftest import CAL_KEY, open_page, texts


def card_text(at, index: int) -> str:
    """Text of the index-th status card (0 = Cal.com, 1 = Retell.ai, in the registry's order)."""
    return texts_of(at.main.columns[index])


def texts_of(node) -> str:
    parts = []

    def walk(n):
        for attr in ("value", "label", "body"):
            try:
                v = getattr(n, attr, None)
            except Exception:
                v = None
            if isinstance(v, str):
                parts.append(v)
        for child in getattr(n, "children", {}).values():
            walk(child)

    walk(node)
    return "\n".join(parts)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_empty_database_offers_the_demo_and_the_companies_page(make_app):
    at = open_page(make_app())
    assert at.button(key="load_demo").label == "Demo laden"
    assert "Willkommen im Integration Hub" in texts(at)
    assert any(link.label == "Zu den Unternehmen" for link in at.get("page_link"))


def test_connected_cards_then_sync_now_shows_progress_toast_and_counts(make_app, configured, simulator):
    at = open_page(make_app())
    cal, retell = card_text(at, 0), card_text(at, 1)
    assert "Verbunden" in cal and "Nicht verbunden" not in cal
    assert "Verbunden" in retell
    assert "Letzte Sync:** Nie" in cal

    at.button(key="sync_now_calcom").click().run()
    assert not at.exception
    facts = simulator.facts(CAL_KEY)["counts"]
    shown = metrics(at)
    assert shown["Event Types"] == str(facts["event_types"])
    assert shown["Buchungen"] == str(facts["bookings"])
    assert shown["Benutzer zugeordnet"] == "0 / 1"  # the key's owner is not one of the company's staff
    assert any("Datensätze synchronisiert" in toast.value for toast in at.toast)
    status_box = at.get("status")
    assert status_box and "synchronisiert" in status_box[0].label
    assert "gerade eben" in card_text(at, 0)


def test_dependency_issues_are_listed_with_a_link_to_the_page_that_fixes_them(make_app, hub, admin, simulator):
    bare = companies.create_company(hub, "Ohne Filialen")
    assert configs.save_config(hub, bare.id, "calcom", api_key=CAL_KEY, actor="test").ok
    at = open_page(make_app(company=str(bare.id)))
    cal = card_text(at, 0)
    assert "Cal.com benötigt mindestens eine Filiale" in cal
    assert "Cal.com benötigt mindestens einen Mitarbeiter" in cal
    assert "Retell.ai benötigt" not in card_text(at, 1)  # Retell is not configured: nothing to depend on
    links = [link for link in at.main.columns[0].get("page_link") if link.label == "Jetzt beheben"]
    assert len(links) == 2 and all(link.proto.page.endswith("pages/companies.py") or "unternehmen" in link.proto.page
                                   for link in links)


def test_a_revoked_key_turns_the_card_to_key_rejected(make_app, configured, simulator):
    simulator.revoke(CAL_KEY)
    at = open_page(make_app())
    cal = card_text(at, 0)
    assert "Nicht verbunden" in cal and "Schlüssel abgelehnt" in cal
    assert "abgelehnt (401)" in cal  # the provider's answer as a clear sentence
    assert "Nicht verbunden" not in card_text(at, 1)


def test_an_unreachable_provider_is_named_as_such(make_app, configured, monkeypatch, closed_port_url):
    monkeypatch.setenv("INTEGHUB_CALCOM_BASE_URL", closed_port_url)
    at = open_page(make_app())
    cal = card_text(at, 0)
    assert "Anbieter nicht erreichbar" in cal
    assert "nicht erreichbar" in cal


def test_a_failed_sync_keeps_the_earlier_counts_and_says_why(make_app, hub, configured, simulator):
    first = sync.run_sync(hub, configured.id, "calcom", actor="test")
    assert first.success
    simulator.fault(provider="calcom", path_prefix="/v2/bookings", kind="status", status=500)
    at = open_page(make_app())
    at.button(key="sync_now_calcom").click().run()
    assert not at.exception
    assert any("fehlgeschlagen" in toast.value for toast in at.toast)
    assert metrics(at)["Buchungen"] == str(first.counts["bookings"])
    assert "Letzte Sync fehlgeschlagen" in card_text(at, 0)


def test_while_a_sync_runs_the_card_shows_its_start_and_a_second_click_says_so(make_app, hub, configured, simulator):
    simulator.fault(provider="calcom", path_prefix="/v2/bookings", kind="latency", latency_ms=4000, count=1)
    background = threading.Thread(target=sync.run_sync, args=(hub, configured.id, "calcom"),
                                  kwargs={"actor": "other-admin"}, daemon=True)
    background.start()
    deadline = time.monotonic() + 10
    while sync.running_sync(hub, configured.id, "calcom") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sync.running_sync(hub, configured.id, "calcom") is not None
    try:
        at = open_page(make_app())
        assert "Synchronisation läuft seit" in card_text(at, 0)
        at.button(key="sync_now_calcom").click().run()
        assert "Es läuft bereits eine Synchronisation (gestartet um" in texts(at)
    finally:
        background.join(timeout=20)


def test_sync_engine_missing_gives_a_clear_message(make_app, configured):
    with patch("integhub.services.sync.run_sync", side_effect=NotAvailable()):
        at = open_page(make_app())
        at.button(key="sync_now_retell").click().run()
    assert not at.exception
    assert any("noch nicht verfügbar" in toast.value for toast in at.toast)


def test_an_unexpected_failure_is_a_sentence_not_a_traceback(make_app, configured):
    with patch("integhub.services.status.company_status", side_effect=RuntimeError("boom at line 12")):
        at = open_page(make_app())
    assert not at.exception
    assert any("Unerwarteter Fehler (RuntimeError)" in e.value for e in at.error)
    assert "boom at line 12" not in texts(at)


def test_refresh_interval_comes_from_the_environment(make_app, configured, monkeypatch):
    monkeypatch.setenv("INTEGHUB_STATUS_REFRESH_SECONDS", "7")
    at = open_page(make_app())
    assert "automatisch alle 7 s" in texts(at)
    monkeypatch.delenv("INTEGHUB_STATUS_REFRESH_SECONDS")
    at.run()
    assert "automatisch alle 30 s" in texts(at)


def test_english_through_the_environment_and_the_sidebar_switch(make_app, configured, monkeypatch):
    at = open_page(make_app())
    at.segmented_control(key="lang").set_value("en").run()
    assert "Integration Hub – Overview" in [t.value for t in at.title][0]
    assert "Connected" in card_text(at, 0)
    monkeypatch.setenv("INTEGHUB_LANG", "en")
    fresh = open_page(make_app())
    assert "Connected" in card_text(fresh, 0) and "Synchronise now" == fresh.button(key="sync_now_calcom").label

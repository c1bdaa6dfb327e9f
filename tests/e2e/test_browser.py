"""The hub in a real browser: setup flow, live status, error handling, no key in HTML or websocket traffic."""
from __future__ import annotations

import secrets
import uuid

import pytest
from playwright.sync_api import expect

from integhub.crypto import mask
from integhub.services import companies, configs

from .conftest import REFRESH_SECONDS, keyed, open_url, screenshot, wait_for_app


def new_key() -> str:
    return f"cal_live_{secrets.token_hex(16)}"


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


def nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    wait_for_app(page)


def click(page, name: str, scope=None) -> None:
    (scope or page).get_by_role("button", name=name, exact=True).click()
    wait_for_app(page)


def arranged_company(hub, key: str | None = None):
    company = companies.create_company(hub, unique("Praxis Browser"))
    branch = companies.create_branch(hub, company.id, "Hauptpraxis")
    companies.create_staff(hub, company.id, "Anna Schmidt", f"anna.{uuid.uuid4().hex[:6]}@example.org",
                           branch_id=branch.id)
    if key:
        result = configs.save_config(hub, company.id, "calcom", api_key=key, actor="e2e")
        assert result.ok, result.error_message("en")
    return company


def test_complete_setup_flow_company_branch_staff_calcom_connected_sync_counts(page, hub_server, hub, e2e_simulator):
    base, _ = hub_server
    name = unique("Praxis Sonnenhof")
    key = new_key()

    open_url(page, f"{base}/unternehmen")
    page.locator(keyed("new_company.name")).get_by_role("textbox").fill(name)
    click(page, "Unternehmen anlegen")
    expect(page.get_by_test_id("stAlertContentSuccess").first).to_contain_text(f"Unternehmen „{name}“ angelegt.")
    created = companies.list_companies(hub, name).rows[0]
    expect(page).to_have_url(f"{base}/unternehmen?company={created.id}")  # a shareable link
    screenshot(page, "01-unternehmen")

    page.get_by_role("tab", name="Filialen").click()
    page.get_by_role("textbox", name="Name der Filiale", exact=True).fill("Hauptpraxis")
    click(page, "Filiale anlegen")
    page.get_by_role("tab", name="Mitarbeiter").click()
    staff_form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Mitarbeiter anlegen"))
    staff_form.get_by_role("textbox", name="Name", exact=True).fill("Anna Schmidt")
    staff_form.get_by_role("textbox", name="E-Mail", exact=True).fill("anna.schmidt@example.org")
    click(page, "Mitarbeiter anlegen")
    assert companies.dependency_counts(hub, created.id) == {"branches": 1, "staff": 1}
    screenshot(page, "02-mitarbeiter")

    nav(page, "Cal.com")
    assert f"company={created.id}" in page.url  # the choice survives the page switch
    page.get_by_role("textbox", name="Cal.com API Schlüssel", exact=True).fill(key)
    click(page, "Speichern")
    expect(page.get_by_test_id("stAlertContentSuccess").first).to_contain_text("Cal.com: Konfiguration gespeichert.")
    expect(page.get_by_role("textbox", name="Cal.com API Schlüssel", exact=True)).to_have_attribute("placeholder", mask(key))
    expect(page.get_by_role("textbox", name="Cal.com API Schlüssel", exact=True)).to_have_value("")
    screenshot(page, "03-calcom")

    nav(page, "Übersicht")
    card = page.locator(keyed("card_calcom"))
    expect(card).to_contain_text("Verbunden")
    expect(card).to_contain_text("Letzte Sync: Nie")
    card.get_by_role("button", name="Jetzt synchronisieren").click()
    expect(page.get_by_test_id("stToast").first).to_contain_text("Datensätze synchronisiert", timeout=30_000)
    wait_for_app(page)
    counts = e2e_simulator.facts(key)["counts"]
    expect(card.get_by_test_id("stMetric").filter(has_text="Event Types")).to_contain_text(str(counts["event_types"]))
    expect(card.get_by_test_id("stMetric").filter(has_text="Buchungen")).to_contain_text(str(counts["bookings"]))
    expect(card).to_contain_text("gerade eben")
    screenshot(page, "04-uebersicht-synchronisiert")
    assert not page.traffic.contains(key, sent=False)  # typed once, never sent back


def test_live_status_change_without_reload(page, hub_server, hub, e2e_simulator):
    base, _ = hub_server
    key = new_key()
    company = arranged_company(hub, key)
    open_url(page, f"{base}/?company={company.id}")
    card = page.locator(keyed("card_calcom"))
    expect(card).to_contain_text("Verbunden")
    page.evaluate("window.__sameDocument = true")

    e2e_simulator.revoke(key)
    # The status panel is a fragment that reruns every REFRESH_SECONDS; the status cache is kept
    # younger than one refresh, so the next tick or the one after shows the change.
    expect(card).to_contain_text("Schlüssel abgelehnt", timeout=REFRESH_SECONDS * 3 * 1000)
    expect(card).to_contain_text("Nicht verbunden")
    assert page.evaluate("window.__sameDocument === true")  # no reload happened
    screenshot(page, "05-uebersicht-schluessel-abgelehnt")


def test_invalid_key_gives_a_message_and_the_stored_key_stays(page, hub_server, hub):
    base, _ = hub_server
    key = new_key()
    company = arranged_company(hub, key)
    open_url(page, f"{base}/cal-com?company={company.id}")
    page.get_by_role("textbox", name="Team Slug", exact=True).fill("mein-team")
    page.get_by_role("textbox", name="Cal.com API Schlüssel", exact=True).fill("cal_live_invalid_00000000000000000000")
    click(page, "Speichern")
    expect(page.get_by_test_id("stAlertContentError").first).to_contain_text("abgelehnt (401)")
    expect(page.get_by_role("textbox", name="Team Slug", exact=True)).to_have_value("mein-team")  # the form keeps the input
    assert configs.get_secret(hub, company.id, "calcom") == key
    expect(page.get_by_text(f"Schlüssel gespeichert: {mask(key)}")).to_be_visible()
    screenshot(page, "06-calcom-schluessel-abgelehnt")


PAGES = [("uebersicht", "Übersicht"), ("cal-com", "Cal.com"), ("retell-ai", "Retell.ai"), ("unternehmen", "Unternehmen"),
         ("flotte", "Flottenübersicht"), ("audit-log", "Audit-Log"), ("schluessel", "Schlüsselverwaltung"),
         ("zugriff", "Zugriffsrechte"), ("sync-metriken", "Sync-Metriken")]


def test_no_stored_key_in_any_page_html_or_websocket_frame(page, hub_server, hub):
    base, _ = hub_server
    stored = new_key()
    company = arranged_company(hub, stored)
    retell = f"key_{secrets.token_hex(14)}"
    assert configs.save_config(hub, company.id, "retell", api_key=retell, actor="e2e").ok
    open_url(page, f"{base}/?company={company.id}")
    seen = []
    for path, title in PAGES:
        links = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
        if not links.count():
            continue  # that page is not part of this installation
        nav(page, title)
        seen.append(path)
        html = page.content()
        for secret in (stored, retell):
            assert secret not in html, path
            assert secret[4:] not in html, path
        screenshot(page, f"page-{path}")
    assert {"uebersicht", "cal-com", "retell-ai", "unternehmen"} <= set(seen)
    for secret in (stored, retell):
        assert not page.traffic.contains(secret), "a stored key travelled over the websocket"
    assert page.traffic.received, "no websocket traffic was recorded"


def test_a_newly_typed_key_is_never_echoed_and_gone_after_saving(page, hub_server, hub):
    base, _ = hub_server
    company = arranged_company(hub)
    typed = new_key()
    open_url(page, f"{base}/cal-com?company={company.id}")
    page.get_by_role("textbox", name="Cal.com API Schlüssel", exact=True).fill(typed)
    click(page, "Speichern")
    expect(page.get_by_test_id("stAlertContentSuccess").first).to_contain_text("gespeichert")
    assert configs.get_secret(hub, company.id, "calcom") == typed
    assert not page.traffic.contains(typed, sent=False)  # the browser sent it once; the server never sent it
    page.reload()
    wait_for_app(page)
    assert typed not in page.content()
    expect(page.get_by_role("textbox", name="Cal.com API Schlüssel", exact=True)).to_have_value("")


@pytest.mark.parametrize("lang, expected", [("de", "Verbunden"), ("en", "Connected")])
def test_overview_in_both_languages(page, hub_server, hub, lang, expected):
    base, _ = hub_server
    company = arranged_company(hub, new_key())
    open_url(page, f"{base}/?company={company.id}")
    if lang == "en":
        page.locator(keyed("lang")).get_by_text("English", exact=True).click()
        wait_for_app(page)
    expect(page.locator(keyed("card_calcom"))).to_contain_text(expected)
    screenshot(page, f"uebersicht-{lang}")

"""What a newcomer does: `make run`, "Demo laden", then configure → connected → sync → counts, de and en.

A hub of its own (the demo switches its process to the built-in simulator); its provider URLs point
at a closed port, so everything that works here works offline.
"""
from __future__ import annotations

from playwright.sync_api import expect

from .conftest import keyed, open_url, screenshot, served_hub, wait_for_app


def test_demo_click_through_in_german_and_english(browser, tmp_path):
    offline = "http://127.0.0.1:9"
    with served_hub(tmp_path, INTEGHUB_CALCOM_BASE_URL=offline, INTEGHUB_RETELL_BASE_URL=offline) as (base, _):
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        open_url(page, base)
        screenshot(page, "demo-00-start")
        page.get_by_role("button", name="Demo laden").click()
        wait_for_app(page)
        card = page.locator(keyed("card_calcom"))
        expect(card).to_contain_text("Verbunden")
        expect(card.get_by_test_id("stMetric").filter(has_text="Event Types")).not_to_contain_text("0")
        expect(page.get_by_test_id("stSidebar")).to_contain_text("Demo-Modus")
        screenshot(page, "demo-01-uebersicht")

        # The company that is not set up yet: configure Cal.com by hand.
        page.locator(keyed("company_select")).click()
        page.get_by_role("option", name="Physiotherapie Bewegungsraum (Demo)").click()
        wait_for_app(page)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Cal.com", exact=True).click()
        wait_for_app(page)
        page.get_by_role("textbox", name="Cal.com API Schlüssel", exact=True).fill("cal_demo_newcomer_0001")
        page.get_by_role("button", name="Speichern", exact=True).click()
        wait_for_app(page)
        expect(page.get_by_test_id("stAlertContentSuccess").first).to_contain_text("gespeichert")
        screenshot(page, "demo-02-calcom")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Übersicht", exact=True).click()
        wait_for_app(page)
        card = page.locator(keyed("card_calcom"))
        expect(card).to_contain_text("Verbunden")
        card.get_by_role("button", name="Jetzt synchronisieren").click()
        expect(page.get_by_test_id("stToast").first).to_contain_text("synchronisiert", timeout=30_000)
        wait_for_app(page)
        expect(card.get_by_test_id("stMetric").filter(has_text="Buchungen")).not_to_contain_text("0")

        page.locator(keyed("lang")).get_by_text("English", exact=True).click()
        wait_for_app(page)
        expect(card).to_contain_text("Connected")
        expect(card).to_contain_text("Last sync")
        screenshot(page, "demo-03-overview-en")
        context.close()

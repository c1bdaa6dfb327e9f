"""Cal.com and Retell.ai pages: the save flow, errors, conflicts, the interval rule, secrets, webhooks."""
from __future__ import annotations

from sqlalchemy import select

from integhub.crypto import mask
from integhub.models import AuditEvent
from integhub.services import configs, discovery, sync

from .conftest import ADMIN, CAL_KEY, CAL_KEY_2, RETELL_KEY, open_page, texts, tree_bytes

CAL_PAGE = "pages/provider_calcom.py"
RETELL_PAGE = "pages/provider_retell.py"


def field(at, label: str, kind: str = "text_input"):
    matches = [w for w in getattr(at, kind) if w.label == label]
    assert len(matches) == 1, (label, [w.label for w in getattr(at, kind)])
    return matches[0]


def button(at, label: str):
    matches = [b for b in at.button if b.label == label]
    assert len(matches) == 1, (label, [b.label for b in at.button])
    return matches[0]


def success_texts(at) -> list[str]:
    return [s.value for s in at.success]


def error_texts(at) -> list[str]:
    return [e.value for e in at.error]


def test_saving_a_key_shows_each_step_then_only_the_mask(make_app, hub, company):
    at = open_page(make_app(), CAL_PAGE)
    key_input = field(at, "Cal.com API Schlüssel")
    assert key_input.proto.type == key_input.proto.PASSWORD
    key_input.input(CAL_KEY)
    button(at, "Speichern").click().run()
    assert not at.exception
    assert "Cal.com: Konfiguration gespeichert." in success_texts(at)
    steps = "\n".join(m.value for m in at.markdown)
    for step in ("Eingaben prüfen", "Schlüssel beim Anbieter prüfen", "Verschlüsseln", "Speichern",
                 "Im Audit-Log vermerken"):
        assert f":green[:material/check_circle:] {step}" in steps
    key_input = field(at, "Cal.com API Schlüssel")
    assert key_input.value == "" and key_input.placeholder == mask(CAL_KEY) == "cal_live_…cdef"
    assert CAL_KEY.encode() not in tree_bytes(at)
    assert configs.get_secret(hub, company.id, "calcom") == CAL_KEY
    with hub.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "config.created")).one()
        assert event.actor == ADMIN


def test_an_empty_key_field_keeps_the_stored_key(make_app, hub, configured):
    at = open_page(make_app(), CAL_PAGE)
    field(at, "Team Slug").input("mein-team")  # the simulator's accounts have this team
    button(at, "Speichern").click().run()
    assert "Cal.com: Konfiguration gespeichert." in success_texts(at)
    assert configs.get_secret(hub, configured.id, "calcom") == CAL_KEY
    assert configs.load_config(hub, configured.id, "calcom").settings["team_slug"] == "mein-team"
    assert field(at, "Team Slug").value == "mein-team"


def test_a_rejected_key_changes_nothing_and_the_form_keeps_the_input(make_app, hub, configured):
    version = configs.load_config(hub, configured.id, "calcom").version
    at = open_page(make_app(), CAL_PAGE)
    field(at, "Cal.com API Schlüssel").input("cal_live_invalid_000000000000000000")
    field(at, "Team Slug").input("mein-team")
    button(at, "Speichern").click().run()
    assert not at.exception
    assert any("Cal.com API Schlüssel: Der API-Schlüssel wurde von Cal.com abgelehnt (401)." in e
               for e in error_texts(at))
    assert ":red[:material/cancel:] Schlüssel beim Anbieter prüfen" in "\n".join(m.value for m in at.markdown)
    assert field(at, "Team Slug").value == "mein-team"
    assert field(at, "Cal.com API Schlüssel").value == "cal_live_invalid_000000000000000000"
    view = configs.load_config(hub, configured.id, "calcom")
    assert view.version == version and configs.get_secret(hub, configured.id, "calcom") == CAL_KEY


def test_a_key_with_the_wrong_format_is_refused_before_any_provider_call(make_app, hub, configured, simulator):
    at = open_page(make_app(), CAL_PAGE)
    before = simulator.request_count
    field(at, "Cal.com API Schlüssel").input("sk_not_a_cal_key_1234567890")
    button(at, "Speichern").click().run()
    assert any("muss mit „cal_“ beginnen" in e for e in error_texts(at))
    assert configs.get_secret(hub, configured.id, "calcom") == CAL_KEY
    assert simulator.request_count == before


def test_provider_down_gives_a_clear_message_and_keeps_the_old_key(make_app, hub, configured, monkeypatch,
                                                                    closed_port_url):
    monkeypatch.setenv("INTEGHUB_CALCOM_BASE_URL", closed_port_url)
    at = open_page(make_app(), CAL_PAGE)
    field(at, "Cal.com API Schlüssel").input(CAL_KEY_2)
    button(at, "Speichern").click().run()
    assert not at.exception
    assert any("Cal.com ist nicht erreichbar" in e for e in error_texts(at))
    assert configs.get_secret(hub, configured.id, "calcom") == CAL_KEY


def test_a_concurrent_save_gives_the_conflict_message_and_keeps_the_input(make_app, hub, configured):
    at = open_page(make_app(), CAL_PAGE)
    field(at, "Team Slug").input("mein-team")
    # Meanwhile another admin saves (the version moves on).
    assert configs.save_config(hub, configured.id, "calcom", settings={"booking_window_days": 30}, actor="other").ok
    button(at, "Speichern").click().run()
    assert not at.exception
    assert any("Jemand anderes hat diese Konfiguration inzwischen gespeichert" in e for e in error_texts(at))
    assert field(at, "Team Slug").value == "mein-team"
    assert configs.load_config(hub, configured.id, "calcom").settings["team_slug"] is None
    button(at, "Neu laden (eigene Eingaben verwerfen)").click().run()
    assert field(at, "Team Slug").value == ""
    field(at, "Team Slug").input("mein-team")
    button(at, "Speichern").click().run()
    assert "Cal.com: Konfiguration gespeichert." in success_texts(at)
    assert configs.load_config(hub, configured.id, "calcom").settings["booking_window_days"] == 30


def test_the_interval_is_offered_only_while_auto_sync_is_on(make_app, hub, configured):
    at = open_page(make_app(), CAL_PAGE)
    toggle = field(at, "Automatische Synchronisation", "toggle")
    assert toggle.value is False
    assert not [s for s in at.selectbox if s.label == "Sync-Intervall"]
    toggle.set_value(True).run()
    interval = field(at, "Sync-Intervall", "selectbox")
    assert interval.options == ["Alle 15 Minuten", "Alle 30 Minuten", "Stündlich", "Täglich"]
    interval.select(30).run()
    button(at, "Synchronisation speichern").click().run()
    assert not at.exception
    settings = configs.load_config(hub, configured.id, "calcom").settings
    assert settings["auto_sync_enabled"] is True and settings["sync_interval"] == 30
    assert ":green[:material/check_circle:] Synchronisation starten" in "\n".join(m.value for m in at.markdown)
    field(at, "Automatische Synchronisation", "toggle").set_value(False).run()
    assert not [s for s in at.selectbox if s.label == "Sync-Intervall"]


def test_test_connection_checks_the_entered_key_without_saving(make_app, hub, configured):
    version = configs.load_config(hub, configured.id, "calcom").version
    at = open_page(make_app(), CAL_PAGE)
    field(at, "Cal.com API Schlüssel").input(CAL_KEY_2)
    button(at, "Verbindung testen").click().run()
    assert any("Verbindung zu Cal.com erfolgreich" in s and "Nichts wurde gespeichert" in s for s in success_texts(at))
    field(at, "Cal.com API Schlüssel").input("cal_live_invalid_key_0000000000")
    button(at, "Verbindung testen").click().run()
    assert any("abgelehnt" in e for e in error_texts(at))
    assert configs.load_config(hub, configured.id, "calcom").version == version
    assert configs.get_secret(hub, configured.id, "calcom") == CAL_KEY


def test_default_event_type_choices_come_from_discovery(make_app, hub, configured, simulator):
    at = open_page(make_app(), CAL_PAGE)
    select = field(at, "Standard Event Type", "selectbox")
    labels = select.options
    assert labels[0] == "— keine Auswahl —"
    assert len(labels) == 1 + simulator.facts(CAL_KEY)["counts"]["event_types"]
    assert all(label.endswith("min)") for label in labels[1:])
    discovered = discovery.field_options(hub, configured.id, "calcom")["default_event_type_id"]
    assert [label for _, label in discovered] == labels[1:]
    chosen = discovered[1][0]
    select.select(chosen)
    button(at, "Speichern").click().run()  # form values travel with the submit, as in the browser
    assert configs.load_config(hub, configured.id, "calcom").settings["default_event_type_id"] == int(chosen)


def test_stored_keys_never_reach_any_page(make_app, hub, configured):
    at = open_page(make_app())
    for page in (None, CAL_PAGE, RETELL_PAGE, "pages/companies.py"):
        if page:
            at.switch_page(page).run()
        assert not at.exception
        rendered = tree_bytes(at)
        for secret in (CAL_KEY, RETELL_KEY):
            assert secret.encode() not in rendered, page
            assert secret[4:].encode() not in rendered, page  # not even without its prefix
    at.switch_page(RETELL_PAGE).run()
    assert field(at, "Retell.ai API Schlüssel").placeholder == mask(RETELL_KEY)
    assert f"Schlüssel gespeichert: {mask(RETELL_KEY)}" in texts(at)


def test_retell_page_shows_the_webhook_url_and_registers_it_on_the_chosen_agent(make_app, hub, configured,
                                                                                simulator):
    at = open_page(make_app(), RETELL_PAGE)
    assert [c.value for c in at.code] == ["https://hub.example.org/api/retell/webhook"]
    agent = field(at, "Agent", "selectbox")
    agents = discovery.field_options(hub, configured.id, "retell")["default_agent_id"]
    assert agent.options == [label for _, label in agents]
    chosen = agents[-1][0]
    agent.select(chosen).run()
    button(at, "Beim Anbieter eintragen").click().run()
    assert not at.exception
    assert success_texts(at), error_texts(at)
    hooks = simulator.webhooks()["retell"]
    assert [(h["agent_id"], h["webhook_url"]) for h in hooks] == [(chosen, "https://hub.example.org/api/retell/webhook")]


def test_mapping_editor_saves_a_manual_mapping_with_the_admins_name(make_app, hub, configured):
    assert sync.run_sync(hub, configured.id, "calcom", actor="test").success
    at = open_page(make_app(), CAL_PAGE)
    editors = at.data_editor
    users = next(e for e in editors if e.key and e.key.startswith("map_users_"))
    frame = users.value
    assert list(frame["mapping"]) == ["automatisch"] * len(frame)
    at.session_state[users.key] = {"edited_rows": {0: {"mapping": "Anna Schmidt <anna.schmidt@example.org>"}},
                                   "added_rows": [], "deleted_rows": []}
    at.run()
    button(at, "Zuordnungen speichern (1)").click().run()
    assert not at.exception
    with hub.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "mapping.user_staff")).one()
    assert event.actor == ADMIN and event.details["new"]["manual"] is True
    assert "Anna Schmidt (manuell)" in [v for v in next(e for e in at.data_editor
                                                        if e.key.startswith("map_users_")).value["current"]]


def test_without_a_company_the_provider_page_asks_for_one(make_app, admin):
    at = open_page(make_app(), CAL_PAGE)
    assert "Bitte links in der Seitenleiste ein Unternehmen wählen." in [i.value for i in at.info]


def test_an_operator_sees_the_configuration_but_cannot_change_it(make_app, hub, configured):
    from integhub.services import access

    access.grant_role(hub, access.system_identity(), "operator@example.org", "operator", configured.id)
    at = open_page(make_app("operator@example.org"), CAL_PAGE)
    assert field(at, "Cal.com API Schlüssel").disabled and field(at, "Team Slug").disabled
    assert button(at, "Speichern").disabled and button(at, "Verbindung testen").disabled
    assert "Nur Administratoren dieses Unternehmens können die Konfiguration ändern." in texts(at)
    assert CAL_KEY.encode() not in tree_bytes(at)


def test_calcom_webhook_is_registered_from_the_page(make_app, hub, configured, simulator):
    at = open_page(make_app(), CAL_PAGE)
    url = f"https://hub.example.org/api/calcom/webhook/{configured.id}"
    assert [c.value for c in at.code] == [url]
    assert "Webhook nicht eingetragen" in texts(at)
    button(at, "Beim Anbieter eintragen").click().run()
    assert not at.exception and success_texts(at), error_texts(at)
    assert [h["subscriberUrl"] for h in simulator.webhooks()["calcom"]] == [url]
    at.run()
    assert "Webhook eingetragen" in texts(at)


def test_held_webhook_deliveries_can_be_processed_again(make_app, hub, configured):
    from datetime import timedelta

    from integhub.models import utcnow
    from integhub.models_webhooks import INBOX_FAILED, WebhookInbox

    with hub.session() as s:
        s.add(WebhookInbox(provider="retell", company_id=configured.id, event_key="retell:call_ended:x",
                           event_type="call_ended", object_id="call_x", body="{}", status=INBOX_FAILED,
                           attempts=1, last_error="kaputt", received_at=utcnow() - timedelta(minutes=5)))
    at = open_page(make_app(), RETELL_PAGE)
    assert "1 empfangene Ereignisse warten auf eine erneute Verarbeitung." in [w.value for w in at.warning]
    button(at, "Erneut verarbeiten").click().run()
    assert not at.exception
    assert "0 Ereignisse verarbeitet, 1 weiterhin fehlerhaft." in [w.value for w in at.warning]

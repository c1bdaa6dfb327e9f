"""Unternehmen: create/edit companies, branches and staff; CSV import with preview and per-row errors."""
from __future__ import annotations

from sqlalchemy import select

from integhub.models import AuditEvent
from integhub.services import companies

from .conftest import ADMIN, open_page, texts

PAGE = "pages/companies.py"


def widget(at, kind: str, label: str, index: int = 0):
    matches = [w for w in getattr(at, kind) if w.label == label]
    assert matches, (label, [w.label for w in getattr(at, kind)])
    return matches[index]


def button(at, label: str):
    matches = [b for b in at.button if b.label == label]
    assert len(matches) == 1, (label, [b.label for b in at.button])
    return matches[0]


def test_creating_a_company_selects_it_in_the_picker(make_app, hub, admin):
    at = open_page(make_app(), PAGE)
    widget(at, "text_input", "Name").input("Praxis am Markt")
    widget(at, "selectbox", "Zeitzone").select("Europe/Vienna")
    button(at, "Unternehmen anlegen").click().run()
    assert not at.exception
    created = companies.list_companies(hub, "markt").rows
    assert [(c.name, c.slug, c.timezone) for c in created] == [("Praxis am Markt", "praxis-am-markt", "Europe/Vienna")]
    assert at.selectbox(key="company_select").value == str(created[0].id)
    assert "Unternehmen „Praxis am Markt“ angelegt." in [s.value for s in at.success]
    with hub.session() as s:
        assert s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "company.created")).one() == ADMIN


def test_invalid_company_input_gives_a_message_and_keeps_what_was_typed(make_app, hub, admin):
    companies.create_company(hub, "Erste Praxis", "erste-praxis")
    at = open_page(make_app(), PAGE)
    widget(at, "text_input", "Name").input("Zweite Praxis")
    widget(at, "text_input", "Slug").input("erste-praxis")
    button(at, "Unternehmen anlegen").click().run()
    assert "Der Slug „erste-praxis“ ist bereits vergeben." in [e.value for e in at.error]
    assert widget(at, "text_input", "Name").value == "Zweite Praxis"
    assert companies.list_companies(hub).total == 1


def test_renaming_the_chosen_company(make_app, hub, company):
    at = open_page(make_app(), PAGE)
    widget(at, "text_input", "Name", index=1).input("Praxis Lindenhof Nord")
    button(at, "Änderungen speichern").click().run()
    assert companies.get_company(hub, company.id).name == "Praxis Lindenhof Nord"
    assert "Unternehmen „Praxis Lindenhof Nord“ gespeichert." in [s.value for s in at.success]


def test_branches_and_staff_are_created_and_validated(make_app, hub, admin):
    bare = companies.create_company(hub, "Neu")
    at = open_page(make_app(company=str(bare.id)), PAGE)
    widget(at, "text_input", "Name der Filiale").input("Filiale Süd")
    button(at, "Filiale anlegen").click().run()
    assert [b.name for b in companies.list_branches(hub, bare.id)] == ["Filiale Süd"]

    widget(at, "text_input", "Name", index=2).input("Jonas Weber")
    widget(at, "text_input", "E-Mail").input("kein-mail")
    button(at, "Mitarbeiter anlegen").click().run()
    assert "Bitte eine gültige E-Mail-Adresse angeben." in [e.value for e in at.error]
    assert widget(at, "text_input", "Name", index=2).value == "Jonas Weber"
    widget(at, "text_input", "E-Mail").input("jonas.weber@example.org")
    branch = companies.list_branches(hub, bare.id)[0]
    widget(at, "selectbox", "Filiale").select(str(branch.id))
    button(at, "Mitarbeiter anlegen").click().run()
    staff = companies.list_staff(hub, bare.id)
    assert [(p.name, p.email, p.branch_id) for p in staff] == [("Jonas Weber", "jonas.weber@example.org", branch.id)]


def test_editing_a_branch_in_the_table(make_app, hub, company):
    at = open_page(make_app(), PAGE)
    editor = next(e for e in at.data_editor if e.key and e.key.startswith("branches_"))
    at.session_state[editor.key] = {"edited_rows": {0: {"name": "Hauptpraxis Mitte", "active": False}},
                                    "added_rows": [], "deleted_rows": []}
    at.run()
    button(at, "Änderungen speichern (1)").click().run()
    assert not at.exception
    [branch] = companies.list_branches(hub, company.id)
    assert (branch.name, branch.is_active) == ("Hauptpraxis Mitte", False)


CSV = (
    "Name;E-Mail;Filiale\n"
    "Lena Hoffmann;lena.hoffmann@example.org;Hauptpraxis\n"
    "Paul Becker;paul.becker@example.org;\n"
    ";ohne.name@example.org;\n"
    "Greta Braun;keine-adresse;\n"
    "Anna Doppelt;anna.schmidt@example.org;\n"
    "Lena Zwei;LENA.HOFFMANN@example.org;\n"
    "Tobias Koch;tobias.koch@example.org;Filiale Mond\n"
).encode("utf-8")


def test_csv_import_previews_every_row_then_imports_only_the_good_ones(make_app, hub, company):
    at = open_page(make_app(), PAGE)
    at.file_uploader[0].set_value(("mitarbeiter.csv", CSV, "text/csv")).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric} == {"Zeilen": "7", "Gültig": "2", "Mit Fehlern": "5"}
    preview = next(d for d in at.dataframe if d.editing_mode == "read_only").value
    results = dict(zip(preview["Zeile"], preview["Ergebnis"]))
    assert results[2] == "✅ wird importiert" and results[3] == "✅ wird importiert"
    assert results[4] == "❌ Bitte einen Namen angeben."
    assert results[5] == "❌ Bitte eine gültige E-Mail-Adresse angeben."
    assert results[6] == "❌ Mitarbeiter mit dieser E-Mail gibt es schon"
    assert results[7] == "❌ E-Mail steht schon in Zeile 2"
    assert results[8] == "❌ Unbekannte Filiale „Filiale Mond“"
    assert len(companies.list_staff(hub, company.id)) == 1  # the preview writes nothing

    button(at, "2 Mitarbeiter importieren").click().run()
    assert not at.exception
    assert "2 Mitarbeiter importiert, 5 Zeilen übersprungen." in [s.value for s in at.success]
    names = sorted(p.name for p in companies.list_staff(hub, company.id))
    assert names == ["Anna Schmidt", "Lena Hoffmann", "Paul Becker"]


def test_a_csv_without_the_needed_columns_is_explained(make_app, company):
    at = open_page(make_app(), PAGE)
    at.file_uploader[0].set_value(("x.csv", b"vorname,nachname\nA,B\n", "text/csv")).run()
    assert "Der Datei fehlen die Spalten: name, email." in [e.value for e in at.error]


def test_companies_page_in_english(make_app, company):
    at = open_page(make_app(), PAGE)
    at.segmented_control(key="lang").set_value("en").run()
    text = texts(at)
    assert "Companies" in [t.value for t in at.title][0]
    assert "Create company" in [b.label for b in at.button]
    assert "Unternehmen anlegen" not in text

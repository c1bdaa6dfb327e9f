"""Staff import from CSV: per-row verdicts, German and English headers, Excel dialects, one transaction."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from integhub.errors import HubError
from integhub.models import AuditEvent
from integhub.services import companies, staff_import


@pytest.fixture
def company(hub):
    c = companies.create_company(hub, "Praxis")
    companies.create_branch(hub, c.id, "Hauptpraxis")
    companies.create_staff(hub, c.id, "Vorhanden", "da@example.org")
    return c


def verdicts(preview, lang="de"):
    return [(r.line, r.error(lang)) for r in preview.rows]


def test_preview_judges_each_row_and_writes_nothing(hub, company):
    data = ("name,email,branch\n"
            "Anna,anna@example.org,hauptpraxis\n"
            "Bert,DA@example.org,\n"
            "Carla,carla@example.org,Nirgendwo\n"
            "Dora,anna@EXAMPLE.org,\n"
            ",e@example.org,\n")
    preview = staff_import.preview_staff_csv(hub, company.id, data)
    assert verdicts(preview, "en") == [
        (2, None),
        (3, "A staff member with this email exists"),
        (4, "Unknown branch 'Nirgendwo'"),
        (5, "Email already in line 2"),
        (6, "Please enter a name."),
    ]
    assert preview.good[0].branch_id == companies.list_branches(hub, company.id)[0].id
    assert len(companies.list_staff(hub, company.id)) == 1


def test_german_excel_files_with_semicolons_bom_or_windows_encoding(hub, company):
    text = "Mitarbeiter;E-Mail-Adresse;Filiale\r\nJürgen Größe;juergen@example.org;Hauptpraxis\r\n"
    for data in (("\ufeff" + text).encode("utf-8"), text.encode("cp1252")):
        preview = staff_import.preview_staff_csv(hub, company.id, data)
        assert [(r.name, r.email, r.ok) for r in preview.rows] == [("Jürgen Größe", "juergen@example.org", True)]


def test_import_writes_the_good_rows_in_one_transaction_with_one_audit_event(hub, company):
    data = "name;email\nAnna;anna@example.org\nBert;kaputt\nCarla;carla@example.org\n"
    result = staff_import.import_staff_csv(hub, company.id, data, actor="admin@example.org")
    assert result.created == 2 and [r.line for r in result.skipped] == [3]
    assert sorted(p.email for p in companies.list_staff(hub, company.id)) == \
        ["anna@example.org", "carla@example.org", "da@example.org"]
    with hub.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "staff.imported")).one()
    assert event.actor == "admin@example.org" and event.details["created"] == 2
    again = staff_import.import_staff_csv(hub, company.id, data, actor="admin@example.org")
    assert again.created == 0  # the same file twice adds nobody


@pytest.mark.parametrize("data, key", [
    (b"", "ui.import.empty"),
    (b"vorname;nachname\nA;B\n", "ui.import.missing_columns"),
    (b"name,email\n" + b"x,y@example.org\n" * 6000, "ui.import.too_many_rows"),
    (b"name,email\n" + b"a" * 1_100_000, "ui.import.too_large"),
])
def test_unreadable_files_are_refused_as_a_whole(hub, company, data, key):
    with pytest.raises(HubError) as exc:
        staff_import.preview_staff_csv(hub, company.id, data)
    assert exc.value.key == key

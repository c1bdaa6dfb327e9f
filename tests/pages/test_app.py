"""The router: company picker (search, SQL pagination, URL), language, roles, failure screens."""
from __future__ import annotations

from integhub.services import access, companies

from .conftest import open_page, texts


def picker_caption(at) -> str:
    return next(c.value for c in at.sidebar.caption if "von" in c.value or "of" in c.value)


def test_picker_searches_and_pages_in_sql(make_app, hub, admin):
    ids = {companies.create_company(hub, f"Praxis {i:02d}").name: companies.list_companies(hub, f"Praxis {i:02d}").rows[0].id
           for i in range(1, 46)}
    at = open_page(make_app())
    assert picker_caption(at) == "1–20 von 45"
    picker = at.selectbox(key="company_select")
    assert len(picker.options) == 20 and picker.value == str(ids["Praxis 01"])  # the first is opened
    at.pagination[0].set_value(3).run()
    assert picker_caption(at) == "41–45 von 45"
    assert "Praxis 01" in at.selectbox(key="company_select").options  # the chosen one stays choosable
    at.text_input(key="company_search").input("praxis 4").run()
    assert picker_caption(at) == "1–6 von 6"
    at.selectbox(key="company_select").select(str(ids["Praxis 42"])).run()
    assert "Praxis 42 · Zeiten in Europe/Berlin" in texts(at)
    assert at.query_params["company"] == [str(ids["Praxis 42"])] or at.query_params["company"] == str(ids["Praxis 42"])


def test_a_shared_link_opens_its_company(make_app, hub, admin):
    companies.create_company(hub, "Aaa Praxis")
    target = companies.create_company(hub, "Zzz Praxis")
    at = open_page(make_app(company=str(target.id)))
    assert at.selectbox(key="company_select").value == str(target.id)
    assert "Zzz Praxis · Zeiten in Europe/Berlin" in texts(at)
    at.switch_page("pages/provider_calcom.py").run()
    assert "Cal.com für Zzz Praxis" in texts(at)


def test_a_broken_link_asks_for_a_company_instead_of_failing(make_app, hub, admin):
    companies.create_company(hub, "Praxis")
    at = open_page(make_app(company="not-a-company"))
    assert "Bitte links in der Seitenleiste ein Unternehmen wählen." in [i.value for i in at.info]


def test_language_default_from_the_environment(make_app, company, monkeypatch):
    monkeypatch.setenv("INTEGHUB_LANG", "en")
    at = open_page(make_app())
    assert at.segmented_control(key="lang").value == "en"
    assert "Search companies" == at.text_input(key="company_search").label
    at.segmented_control(key="lang").set_value("de").run()
    assert "Unternehmen suchen" == at.text_input(key="company_search").label


def test_an_analyst_sees_status_but_cannot_start_a_sync(make_app, hub, configured):
    access.grant_role(hub, access.system_identity(), "analyst@example.org", "analyst", configured.id)
    at = open_page(make_app("analyst@example.org"))
    assert "Verbunden" in texts(at)
    assert at.button(key="sync_now_calcom").disabled
    assert not [link for link in at.get("page_link") if link.label == "Konfigurieren"]  # not in their navigation


def test_someone_without_a_role_gets_the_reason_and_no_data(make_app, company):
    at = open_page(make_app("stranger@example.org"))
    assert not at.selectbox  # no picker, no companies
    assert "Praxis Lindenhof" not in texts(at)
    assert at.warning or at.error


def test_an_unmigrated_database_gives_the_migrate_hint(make_app, monkeypatch, tmp_path):
    monkeypatch.setenv("INTEGHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    at = make_app()
    at.run()
    assert not at.exception
    assert any("python -m integhub migrate" in e.value for e in at.error)

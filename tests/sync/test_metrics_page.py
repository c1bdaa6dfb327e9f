"""AppTest of pages/metrics.py run directly, signed in through OIDC as an analyst."""
from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from integhub.models import IntegrationMetric, utcnow
from integhub.services import access
from integhub.services.companies import create_company

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "metrics.py")
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-cookie-secret",
        "client_id": "integhub", "client_secret": "test", "server_metadata_url": "http://127.0.0.1:1/.well-known"}


@pytest.fixture(autouse=True)
def _fresh_ui_hub(hub_env):
    from ui import hub as ui_hub

    ui_hub._hub_for.clear()
    yield
    ui_hub._hub_for.clear()


@pytest.fixture
def recorded(hub):
    rng = random.Random(3)
    nord = create_company(hub, "Praxis Nord", actor="test").id
    sued = create_company(hub, "Praxis Süd", actor="test").id
    now = utcnow()
    rows = []
    for i in range(60):
        company = (nord, sued)[i % 2]
        provider = ("calcom", "retell")[(i // 2) % 2]
        ok = i % 5 != 0
        rows.append(IntegrationMetric(company_id=company, provider=provider, action="sync", success=ok,
                                      duration_ms=rng.randint(100, 3000), records_synced=10 if ok else 0,
                                      error_code=None if ok else "timeout",
                                      created_at=now - timedelta(hours=i * 3)))
    with hub.session() as s:
        s.add_all(rows)
    root = access.system_identity("root@example.com")
    access.grant_role(hub, root, "ana@example.com", "analyst")
    access.grant_role(hub, root, "nord@example.com", "analyst", nord)
    return {"nord": nord, "sued": sued, "rows": rows}


def page_as(email: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": email, "name": email}
    return at.run()


def figures(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_an_analyst_sees_figures_charts_errors_table_and_downloads(hub, recorded):
    at = page_as("ana@example.com")
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    shown = figures(at)
    assert shown["Ausführungen"] == "60"
    assert shown["Erfolgsquote"] == "80.0%"
    assert shown["Datensätze"] == str(48 * 10)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 5  # runs, success rate, durations, records, errors
    table = at.dataframe[0].value
    assert set(table["Unternehmen"]) == {"Praxis Nord", "Praxis Süd"} and len(table) == 4
    assert sum(table["Ausführungen"]) == 60
    assert len(at.get("download_button")) == 2


def test_filters_narrow_the_figures(hub, recorded):
    at = page_as("ana@example.com")
    at.multiselect(key="metrics_providers").select("retell").run()
    assert not at.exception
    assert figures(at)["Ausführungen"] == str(sum(1 for r in recorded["rows"] if r.provider == "retell"))
    at.multiselect(key="metrics_companies").select(recorded["nord"]).run()
    expected = sum(1 for r in recorded["rows"] if r.provider == "retell" and r.company_id == recorded["nord"])
    assert figures(at)["Ausführungen"] == str(expected)
    assert set(at.dataframe[0].value["Unternehmen"]) == {"Praxis Nord"}


def test_an_analyst_for_one_company_sees_only_that_company(hub, recorded):
    at = page_as("nord@example.com")
    assert not at.exception and not at.error
    assert figures(at)["Ausführungen"] == "30"
    assert set(at.dataframe[0].value["Unternehmen"]) == {"Praxis Nord"}
    assert [o for o in at.multiselect(key="metrics_companies").options] == ["Praxis Nord"]


def test_nothing_recorded_says_so(hub):
    access.grant_role(hub, access.system_identity("root@example.com"), "ana@example.com", "analyst")
    at = page_as("ana@example.com")
    assert not at.exception and not at.error
    assert figures(at)["Ausführungen"] == "0"
    assert any("keine Einträge" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")


@pytest.fixture
def many(hub):
    """60 companies with two runs each (one failed for every third company)."""
    now = utcnow()
    ids = [create_company(hub, f"Praxis {i:03d}", actor="test").id for i in range(60)]
    with hub.session() as s:
        for i, cid in enumerate(ids):
            for k in range(2):
                ok = not (k == 0 and i % 3 == 0)
                s.add(IntegrationMetric(company_id=cid, provider="calcom", action="sync", success=ok, duration_ms=500,
                                        records_synced=1, error_code=None if ok else "timeout",
                                        created_at=now - timedelta(hours=1 + k)))
    access.grant_role(hub, access.system_identity("root@example.com"), "ana@example.com", "analyst")
    return ids


def test_the_company_filter_offers_a_searched_page_of_companies(hub, many):
    at = page_as("ana@example.com")
    companies = at.multiselect(key="metrics_companies")
    assert len(companies.options) == 50 and "Praxis 059" not in companies.options
    assert any("weitere über die Suche" in c.value for c in at.caption)
    at.text_input(key="metrics_company_search").input("059").run()
    assert not at.exception
    assert at.multiselect(key="metrics_companies").options == ["Praxis 059"]
    at.multiselect(key="metrics_companies").select(many[59]).run()
    at.text_input(key="metrics_company_search").input("000").run()  # the choice stays while searching on
    assert at.multiselect(key="metrics_companies").options == ["Praxis 000", "Praxis 059"]
    assert figures(at)["Ausführungen"] == "2"
    assert list(at.dataframe[0].value["Unternehmen"]) == ["Praxis 059"]


def test_the_per_company_table_pages_through_many_companies(hub, many):
    at = page_as("ana@example.com")
    assert figures(at)["Ausführungen"] == "120"
    first = at.dataframe[0].value
    assert len(first) == 50
    assert list(first["Unternehmen"][:20]) == [f"Praxis {i:03d}" for i in range(0, 60, 3)]  # worst first
    assert any("1–50 von 60" in c.value for c in at.caption)
    at.number_input(key="metrics_table_page").set_value(2).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 10
    assert any("51–60 von 60" in c.value for c in at.caption)
    at.multiselect(key="metrics_companies").select(many[1]).run()  # fewer rows than the page: back to one
    assert list(at.dataframe[0].value["Unternehmen"]) == ["Praxis 001"]

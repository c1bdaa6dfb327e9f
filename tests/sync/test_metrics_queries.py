"""The metrics page's queries: aggregated in SQL, same answers on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta

import pytest

from dataclasses import replace

from sqlalchemy import func, select

from integhub.models import IntegrationMetric, utcnow
from integhub.models_metrics import MetricsDaily, MetricsHourly
from integhub.services import metrics_queries as mq
from integhub.services.companies import create_company

DAY0 = datetime(2026, 11, 20)


def percentile_cont(values: list[float], p: float) -> float:
    """The SQL standard's continuous percentile, written out independently of the code under test."""
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@pytest.fixture
def recorded(hub):
    """Three days of metrics for two companies (plus other actions that the default filter ignores)."""
    rng = random.Random(7)
    a = create_company(hub, "Praxis Nord", actor="test").id
    b = create_company(hub, "Praxis Süd", actor="test").id
    rows = []
    for day in range(3):
        for hour in (8, 9, 14):
            for company in (a, b):
                for provider in ("calcom", "retell"):
                    ok = rng.random() > 0.25
                    rows.append(IntegrationMetric(
                        company_id=company, provider=provider, action="sync", success=ok,
                        duration_ms=rng.randint(50, 5000), records_synced=rng.randint(0, 300) if ok else 0,
                        error_code=None if ok else rng.choice(["timeout", "rate_limited", "provider_error"]),
                        created_at=DAY0 + timedelta(days=day, hours=hour, minutes=rng.randint(0, 59))))
    rows.append(IntegrationMetric(company_id=a, provider="calcom", action="validate", success=False, duration_ms=1,
                                  records_synced=0, error_code="invalid_credentials", created_at=DAY0))
    with hub.session() as s:
        s.add_all(rows)
    return {"a": a, "b": b, "rows": [r for r in rows if r.action == "sync"]}


def test_time_series_per_day_and_provider_matches_the_rows(hub, recorded):
    f = mq.MetricsFilter(start=DAY0, end=DAY0 + timedelta(days=3), bucket="day")
    series = mq.time_series(hub, f, use_rollup=False)  # exact: every row read
    assert len(series) == 3 * 2
    for point in series:
        rows = [r for r in recorded["rows"] if r.provider == point["provider"]
                and r.created_at.date() == point["bucket"].date()]
        assert point["bucket"] == datetime.combine(point["bucket"].date(), datetime.min.time())
        assert point["runs"] == len(rows)
        assert point["successes"] == sum(r.success for r in rows)
        assert point["records"] == sum(r.records_synced for r in rows)
        assert point["success_rate"] == pytest.approx(point["successes"] / point["runs"])
        durations = [r.duration_ms for r in rows]
        assert point["p50_ms"] == pytest.approx(percentile_cont(durations, 0.5))
        assert point["p95_ms"] == pytest.approx(percentile_cont(durations, 0.95))


def test_hour_and_week_buckets(hub, recorded):
    hours = mq.time_series(hub, mq.MetricsFilter(start=DAY0, end=DAY0 + timedelta(days=1), bucket="hour",
                                                 providers=["retell"]))
    assert [p["bucket"].hour for p in hours] == [8, 9, 14] and {p["provider"] for p in hours} == {"retell"}
    weeks = mq.time_series(hub, mq.MetricsFilter(start=DAY0, end=DAY0 + timedelta(days=3), bucket="week"))
    monday = DAY0 - timedelta(days=DAY0.weekday())
    assert {p["bucket"] for p in weeks} <= {monday, monday + timedelta(days=7)}
    assert sum(p["runs"] for p in weeks) == len(recorded["rows"])


def test_filters_narrow_by_date_company_provider_and_action(hub, recorded):
    f = mq.MetricsFilter(start=DAY0 + timedelta(days=1), end=DAY0 + timedelta(days=2),
                         company_ids=[recorded["a"]], providers=["calcom"])
    expected = [r for r in recorded["rows"] if r.company_id == recorded["a"] and r.provider == "calcom"
                and r.created_at.date() == (DAY0 + timedelta(days=1)).date()]
    assert mq.totals(hub, f)["runs"] == len(expected)
    validations = mq.totals(hub, mq.MetricsFilter(start=DAY0, end=DAY0 + timedelta(days=3), actions=["validate"]))
    assert (validations["runs"], validations["failures"]) == (1, 1)
    nothing = mq.totals(hub, mq.MetricsFilter(start=DAY0, end=DAY0 + timedelta(days=3), company_ids=[]))
    assert nothing["runs"] == 0 and nothing["success_rate"] is None


def test_scope_limits_an_analyst_to_their_companies(hub, recorded):
    f = mq.MetricsFilter(start=DAY0, end=DAY0 + timedelta(days=3)).within({recorded["b"]})
    table = mq.per_company(hub, f)
    assert {r["company"] for r in table} == {"Praxis Süd"}
    asked_for_other = mq.MetricsFilter(start=DAY0, end=DAY0 + timedelta(days=3),
                                       company_ids=[recorded["a"]]).within({recorded["b"]})
    assert mq.totals(hub, asked_for_other)["runs"] == 0


def test_per_company_table_and_error_breakdown(hub, recorded):
    f = mq.MetricsFilter(start=DAY0, end=DAY0 + timedelta(days=3))
    table = mq.per_company(hub, f)
    assert len(table) == 4
    for row in table:
        rows = [r for r in recorded["rows"] if r.company_id == row["company_id"] and r.provider == row["provider"]]
        newest = max(rows, key=lambda r: r.created_at)
        assert (row["runs"], row["failures"]) == (len(rows), sum(not r.success for r in rows))
        assert row["avg_ms"] == pytest.approx(sum(r.duration_ms for r in rows) / len(rows))
        assert row["max_ms"] == max(r.duration_ms for r in rows)
        assert row["last_at"] == newest.created_at and row["last_error_code"] == newest.error_code
    rates = [r["success_rate"] for r in table]
    assert rates == sorted(rates)  # worst first

    errors = mq.error_breakdown(hub, f)
    failed = [r for r in recorded["rows"] if not r.success]
    assert sum(e["count"] for e in errors) == len(failed)
    for e in errors:
        assert e["count"] == sum(1 for r in failed if r.error_code == e["error_code"] and r.provider == e["provider"])
    counts = [e["count"] for e in errors]
    assert counts == sorted(counts, reverse=True)


def test_csv_has_a_header_and_one_line_per_row(hub, recorded):
    f = mq.MetricsFilter(start=DAY0, end=DAY0 + timedelta(days=3))
    table = mq.per_company(hub, f)
    text = mq.to_csv(table, ["company", "provider", "runs", "success_rate", "p95_ms", "last_at"])
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["company", "provider", "runs", "success_rate", "p95_ms", "last_at"]
    assert len(parsed) == 1 + len(table)
    assert parsed[1][5].endswith("Z")


def test_filter_options_list_companies_providers_and_actions(hub, recorded):
    options = mq.filter_options(hub)
    assert [name for _id, name in options.companies] == ["Praxis Nord", "Praxis Süd"]
    assert options.providers == ["calcom", "retell"] and options.actions == ["sync", "validate"]
    assert [name for _id, name in mq.filter_options(hub, {recorded["a"]}).companies] == ["Praxis Nord"]


@pytest.fixture
def month(hub):
    """30 closed days plus today for five companies, 80 runs a day, mostly syncs (a few webhooks, a
    failure without error code, durations of 0 and of over two hours), for the roll-up path."""
    rng = random.Random(11)
    companies = [create_company(hub, f"Praxis {i}", actor="test").id for i in range(5)]
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    for day in range(-30, 1):
        for j in range(80):
            at = today + timedelta(days=day, minutes=rng.randint(0, 60 * 24 - 1), seconds=rng.randint(0, 59))
            if at > utcnow():
                continue
            ok = rng.random() > 0.1
            duration = int(rng.lognormvariate(6.5, 0.8)) if j % 37 else rng.choice([0, 9_000_000])
            rows.append(IntegrationMetric(
                company_id=companies[j % 5], provider=("calcom", "retell")[j % 2],
                action="webhook" if j % 13 == 0 else "sync", success=ok, duration_ms=duration,
                records_synced=rng.randint(0, 50),
                error_code=None if ok or j % 17 == 0 else rng.choice(["timeout", "provider_error"]), created_at=at))
    with hub.session() as s:
        s.add_all(rows)
    return rows


def _filters(now: datetime) -> list[mq.MetricsFilter]:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    page = mq.MetricsFilter(start=midnight - timedelta(days=13), end=midnight + timedelta(days=1))
    return [
        page,  # what the page asks for by default: whole days up to the end of today
        mq.MetricsFilter(start=now - timedelta(days=31), end=now + timedelta(minutes=1)),  # ragged ends
        replace(page, bucket="week", actions=None),
        replace(page, start=midnight - timedelta(days=1), bucket="hour", providers=["retell"]),
        mq.MetricsFilter(start=midnight - timedelta(days=9, hours=5, minutes=17),
                         end=midnight - timedelta(days=2, hours=3, minutes=1), actions=["sync", "webhook"]),
    ]


def assert_same_figures(hub, f: mq.MetricsFilter) -> None:
    """The roll-up path against the raw rows: counts exact, percentiles within one bucket."""
    def close(rolled: dict, exact: dict) -> None:
        for key in ("runs", "successes", "failures", "records", "success_rate"):
            assert rolled[key] == exact[key], key
        for key in ("p50_ms", "p95_ms"):  # buckets are 1 ms wide up to 200 ms, then 1 %
            assert rolled[key] == pytest.approx(exact[key], rel=0.0101, abs=1), key

    close(mq.totals(hub, f), mq.totals(hub, f, use_rollup=False))
    exact = {(p["bucket"], p["provider"]): p for p in mq.time_series(hub, f, use_rollup=False)}
    rolled = {(p["bucket"], p["provider"]): p for p in mq.time_series(hub, f)}
    assert exact.keys() == rolled.keys()
    for key, point in rolled.items():
        close(point, exact[key])
    assert mq.error_breakdown(hub, f) == mq.error_breakdown(hub, f, use_rollup=False)
    assert _same_tables(mq.per_company(hub, f), mq.per_company(hub, f, use_rollup=False))


def test_the_roll_up_gives_the_same_figures_as_the_rows(hub, month):
    for f in _filters(utcnow()):
        assert_same_figures(hub, f)
    with hub.session() as s:  # the roll-up was used, on both databases
        assert s.scalar(select(func.count()).select_from(MetricsDaily)) > 0
        assert s.scalar(select(func.count()).select_from(MetricsHourly)) > 0
    assert mq.filter_options(hub).actions == ["sync", "webhook"]


def test_the_roll_up_grows_slot_by_slot_and_stays_exact(hub, month, monkeypatch):
    now = utcnow()
    for grace in (timedelta(days=20, minutes=7), timedelta(days=9, hours=3, minutes=2),
                  timedelta(hours=26, minutes=35), timedelta(hours=5), mq.ROLLUP_GRACE):
        monkeypatch.setattr(mq, "ROLLUP_GRACE", grace)
        reach = mq.refresh_rollup(hub)
        assert reach <= now - grace and reach.minute % 5 == 0 and reach.second == 0
        for f in _filters(now)[:2]:
            assert_same_figures(hub, f)


def test_the_per_company_table_is_ranked_and_paged_in_sql(hub, month):
    f = mq.MetricsFilter(start=utcnow() - timedelta(days=31), end=utcnow() + timedelta(minutes=1))
    everything = mq.per_company(hub, f)
    assert len(everything) == 10
    keys = [(r["success_rate"], -r["runs"], r["company"]) for r in everything]
    assert keys == sorted(keys)  # worst first
    page = mq.per_company_page(hub, f, limit=4, offset=4)
    assert page.total == 10 and page.rows == everything[4:8]
    assert mq.per_company_page(hub, f, limit=4, offset=8).rows == everything[8:]
    assert mq.per_company_page(hub, f, limit=4, offset=12) == mq.CompanyTable([], 10)


def test_filter_options_search_and_limit_the_companies(hub, month):
    everyone = mq.filter_options(hub)
    assert [n for _i, n in everyone.companies] == [f"Praxis {i}" for i in range(5)] and not everyone.more_companies
    first = mq.filter_options(hub, limit=2)
    assert [n for _i, n in first.companies] == ["Praxis 0", "Praxis 1"] and first.more_companies
    chosen = everyone.companies[4][0]
    assert [n for _i, n in mq.filter_options(hub, limit=2, chosen=[chosen]).companies] == \
        ["Praxis 0", "Praxis 1", "Praxis 4"]
    assert [n for _i, n in mq.filter_options(hub, search="xis 3", limit=2).companies] == ["Praxis 3"]
    assert mq.filter_options(hub, {everyone.companies[1][0]}, chosen=[chosen]).companies == [everyone.companies[1]]


def _same_tables(a: list[dict], b: list[dict]) -> bool:
    assert len(a) == len(b)
    for x, y in zip(sorted(a, key=lambda r: (str(r["company_id"]), r["provider"])),
                    sorted(b, key=lambda r: (str(r["company_id"]), r["provider"]))):
        assert x.keys() == y.keys()
        for key in x:
            assert x[key] == (pytest.approx(y[key]) if isinstance(y[key], float) else y[key]), key
    return True


def test_rows_of_the_open_slots_are_read_raw_next_to_the_roll_up(hub, month):
    f = mq.MetricsFilter(start=utcnow() - timedelta(days=3), end=utcnow() + timedelta(minutes=1))
    before = mq.totals(hub, f)["runs"]
    with hub.session() as s:
        s.add(IntegrationMetric(company_id=month[0].company_id, provider="calcom", action="sync", success=False,
                                duration_ms=10, records_synced=0, error_code="timeout", created_at=utcnow()))
    assert mq.totals(hub, f)["runs"] == before + 1
    assert mq.refresh_rollup(hub) == mq.refresh_rollup(hub)  # idempotent


def test_roll_up_percentiles_are_exact_when_buckets_hold_at_most_two_values(hub):
    values = [3, 7, 7, 20, 150, 151, 4000, 4030]  # 4000 and 4030 share a bucket, 150 and 151 do not
    cid = create_company(hub, "Praxis Nord", actor="test").id
    day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    with hub.session() as s:
        s.add_all(IntegrationMetric(company_id=cid, provider="calcom", action="sync", success=True, duration_ms=v,
                                    records_synced=0, created_at=day + timedelta(hours=i)) for i, v in enumerate(values))
    f = mq.MetricsFilter(start=day, end=day + timedelta(days=1))
    total = mq.totals(hub, f)
    for name, p in mq.PERCENTILES.items():
        assert total[name] == pytest.approx(percentile_cont(values, p))
    assert mq.duration_bucket(4000) == mq.duration_bucket(4030) != mq.duration_bucket(151) != mq.duration_bucket(150)
    assert mq.totals(hub, replace(f, providers=["retell"]))["p50_ms"] is None

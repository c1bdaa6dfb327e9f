"""Sync metrics for analysts: time series per provider, error breakdown, per-company table, CSV.

All figures are aggregated in SQL (integhub.services.metrics_queries); this page only lays them out.
Analysts limited to some companies only ever see those (the identity's scope narrows every query).
"""
from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from integhub.providers import all_providers
from integhub.services import metrics_queries as mq
from integhub.services.configs import describe_error
from ui import auth
from ui.auth import tr

DEFAULT_DAYS = 14
COMPANY_CHOICES = 50  # companies offered at once in the filter (search for the others)
TABLE_ROWS = 50  # rows of the per-company table per page
PROVIDER_NAMES = {p.name: p.display_name for p in all_providers()}

hub = auth.page_hub()
identity = auth.require_page("metrics", hub)
scope = identity.company_scope("metrics.view")

st.title(tr("metrics_page.title"), anchor=False)
st.caption(tr("metrics_page.caption"))

# --- filters -------------------------------------------------------------------------------------
today = date.today()
c1, c2, c3, c4 = st.columns([2, 3, 2, 2])
dates = c1.date_input(tr("metrics_page.dates"), value=(today - timedelta(days=DEFAULT_DAYS - 1), today),
                      max_value=today, format="DD.MM.YYYY", key="metrics_dates")
chosen = auth.chosen_company()
default_companies = [chosen.id] if chosen is not None and (scope is None or chosen.id in scope) else []
try:  # one page of companies (the fleet may hold ten thousand), always with the ones picked
    options = mq.filter_options(hub, scope, search=st.session_state.get("metrics_company_search") or "",
                                limit=COMPANY_CHOICES,
                                chosen={*default_companies, *st.session_state.get("metrics_companies", [])})
except Exception as exc:  # noqa: BLE001 - a message, never a traceback
    st.error(describe_error(exc, auth.lang()), icon=":material/error:")
    st.stop()
company_names = dict(options.companies)
companies = c2.multiselect(tr("metrics_page.companies"), list(company_names), key="metrics_companies",
                           default=[cid for cid in default_companies if cid in company_names],
                           format_func=lambda cid: company_names.get(cid, str(cid)),
                           placeholder=tr("metrics_page.all_companies"))
c2.text_input(tr("metrics_page.company_search"), key="metrics_company_search", icon=":material/search:",
              placeholder=tr("metrics_page.company_search_placeholder"), label_visibility="collapsed")
if options.more_companies:
    c2.caption(tr("metrics_page.more_companies", n=COMPANY_CHOICES))
provider_choices = sorted(set(PROVIDER_NAMES) | set(options.providers))
providers = c3.multiselect(tr("metrics_page.providers"), provider_choices, key="metrics_providers",
                           format_func=lambda p: PROVIDER_NAMES.get(p, p), placeholder=tr("metrics_page.all_providers"))
action_choices = sorted(set(options.actions) | {"sync"})
action = c4.selectbox(tr("metrics_page.action"), action_choices, index=action_choices.index("sync"),
                      key="metrics_action")

start_day = dates[0] if len(dates) >= 1 else today - timedelta(days=DEFAULT_DAYS - 1)
end_day = dates[1] if len(dates) == 2 else start_day
span_days = (end_day - start_day).days + 1
bucket = "hour" if span_days <= 2 else ("day" if span_days <= 120 else "week")
flt = mq.MetricsFilter(
    start=datetime.combine(start_day, time.min), end=datetime.combine(end_day + timedelta(days=1), time.min),
    company_ids=companies or None, providers=providers or None, actions=[action], bucket=bucket,
).within(scope)

try:
    summary = mq.totals(hub, flt)
    series = mq.time_series(hub, flt)
    errors = mq.error_breakdown(hub, flt)
    row_page = max(1, int(st.session_state.get("metrics_table_page") or 1))
    table = mq.per_company_page(hub, flt, limit=TABLE_ROWS, offset=(row_page - 1) * TABLE_ROWS)
    if not table.rows and table.total:  # the filter shrank the table below this page
        row_page = st.session_state["metrics_table_page"] = math.ceil(table.total / TABLE_ROWS)
        table = mq.per_company_page(hub, flt, limit=TABLE_ROWS, offset=(row_page - 1) * TABLE_ROWS)
except Exception as exc:  # noqa: BLE001
    st.error(describe_error(exc, auth.lang()), icon=":material/error:")
    st.stop()


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


# --- key figures ---------------------------------------------------------------------------------
k1, k2, k3, k4, k5 = st.columns(5)
k1.metric(tr("metrics_page.runs"), f"{summary['runs']:,}".replace(",", "."))
k2.metric(tr("metrics_page.success_rate"),
          "–" if summary["success_rate"] is None else f"{summary['success_rate']:.1%}")
k3.metric(tr("metrics_page.p50"), _ms(summary["p50_ms"]))
k4.metric(tr("metrics_page.p95"), _ms(summary["p95_ms"]))
k5.metric(tr("metrics_page.records"), f"{summary['records']:,}".replace(",", "."))

if summary["runs"] == 0:
    st.info(tr("metrics_page.empty"), icon=":material/monitoring:")
    st.stop()

# --- time series ---------------------------------------------------------------------------------
st.subheader(tr("metrics_page.over_time"), anchor=False)
st.caption(tr(f"metrics_page.bucket.{bucket}"))
frame = pd.DataFrame(series)
frame["provider_name"] = frame["provider"].map(lambda p: PROVIDER_NAMES.get(p, p))
frame["success_pct"] = frame["success_rate"] * 100
time_axis = alt.X("bucket:T", title=None)
color = alt.Color("provider_name:N", title=tr("metrics_page.provider"))
tooltip = [alt.Tooltip("bucket:T", title=tr("metrics_page.time")), alt.Tooltip("provider_name:N", title=tr("metrics_page.provider"))]

g1, g2 = st.columns(2)
g1.altair_chart(
    alt.Chart(frame, title=tr("metrics_page.runs")).mark_bar().encode(
        time_axis, alt.Y("runs:Q", title=None), color,
        tooltip=[*tooltip, alt.Tooltip("runs:Q", title=tr("metrics_page.runs")),
                 alt.Tooltip("failures:Q", title=tr("metrics_page.failures"))]),
    width="stretch")
g2.altair_chart(
    alt.Chart(frame, title=tr("metrics_page.success_rate")).mark_line(point=True).encode(
        time_axis, alt.Y("success_pct:Q", title="%", scale=alt.Scale(domain=[0, 100])), color,
        tooltip=[*tooltip, alt.Tooltip("success_pct:Q", title="%", format=".1f")]),
    width="stretch")

durations = frame.melt(id_vars=["bucket", "provider_name"], value_vars=["p50_ms", "p95_ms"],
                       var_name="percentile", value_name="ms")
durations["percentile"] = durations["percentile"].map({"p50_ms": "p50", "p95_ms": "p95"})
g3, g4 = st.columns(2)
g3.altair_chart(
    alt.Chart(durations, title=tr("metrics_page.duration")).mark_line(point=True).encode(
        time_axis, alt.Y("ms:Q", title="ms"), color, alt.StrokeDash("percentile:N", title=None),
        tooltip=[*tooltip, alt.Tooltip("percentile:N"), alt.Tooltip("ms:Q", format=".0f")]),
    width="stretch")
g4.altair_chart(
    alt.Chart(frame, title=tr("metrics_page.records")).mark_bar().encode(
        time_axis, alt.Y("records:Q", title=None), color,
        tooltip=[*tooltip, alt.Tooltip("records:Q", title=tr("metrics_page.records"))]),
    width="stretch")

# --- errors --------------------------------------------------------------------------------------
st.subheader(tr("metrics_page.errors"), anchor=False)
if not errors:
    st.success(tr("metrics_page.no_errors"), icon=":material/check_circle:")
else:
    err = pd.DataFrame(errors)
    err["provider_name"] = err["provider"].map(lambda p: PROVIDER_NAMES.get(p, p))
    st.altair_chart(
        alt.Chart(err).mark_bar().encode(
            alt.Y("error_code:N", title=None, sort="-x"), alt.X("sum(count):Q", title=tr("metrics_page.count")),
            alt.Color("provider_name:N", title=tr("metrics_page.provider")),
            tooltip=["error_code:N", "provider_name:N", "count:Q"]),
        width="stretch")

# --- per company ---------------------------------------------------------------------------------
st.subheader(tr("metrics_page.per_company"), anchor=False)
columns = {"company": tr("metrics_page.company"), "provider": tr("metrics_page.provider"),
           "runs": tr("metrics_page.runs"), "failures": tr("metrics_page.failures"),
           "success_rate": tr("metrics_page.success_rate"), "avg_ms": tr("metrics_page.avg_ms"),
           "max_ms": tr("metrics_page.max_ms"),
           "records": tr("metrics_page.records"), "last_at": tr("metrics_page.last_run"),
           "last_error_code": tr("metrics_page.last_error")}
st.dataframe(
    [{label: (PROVIDER_NAMES.get(row[key], row[key]) if key == "provider" else
              (row[key] * 100 if key == "success_rate" and row[key] is not None else row[key]))
      for key, label in columns.items()} for row in table.rows],
    hide_index=True, key="metrics_table",
    column_config={
        columns["success_rate"]: st.column_config.ProgressColumn(format="%.1f %%", min_value=0, max_value=100),
        columns["avg_ms"]: st.column_config.NumberColumn(format="%.0f"),
        columns["max_ms"]: st.column_config.NumberColumn(format="%.0f"),
        columns["last_at"]: st.column_config.DatetimeColumn(format="DD.MM.YYYY HH:mm"),
    },
)

if table.total > TABLE_ROWS:
    p1, p2 = st.columns([1, 4], vertical_alignment="bottom")
    p1.number_input(tr("metrics_page.table_page"), min_value=1, max_value=math.ceil(table.total / TABLE_ROWS), step=1,
                    key="metrics_table_page")
    first = (row_page - 1) * TABLE_ROWS + 1
    p2.caption(tr("metrics_page.table_rows", first=first, last=first + len(table.rows) - 1, total=table.total))

d1, d2 = st.columns(2)
stamp = f"{start_day:%Y%m%d}-{end_day:%Y%m%d}"
d1.download_button(tr("metrics_page.csv_companies"),  # every row, built only when clicked
                   lambda: mq.to_csv(mq.per_company(hub, flt), list(columns)), key="metrics_csv_companies",
                   file_name=f"sync-metriken-unternehmen-{stamp}.csv", mime="text/csv", icon=":material/download:")
d2.download_button(tr("metrics_page.csv_series"),
                   mq.to_csv(series, ["bucket", "provider", "runs", "successes", "failures", "success_rate",
                                      "p50_ms", "p95_ms", "records"]),
                   key="metrics_csv_series", file_name=f"sync-metriken-verlauf-{stamp}.csv", mime="text/csv",
                   icon=":material/download:")

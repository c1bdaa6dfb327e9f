"""The shared bulk upsert on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from integhub.models import RetellCall, utcnow
from integhub.services.companies import create_company
from integhub.sync.normalize import call_from_api
from integhub.sync.upsert import UpsertResult, UpsertStream, upsert_rows
from tests.conftest import postgres_only

KEY = ("company_id", "call_id")


def calls(company_id, n: int, *, status: str = "ended", start: int = 0) -> list[dict]:
    return [{**call_from_api({"call_id": f"call_{i:06d}", "agent_id": "agent_a", "call_status": status,
                              "start_timestamp": 1_764_000_000_000 + i}),
             "company_id": company_id, "synced_at": utcnow(), "deleted_at": None} for i in range(start, start + n)]


@pytest.fixture
def company_id(hub):
    return create_company(hub, "Upsert GmbH", actor="test").id


def stored(hub, company_id) -> dict[str, tuple]:
    with hub.session() as s:
        return {r.call_id: (r.call_status, r.stage, r.agent_id)
                for r in s.execute(select(RetellCall).where(RetellCall.company_id == company_id)).scalars()}


def test_inserts_then_updates_the_same_rows(hub, company_id):
    with hub.session() as s:
        assert upsert_rows(s, RetellCall, calls(company_id, 10, status="ongoing"), key_cols=KEY) == UpsertResult(10, 10)
    with hub.session() as s:
        result = upsert_rows(s, RetellCall, calls(company_id, 12, status="ended"), key_cols=KEY)
    assert result == UpsertResult(12, 12)
    rows = stored(hub, company_id)
    assert len(rows) == 12 and {v[0] for v in rows.values()} == {"ended"}


def test_only_if_keeps_rows_for_which_the_condition_is_false(hub, company_id):
    with hub.session() as s:
        upsert_rows(s, RetellCall, calls(company_id, 4, status="ended"), key_cols=KEY)  # stage 2
    older = calls(company_id, 6, status="ongoing")  # stage 1 for the same four, plus two new ones
    with hub.session() as s:
        result = upsert_rows(s, RetellCall, older, key_cols=KEY,
                             only_if=lambda table, new: table.c.stage <= new.stage)
    assert (result.rows, result.written, result.skipped) == (6, 2, 4)
    rows = stored(hub, company_id)
    assert [rows[f"call_{i:06d}"][0] for i in range(6)] == ["ended"] * 4 + ["ongoing"] * 2


def test_update_cols_limits_what_a_conflict_changes(hub, company_id):
    with hub.session() as s:
        upsert_rows(s, RetellCall, calls(company_id, 3), key_cols=KEY)
    changed = [dict(r, agent_id="agent_b", call_status="error") for r in calls(company_id, 3)]
    with hub.session() as s:
        upsert_rows(s, RetellCall, changed, key_cols=KEY, update_cols=["call_status"])
    assert set(stored(hub, company_id).values()) == {("error", 2, "agent_a")}


def test_duplicate_keys_in_one_batch_keep_the_last_row(hub, company_id):
    rows = calls(company_id, 2) + [dict(calls(company_id, 1)[0], agent_id="agent_last")]
    with hub.session() as s:
        assert upsert_rows(s, RetellCall, rows, key_cols=KEY).rows == 2
    assert stored(hub, company_id)["call_000000"][2] == "agent_last"


def test_large_batches_stay_under_the_parameter_limit(hub, company_id):
    # 6,000 rows × 18 columns = 108,000 parameters: more than SQLite (32,766) or PostgreSQL (65,535) take at once.
    with hub.session() as s:
        result = upsert_rows(s, RetellCall, calls(company_id, 6000), key_cols=KEY, chunk_rows=2500)
    assert result == UpsertResult(6000, 6000)
    with hub.session() as s:
        assert s.scalar(select(func.count()).select_from(RetellCall)) == 6000


def test_a_failed_transaction_writes_nothing(hub, company_id):
    with pytest.raises(RuntimeError):
        with hub.session() as s:
            upsert_rows(s, RetellCall, calls(company_id, 5), key_cols=KEY)
            raise RuntimeError("later step failed")
    assert stored(hub, company_id) == {}


def test_bad_rows_are_refused_before_anything_is_sent(hub, company_id):
    with hub.session() as s:
        with pytest.raises(ValueError, match="key columns"):
            upsert_rows(s, RetellCall, [{"call_id": "x"}], key_cols=KEY)
        with pytest.raises(ValueError, match="no columns"):
            upsert_rows(s, RetellCall, [{"company_id": company_id, "call_id": "x", "nope": 1}], key_cols=KEY)
        assert upsert_rows(s, RetellCall, [], key_cols=KEY) == UpsertResult()


@postgres_only  # COPY is the PostgreSQL path
def test_large_listings_on_postgresql_go_through_copy_with_the_same_outcome(hub, company_id, monkeypatch):
    import integhub.sync.upsert as upsert_module

    def awkward(rows):
        for i, row in enumerate(rows):
            row["data"] = {**row["data"], "transcript": f"Agent:\tHallo\\n {i}\nUser: \"Grüß Gott\" \\ \r\n", "x": None}
            row["agent_id"] = None if i % 3 == 0 else row["agent_id"]
        return rows

    def written_rows() -> list[tuple]:
        with hub.session() as s:
            return [(r.call_id, r.call_status, r.stage, r.agent_id, r.data, r.start_timestamp_ms, r.deleted_at)
                    for r in s.execute(select(RetellCall).where(RetellCall.company_id == company_id)
                                       .order_by(RetellCall.call_id)).scalars()]

    def run(copy_min_rows: int) -> tuple[list[UpsertResult], list[tuple]]:
        monkeypatch.setattr(upsert_module, "COPY_MIN_ROWS", copy_min_rows)
        with hub.session() as s:
            s.execute(RetellCall.__table__.delete())
        outcomes = []
        with hub.session() as s:  # twice in one transaction: each call stages on its own
            outcomes.append(upsert_rows(s, RetellCall, awkward(calls(company_id, 30, status="ended")), key_cols=KEY))
            outcomes.append(upsert_rows(s, RetellCall, awkward(calls(company_id, 40, status="ongoing")), key_cols=KEY,
                                        only_if=lambda table, new: table.c.stage <= new.stage))
        return outcomes, written_rows()

    copies = []
    real_merge = upsert_module.UpsertStream._merge_staging
    monkeypatch.setattr(upsert_module.UpsertStream, "_merge_staging",
                        lambda self: copies.append(1) or real_merge(self))
    by_statements = run(10**9)
    assert copies == []
    by_copy = run(1)
    assert copies == [1, 1]
    assert by_copy == by_statements
    assert by_copy[0] == [UpsertResult(30, 30), UpsertResult(40, 10)]
    assert by_copy[1][5][4]["transcript"].startswith("Agent:\tHallo\\n 5\nUser: \"Grüß")


def test_a_stream_fed_in_chunks_keeps_the_last_row_of_a_repeated_key(hub, company_id):
    """Chunks as a listing delivers them; on PostgreSQL the rows go by COPY from the second chunk on,
    and a key repeated across chunks (already staged) still ends with its last row."""
    first, second = calls(company_id, 5), calls(company_id, 5, start=3)
    second[0]["agent_id"] = "agent_last"  # call_000003, also in the first chunk
    with hub.session() as s:
        stream = UpsertStream(s, RetellCall, key_cols=KEY, copy_min_rows=4)
        stream.add(first)
        stream.add(second)
        assert stream.finish() == UpsertResult(8, 8)
    rows = stored(hub, company_id)
    assert sorted(rows) == [f"call_{i:06d}" for i in range(8)]
    assert rows["call_000003"][2] == "agent_last" and rows["call_000002"][2] == "agent_a"


@postgres_only
def test_nothing_reaches_the_table_before_finish_and_a_rollback_leaves_no_staging(hub, company_id):
    with pytest.raises(RuntimeError), hub.session() as s:
        stream = UpsertStream(s, RetellCall, key_cols=KEY, copy_min_rows=2)
        stream.add(calls(company_id, 10))
        assert s.scalar(select(func.count()).select_from(RetellCall)) == 0  # staged only
        raise RuntimeError("the listing failed half-way")
    assert stored(hub, company_id) == {}
    with hub.session() as s:
        assert s.execute(text("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'integhub_upsert_staging_%'")).scalar() == 0


@postgres_only
def test_postgresql_sessions_keep_a_long_listings_staging_table_in_memory(hub):
    from integhub.db import PG_TEMP_BUFFERS

    with hub.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW temp_buffers").scalar() == PG_TEMP_BUFFERS

"""Dialect-aware bulk upsert: `INSERT … ON CONFLICT (key) DO UPDATE` on PostgreSQL and SQLite.

Both dialects accept the same idiom (SQLite since 3.24), so one function serves the sync engine and
the webhook receivers. Rows go out as SQLAlchemy "insertmanyvalues" batches: multi-row VALUES
statements, sized by SQLAlchemy to stay under SQLite's 32,766 bound-parameter limit.

    upsert_rows(session, RetellCall, rows, key_cols=("company_id", "call_id"),
                only_if=lambda stored, incoming: stored.c.stage <= incoming.stage)

`only_if(stored_table, excluded)` is an optional SQL condition on the conflict update: a stored row
for which it is false stays as it is (e.g. a late, older webhook never overwrites newer data).
"""
from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Table, column, select
from sqlalchemy import table as table_clause
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

# Rows per execute call; each call is split further into VALUES batches by SQLAlchemy.
DEFAULT_CHUNK_ROWS = 10_000
# From this many rows on, PostgreSQL gets the rows by COPY into a temporary table and one
# INSERT … SELECT … ON CONFLICT: same statement semantics, a third less time for a 20,000-row listing.
COPY_MIN_ROWS = 1_000
_staging_names = itertools.count(1)

Condition = Callable[[Table, Any], ColumnElement[bool]]


@dataclass(frozen=True)
class UpsertResult:
    """`rows`: distinct keys sent; `written`: rows inserted or updated (skipped by `only_if` excluded)."""

    rows: int = 0
    written: int = 0

    @property
    def skipped(self) -> int:
        return self.rows - self.written

    def __add__(self, other: "UpsertResult") -> "UpsertResult":
        return UpsertResult(self.rows + other.rows, self.written + other.written)


def table_of(model_or_table: Any) -> Table:
    return model_or_table if isinstance(model_or_table, Table) else model_or_table.__table__


def dialect_insert(dialect_name: str):
    if dialect_name == "postgresql":
        return postgresql.insert
    if dialect_name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"no upsert for dialect {dialect_name!r}")


def dedupe_by_key(rows: Iterable[dict[str, Any]], key_cols: Sequence[str]) -> list[dict[str, Any]]:
    """Last row wins per key: one statement must not touch the same row twice (PostgreSQL refuses)."""
    by_key: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        try:
            by_key[tuple(row[c] for c in key_cols)] = row
        except KeyError:
            raise ValueError(f"upsert rows lack key columns {[c for c in key_cols if c not in row]}") from None
    return list(by_key.values())


def upsert_rows(
    session: Session | Connection,
    model: Any,
    rows: Iterable[dict[str, Any]],
    *,
    key_cols: Sequence[str],
    update_cols: Sequence[str] | None = None,
    only_if: Condition | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> UpsertResult:
    """Insert `rows`, or update the stored row with the same `key_cols` (the table's primary key or
    a unique constraint). Runs in the caller's transaction; nothing is committed here.

    Every row must carry the same columns. `update_cols` defaults to every non-key column present
    in the rows; columns not listed keep their stored values on conflict (e.g. hand-set mappings).
    """
    rows = dedupe_by_key(rows, key_cols)
    if not rows:
        return UpsertResult()
    table = table_of(model)
    columns = list(rows[0])
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no columns {unknown}")
    if update_cols is None:
        update_cols = [c for c in columns if c not in key_cols]

    dialect_name = session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name
    insert = dialect_insert(dialect_name)
    stmt = insert(table)
    if update_cols:
        where = only_if(table, stmt.excluded) if only_if is not None else None
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key_cols),
            set_={c: stmt.excluded[c] for c in update_cols},
            where=where,
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key_cols))

    if dialect_name == "postgresql" and len(rows) >= COPY_MIN_ROWS and _copyable(table, columns):
        written = _upsert_via_copy(session, table, rows, columns, key_cols, update_cols, only_if)
        return UpsertResult(rows=len(rows), written=written)

    # executemany: SQLAlchemy's "insertmanyvalues" renders multi-row VALUES batches that respect
    # each driver's parameter limit (SQLite 32,766); preserve_rowcount sums the batches' counts.
    written = 0
    for start in range(0, len(rows), chunk_rows):
        result = session.execute(stmt.execution_options(preserve_rowcount=True), rows[start:start + chunk_rows])
        written += max(result.rowcount, 0)
    return UpsertResult(rows=len(rows), written=written)


def _copyable(table: Table, columns: list[str]) -> bool:
    """COPY fills only the given columns: every other one must be fine with its server default
    (no client-side default that SQLAlchemy would otherwise have computed per row)."""
    return all(c.name in columns or c.default is None for c in table.c)


def _copy_value(column, value: Any) -> Any:
    if value is not None and isinstance(column.type, JSON):  # JSON/JSONB: its text form
        return json.dumps(value)
    return value


def _upsert_via_copy(session: Session | Connection, table: Table, rows: list[dict[str, Any]], columns: list[str],
                     key_cols: Sequence[str], update_cols: Sequence[str], only_if: Condition | None) -> int:
    """The same ON CONFLICT statement, fed from a temporary table filled by COPY (PostgreSQL)."""
    connection = session.connection() if isinstance(session, Session) else session
    staging = f"integhub_upsert_staging_{next(_staging_names)}"
    quoted = ", ".join(f'"{c}"' for c in columns)
    cursor = connection.connection.driver_connection.cursor()
    try:
        # ON COMMIT DROP: the staging table lives exactly as long as the caller's transaction.
        cursor.execute(f'CREATE TEMPORARY TABLE "{staging}" (LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DROP')
        cols = [table.c[c] for c in columns]
        with cursor.copy(f'COPY "{staging}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([_copy_value(col, row[col.name]) for col in cols])
    finally:
        cursor.close()
    source = table_clause(staging, *(column(c) for c in columns))
    stmt = dialect_insert("postgresql")(table).from_select(columns, select(*(source.c[c] for c in columns)))
    if update_cols:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key_cols),
            set_={c: stmt.excluded[c] for c in update_cols},
            where=only_if(table, stmt.excluded) if only_if is not None else None,
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key_cols))
    result = session.execute(stmt.execution_options(preserve_rowcount=True))
    return max(result.rowcount, 0)

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

import functools
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Table, TextClause, bindparam, column, select, text
from sqlalchemy import table as table_clause
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import BindTyping
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

# Rows per execute call; each call is split further into VALUES batches by SQLAlchemy.
DEFAULT_CHUNK_ROWS = 10_000
# From this many rows on, PostgreSQL gets the rows by COPY into a temporary table and one
# INSERT … SELECT … ON CONFLICT: same statement semantics, a third less time for a 20,000-row listing.
COPY_MIN_ROWS = 1_000
TEXT_OID = 25
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
    stream = UpsertStream(session, model, key_cols=key_cols, update_cols=update_cols, only_if=only_if,
                          chunk_rows=chunk_rows)
    stream.add(rows)
    return stream.finish()


class UpsertStream:
    """The same upsert, fed in chunks while a listing is still being read.

    Up to `copy_min_rows` distinct rows are held in memory (deduplicated, last row wins) and sent
    at `finish()` as multi-row INSERT … ON CONFLICT statements. On PostgreSQL, once more rows than
    that have arrived, they go by COPY into a temporary staging table as they come, so the rows of a
    long listing are already on the server when its last page arrives; `finish()` then runs one
    INSERT … SELECT … ON CONFLICT from the staging table. Either way nothing reaches the target
    table before `finish()`, and all of it is in the caller's transaction.
    """

    def __init__(self, session: Session | Connection, model: Any, *, key_cols: Sequence[str],
                 update_cols: Sequence[str] | None = None, only_if: Condition | None = None,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS, copy_min_rows: int | None = None) -> None:
        self.session, self.table, self.key_cols = session, table_of(model), tuple(key_cols)
        self.update_cols, self.only_if, self.chunk_rows = update_cols, only_if, chunk_rows
        self.copy_min_rows = COPY_MIN_ROWS if copy_min_rows is None else copy_min_rows
        self.dialect = session.get_bind().dialect.name if isinstance(session, Session) else session.dialect.name
        dialect_insert(self.dialect)  # refuse an unsupported dialect before any row arrives
        self.columns: list[str] | None = None
        self._buffer: dict[tuple, dict[str, Any]] = {}
        self._staging: str | None = None  # set once rows go by COPY
        self._staged_keys: set[tuple] = set()
        self._staged_duplicates = False
        self._seq = 0
        self._json_cols: list[bool] = []
        self._copy_types: list[int] = []

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        if self._staging is not None:
            self._copy(rows)
            return
        for row in rows:
            if self.columns is None:
                self._start(row)
            try:
                self._buffer[tuple(row[c] for c in self.key_cols)] = row
            except KeyError:
                raise ValueError(f"upsert rows lack key columns {[c for c in self.key_cols if c not in row]}") from None
        if (len(self._buffer) >= self.copy_min_rows and self.dialect == "postgresql"
                and _copyable(self.table, self.columns)):
            self._open_staging()
            buffered, self._buffer = list(self._buffer.values()), {}
            self._copy(buffered)

    def finish(self) -> UpsertResult:
        """Write what arrived into the target table; `rows` counts distinct keys."""
        if self._staging is not None:
            return UpsertResult(rows=len(self._staged_keys), written=self._merge_staging())
        rows, self._buffer = list(self._buffer.values()), {}
        if not rows:
            return UpsertResult()
        # One prepared statement, executed for every row by the driver (psycopg pipelines them,
        # sqlite3 loops in C); preserve_rowcount sums what each execution wrote.
        defaults = _insert_defaults(self.table, self.columns)
        if defaults:  # columns the rows leave to their model defaults: given on insert, untouched on update
            rows = [{**defaults, **row} for row in rows]
        stmt = _upsert_text(self.dialect, self.table, tuple(self.columns) + tuple(defaults), self.key_cols,
                            tuple(self.update_cols), self.only_if)
        written = 0
        for start in range(0, len(rows), self.chunk_rows):
            result = self.session.execute(stmt.execution_options(preserve_rowcount=True),
                                          rows[start:start + self.chunk_rows])
            written += max(result.rowcount, 0)
        return UpsertResult(rows=len(rows), written=written)

    # --- internals ---------------------------------------------------------------------------------
    def _start(self, first: dict[str, Any]) -> None:
        self.columns = list(first)
        unknown = [c for c in self.columns if c not in self.table.c]
        if unknown:
            raise ValueError(f"{self.table.name} has no columns {unknown}")
        if self.update_cols is None:
            self.update_cols = [c for c in self.columns if c not in self.key_cols]
        self._json_cols = [isinstance(self.table.c[c].type, JSON) for c in self.columns]

    def _cursor(self):
        connection = self.session.connection() if isinstance(self.session, Session) else self.session
        return connection.connection.driver_connection.cursor()

    def _open_staging(self) -> None:
        self._staging = f"integhub_upsert_staging_{next(_staging_names)}"
        with self._cursor() as cursor:
            # ON COMMIT DROP: the staging table lives exactly as long as the caller's transaction.
            # `integhub_seq` is the arrival order: the last row of a repeated key wins, as in memory.
            cursor.execute(f'CREATE TEMPORARY TABLE "{self._staging}" (LIKE "{self.table.name}" INCLUDING DEFAULTS, '
                           f'integhub_seq bigint) ON COMMIT DROP')
            # The columns' types, told to COPY up front, spare it a dumper lookup per value (a third
            # of its time). JSON columns arrive as text we encoded: the server parses them.
            cursor.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                           (f'"{self._staging}"',))
            oids = dict(cursor.fetchall())
        self._copy_types = [TEXT_OID if is_json else oids[c]
                            for c, is_json in zip(self.columns, self._json_cols)] + [oids["integhub_seq"]]

    def _copy(self, rows: Iterable[dict[str, Any]]) -> None:
        columns, keys = self.columns, self._staged_keys
        values_of, key_of = itemgetter(*columns), itemgetter(*self.key_cols)
        json_at = [i for i, is_json in enumerate(self._json_cols) if is_json]
        seq = self._seq
        quoted = ", ".join(f'"{c}"' for c in columns)
        with self._cursor() as cursor, cursor.copy(f'COPY "{self._staging}" ({quoted}, integhub_seq) FROM STDIN') as copy:
            copy.set_types(self._copy_types)
            for row in rows:
                try:
                    values = list(values_of(row)) if len(columns) > 1 else [values_of(row)]
                    key = key_of(row)
                except KeyError:
                    raise ValueError(f"upsert rows differ in their columns: {sorted(set(row) ^ set(columns))}") from None
                if key in keys:
                    self._staged_duplicates = True
                keys.add(key)
                for i in json_at:  # JSON/JSONB: its text form
                    if values[i] is not None:
                        values[i] = json_text(values[i])
                seq += 1
                values.append(seq)
                copy.write_row(values)
        self._seq = seq

    def _merge_staging(self) -> int:
        columns = self.columns
        source = table_clause(self._staging, *(column(c) for c in [*columns, "integhub_seq"]))
        select_rows = select(*(source.c[c] for c in columns))
        if self._staged_duplicates:
            keys = [source.c[c] for c in self.key_cols]
            select_rows = select_rows.distinct(*keys).order_by(*keys, source.c.integhub_seq.desc())
        stmt = conflict_clause(dialect_insert("postgresql")(self.table).from_select(columns, select_rows),
                               self.table, self.key_cols, self.update_cols, self.only_if)
        result = self.session.execute(stmt.execution_options(preserve_rowcount=True))
        return max(result.rowcount, 0)


def conflict_clause(stmt, table: Table, key_cols: Sequence[str], update_cols: Sequence[str],
                    only_if: Condition | None):
    """`stmt` (an insert) with the conflict clause: update the non-key columns, or do nothing."""
    if update_cols:
        return stmt.on_conflict_do_update(
            index_elements=list(key_cols),
            set_={c: stmt.excluded[c] for c in update_cols},
            where=only_if(table, stmt.excluded) if only_if is not None else None,
        )
    return stmt.on_conflict_do_nothing(index_elements=list(key_cols))


# The dialects' INSERT … ON CONFLICT constructs have no cache key, so SQLAlchemy compiles them anew
# on every execution (a third of a small sync's CPU went there). Compiled once per shape into a
# text() statement with typed parameters, they are cached like any other statement. Pass `only_if`
# as a module-level function, not a fresh lambda, or every call is a new shape.
def _named_dialect(dialect):
    dialect.bind_typing = BindTyping.NONE  # plain :name placeholders; the executing dialect adds its casts
    return dialect


_NAMED_DIALECTS = {"postgresql": _named_dialect(postgresql.dialect(paramstyle="named")),
                   "sqlite": _named_dialect(sqlite.dialect(paramstyle="named"))}


def _insert_defaults(table: Table, columns: Sequence[str]) -> dict[str, Any]:
    """Values of the model's Python-side defaults for the columns the rows do not carry."""
    values = {}
    for col in table.c:
        if col.name in columns or col.default is None:
            continue
        default = col.default
        if default.is_scalar:
            values[col.name] = default.arg
        elif default.is_callable:
            values[col.name] = default.arg(None)  # SQLAlchemy wraps zero-argument callables to take a context
        else:
            raise ValueError(f"{table.name}.{col.name}: an SQL default cannot be filled in here; give the column")
    return values


@functools.lru_cache(maxsize=256)
def _upsert_text(dialect_name: str, table: Table, columns: tuple[str, ...], key_cols: tuple[str, ...],
                 update_cols: tuple[str, ...], only_if: Condition | None) -> TextClause:
    typed = [bindparam(c, type_=table.c[c].type) for c in columns]
    stmt = dialect_insert(dialect_name)(table).values({c: p for c, p in zip(columns, typed)})
    return compiled_text(dialect_name, conflict_clause(stmt, table, key_cols, update_cols, only_if), typed)


def compiled_text(dialect_name: str, stmt, binds: Sequence, *, columns: Sequence = ()) -> TextClause:
    """`stmt` compiled once into a text() statement with the given typed bind parameters (and typed
    result `columns`), which SQLAlchemy then caches like any other statement. For statements without a
    cache key; every parameter must be one of `binds` (no anonymous literals)."""
    sql = str(stmt.compile(dialect=_NAMED_DIALECTS[dialect_name]))
    statement = text(sql).bindparams(*binds)
    return statement.columns(*columns) if columns else statement


def json_text(value: Any) -> str:
    """JSON text for a JSON column: orjson (five times faster than json.dumps on a call's payload);
    json.dumps for what orjson refuses (integers beyond 64 bits, non-string keys)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _copyable(table: Table, columns: list[str]) -> bool:
    """COPY fills only the given columns: every other one must be fine with its server default
    (no client-side default that SQLAlchemy would otherwise have computed per row)."""
    return all(c.name in columns or c.default is None for c in table.c)

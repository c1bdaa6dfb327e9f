"""Pages that do not grow with the fleet: an hourly roll-up of integration_metrics on both databases,
and per-key secret counts kept by triggers on integration_configs.

- metrics: hourly tables for all companies (counts, errors, duration histograms), the pairs of
  provider and action seen, finer duration buckets (about 1 % wide instead of 10 %). The old
  per-company error table is no longer read and goes. The roll-up is emptied: the first metrics
  query afterwards rebuilds it from integration_metrics (integhub/services/metrics_queries.py).
- secret_key_counts: one row per key id with the number of ciphertexts under it, plus
  secret_key_count_changes: triggers on integration_configs append +n/−n there on every INSERT,
  DELETE and change of api_key/webhook_secret (PostgreSQL: statement-level with transition tables
  for inserts and deletes, so a bulk load appends one row per key). Appending takes no lock that
  another writer waits for (a counter row updated in place would: a rotation batch holding it
  while it waits for a config row that a concurrent save holds, which waits for the counter, is a
  deadlock). Readers add the changes to the counts; integhub/services/keys.py folds them in.

Revision ID: 0006_rollup_and_key_counts
Revises: 0003_sync_engine
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_rollup_and_key_counts"
down_revision = "0003_sync_engine"
branch_labels = None
depends_on = None


def _key_id_sqlite(value: str) -> str:
    """The key id of a ciphertext `ih1:<key id>:<payload>` (as crypto.token_key_id reads it), ':' for
    any other non-empty value, NULL for NULL or ''."""
    rest = f"substr({value}, 5)"
    return (f"(CASE WHEN {value} IS NULL OR {value} = '' THEN NULL "
            f"WHEN substr({value}, 1, 4) = 'ih1:' AND instr({rest}, ':') > 0 "
            f"THEN substr({rest}, 1, instr({rest}, ':') - 1) ELSE ':' END)")


_PG_FUNCTIONS = [
    """CREATE FUNCTION integhub_secret_key_id(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
         SELECT CASE WHEN v IS NULL OR v = '' THEN NULL
                     WHEN left(v, 4) = 'ih1:' AND strpos(substr(v, 5), ':') > 0 THEN split_part(v, ':', 2)
                     ELSE ':' END $$""",
    *(f"""CREATE FUNCTION secret_key_counts_{verb}() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            INSERT INTO secret_key_count_changes (key_id, delta)
            SELECT kid, {sign}count(*) FROM (SELECT integhub_secret_key_id(api_key) AS kid FROM {rows}
                                             UNION ALL SELECT integhub_secret_key_id(webhook_secret) FROM {rows}) t
            WHERE kid IS NOT NULL GROUP BY kid;
            RETURN NULL;
          END $$""" for verb, sign, rows in (("insert", "", "new_rows"), ("delete", "-", "old_rows"))),
    """CREATE FUNCTION secret_key_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO secret_key_count_changes (key_id, delta)
         SELECT kid, sum(d) FROM (VALUES (integhub_secret_key_id(OLD.api_key), -1),
                                         (integhub_secret_key_id(NEW.api_key), 1),
                                         (integhub_secret_key_id(OLD.webhook_secret), -1),
                                         (integhub_secret_key_id(NEW.webhook_secret), 1)) AS v(kid, d)
         WHERE kid IS NOT NULL GROUP BY kid HAVING sum(d) <> 0;
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION secret_key_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN DELETE FROM secret_key_counts; DELETE FROM secret_key_count_changes; RETURN NULL; END $$""",
]

_PG_TRIGGERS = [
    """CREATE TRIGGER secret_key_counts_insert AFTER INSERT ON integration_configs
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION secret_key_counts_insert()""",
    """CREATE TRIGGER secret_key_counts_delete AFTER DELETE ON integration_configs
       REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION secret_key_counts_delete()""",
    """CREATE TRIGGER secret_key_counts_update AFTER UPDATE OF api_key, webhook_secret ON integration_configs
       FOR EACH ROW WHEN (OLD.api_key IS DISTINCT FROM NEW.api_key OR OLD.webhook_secret IS DISTINCT FROM NEW.webhook_secret)
       EXECUTE FUNCTION secret_key_counts_update()""",
    """CREATE TRIGGER secret_key_counts_truncate AFTER TRUNCATE ON integration_configs
       FOR EACH STATEMENT EXECUTE FUNCTION secret_key_counts_truncate()""",
]


def _sqlite_triggers() -> list[str]:
    def upsert(pairs: list[tuple[str, int]]) -> str:
        rows = " UNION ALL ".join(f"SELECT {_key_id_sqlite(v)} AS kid, {d} AS d" for v, d in pairs)
        return (f"INSERT INTO secret_key_count_changes (key_id, delta) SELECT kid, sum(d) FROM ({rows}) "
                "WHERE kid IS NOT NULL GROUP BY kid HAVING sum(d) <> 0;")

    fields = ("api_key", "webhook_secret")
    return [
        f"CREATE TRIGGER secret_key_counts_insert AFTER INSERT ON integration_configs BEGIN "
        f"{upsert([(f'NEW.{f}', 1) for f in fields])} END",
        f"CREATE TRIGGER secret_key_counts_delete AFTER DELETE ON integration_configs BEGIN "
        f"{upsert([(f'OLD.{f}', -1) for f in fields])} END",
        f"CREATE TRIGGER secret_key_counts_update AFTER UPDATE OF api_key, webhook_secret ON integration_configs "
        f"WHEN OLD.api_key IS NOT NEW.api_key OR OLD.webhook_secret IS NOT NEW.webhook_secret BEGIN "
        f"{upsert([(f'{side}.{f}', d) for f in fields for side, d in (('OLD', -1), ('NEW', 1))])} END",
    ]


def _hour_key() -> list[sa.Column]:
    return [sa.Column("hour", sa.DateTime(), primary_key=True), sa.Column("provider", sa.String(50), primary_key=True),
            sa.Column("action", sa.String(50), primary_key=True)]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # --- metrics roll-up ---------------------------------------------------------------------------
    op.drop_table("metrics_daily_errors")
    op.create_table(
        "metrics_hourly", *_hour_key(),
        sa.Column("runs", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("successes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("records", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "metrics_hourly_errors", *_hour_key(),
        sa.Column("error_code", sa.String(50), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "metrics_hourly_durations", *_hour_key(),
        sa.Column("bucket", sa.Integer(), primary_key=True),
        sa.Column("runs", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("min_ms", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("max_ms", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "metrics_dimensions",
        sa.Column("provider", sa.String(50), primary_key=True), sa.Column("action", sa.String(50), primary_key=True),
    )
    for table in ("metrics_daily", "metrics_daily_durations", "metrics_rollup_state"):
        op.execute(f"DELETE FROM {table}")  # rebuilt with the new buckets by the first query
    # the per-company table looks up the newest run of the rows it shows
    op.create_index("idx_metrics_daily_company_last", "metrics_daily", ["company_id", "provider", "last_at"])

    # --- secrets per key ---------------------------------------------------------------------------
    op.create_table(
        "secret_key_counts",
        sa.Column("key_id", sa.Text(), primary_key=True),
        sa.Column("secrets", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "secret_key_count_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
    )
    if dialect == "postgresql":
        for statement in _PG_FUNCTIONS + _PG_TRIGGERS:
            op.execute(statement)
        column = "integhub_secret_key_id({})".format
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)
        column = _key_id_sqlite
    op.execute(f"""INSERT INTO secret_key_counts (key_id, secrets)
                   SELECT kid, count(*) FROM (SELECT {column('api_key')} AS kid FROM integration_configs
                                              UNION ALL SELECT {column('webhook_secret')} FROM integration_configs) t
                   WHERE kid IS NOT NULL GROUP BY kid""")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in ("insert", "delete", "update", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS secret_key_counts_{name}" + (" ON integration_configs" if dialect == "postgresql" else ""))
    if dialect == "postgresql":
        for name in ("insert", "delete", "update", "truncate"):
            op.execute(f"DROP FUNCTION IF EXISTS secret_key_counts_{name}()")
        op.execute("DROP FUNCTION IF EXISTS integhub_secret_key_id(text)")
    op.drop_table("secret_key_count_changes")
    op.drop_table("secret_key_counts")

    op.drop_index("idx_metrics_daily_company_last", table_name="metrics_daily")
    for table in ("metrics_dimensions", "metrics_hourly_durations", "metrics_hourly_errors", "metrics_hourly"):
        op.drop_table(table)
    op.create_table(
        "metrics_daily_errors",
        sa.Column("day", sa.DateTime(), primary_key=True), sa.Column("company_id", sa.Uuid(), primary_key=True),
        sa.Column("provider", sa.String(50), primary_key=True), sa.Column("action", sa.String(50), primary_key=True),
        sa.Column("error_code", sa.String(50), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_at", sa.DateTime(), nullable=False),
    )
    for table in ("metrics_daily", "metrics_daily_durations", "metrics_rollup_state"):
        op.execute(f"DELETE FROM {table}")  # the older code rebuilds them with its own buckets

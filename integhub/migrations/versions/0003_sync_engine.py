"""Sync engine: per-(company, provider) state with the lease and backoff, and the run history.

Revision ID: 0003_sync_engine
Revises: 0002_remote_objects
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_sync_engine"
down_revision = "0002_remote_objects"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sync_state",
        sa.Column("company_id", sa.Uuid(), sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("provider", sa.String(50), primary_key=True),
        sa.Column("lease_token", sa.String(64)),
        sa.Column("lease_holder", sa.String(255)),
        sa.Column("lease_expires_at", sa.DateTime()),
        sa.Column("lease_trigger", sa.String(20)),
        sa.Column("lease_actor", sa.String(255)),
        sa.Column("started_at", sa.DateTime()),
        sa.Column("heartbeat_at", sa.DateTime()),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime()),
        sa.Column("last_started_at", sa.DateTime()),
        sa.Column("last_finished_at", sa.DateTime()),
        sa.Column("last_success", sa.Boolean()),
        sa.Column("last_error_code", sa.String(50)),
        sa.Column("last_counts", JSONType, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("cursors", JSONType, nullable=False, server_default=sa.text("'{}'")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("company_id", sa.Uuid(), sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("success", sa.Boolean()),
        sa.Column("records_synced", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("duration_ms", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("counts", JSONType, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("deleted", JSONType, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("error_code", sa.String(50)),
        sa.Column("error", sa.Text()),
    )
    op.create_index("idx_sync_runs_company_provider_started", "sync_runs", ["company_id", "provider", "started_at"])

    # Daily roll-up of integration_metrics for the metrics page (PostgreSQL reads it; see
    # integhub/services/metrics_queries.py).
    def key() -> list[sa.Column]:
        return [sa.Column("day", sa.DateTime(), primary_key=True), sa.Column("company_id", sa.Uuid(), primary_key=True),
                sa.Column("provider", sa.String(50), primary_key=True), sa.Column("action", sa.String(50), primary_key=True)]

    op.create_table(
        "metrics_daily", *key(),
        sa.Column("runs", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("successes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("records", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("duration_sum", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("duration_max", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("last_error_code", sa.String(50)),
    )
    op.create_index("idx_metrics_daily_action_day", "metrics_daily", ["action", "day"])
    op.create_table(
        "metrics_daily_errors", *key(),
        sa.Column("error_code", sa.String(50), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "metrics_daily_durations",
        sa.Column("day", sa.DateTime(), primary_key=True), sa.Column("provider", sa.String(50), primary_key=True),
        sa.Column("action", sa.String(50), primary_key=True), sa.Column("bucket", sa.Integer(), primary_key=True),
        sa.Column("runs", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("min_ms", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("max_ms", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "metrics_rollup_state",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("rolled_up_until", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("metrics_rollup_state", "metrics_daily_durations", "metrics_daily_errors"):
        op.drop_table(table)
    op.drop_index("idx_metrics_daily_action_day", table_name="metrics_daily")
    op.drop_table("metrics_daily")
    op.drop_index("idx_sync_runs_company_provider_started", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_table("sync_state")

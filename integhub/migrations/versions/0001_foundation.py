"""Foundation: host tables, integration_configs (spec DDL + version), metrics, audit, app_meta.

Revision ID: 0001_foundation
Revises:
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _uuid_pk() -> sa.Column:
    is_pg = op.get_bind().dialect.name == "postgresql"
    return sa.Column("id", sa.Uuid(), primary_key=True,
                     server_default=sa.text("gen_random_uuid()") if is_pg else None)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "companies",
        _uuid_pk(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False, unique=True),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="Europe/Berlin"),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "branches",
        _uuid_pk(),
        sa.Column("company_id", sa.Uuid(), sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.create_index("ix_branches_company_id", "branches", ["company_id"])
    op.create_table(
        "staff",
        _uuid_pk(),
        sa.Column("company_id", sa.Uuid(), sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("branch_id", sa.Uuid(), sa.ForeignKey("branches.id", ondelete="SET NULL"), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.create_index("ix_staff_company_id", "staff", ["company_id"])
    # The spec's DDL, column for column, plus `version` for optimistic locking.
    op.create_table(
        "integration_configs",
        _uuid_pk(),
        sa.Column("company_id", sa.Uuid(), sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.Text(), nullable=True),
        sa.Column("settings", JSONType, nullable=True, server_default=sa.text("'{}'")),
        sa.Column("is_active", sa.Boolean(), nullable=True, server_default=sa.false()),
        sa.Column("last_sync_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(), nullable=True, server_default=sa.func.now()),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.UniqueConstraint("company_id", "provider"),
    )
    op.create_index("idx_integration_configs_company_provider", "integration_configs", ["company_id", "provider"])
    op.create_table(
        "integration_metrics",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("records_synced", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error_code", sa.String(50), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("idx_integration_metrics_company_provider_time", "integration_metrics",
                    ["company_id", "provider", "created_at"])
    op.create_index("idx_integration_metrics_time", "integration_metrics", ["created_at"])
    op.create_index("idx_integration_metrics_provider_time", "integration_metrics", ["provider", "created_at"])
    op.create_table(
        "audit_events",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(50), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("details", JSONType, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("old_key_fingerprint", sa.String(64), nullable=True),
        sa.Column("new_key_fingerprint", sa.String(64), nullable=True),
    )
    op.create_index("ix_audit_events_created_at", "audit_events", ["created_at"])
    op.create_index("idx_audit_events_company_time", "audit_events", ["company_id", "created_at"])
    op.create_table(
        "app_meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    # audit_events is append-only: the database itself refuses UPDATE and DELETE.
    if dialect == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit_events is append-only'; END; $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
        """)
    elif dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events
                BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END
            """)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    for table in ("app_meta", "audit_events", "integration_metrics", "integration_configs", "staff", "branches", "companies"):
        op.drop_table(table)

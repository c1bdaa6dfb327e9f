"""Remote objects synced from Cal.com and Retell, keyed by (company_id, remote id).

Revision ID: 0002_remote_objects
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_remote_objects"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _company() -> sa.Column:
    return sa.Column("company_id", sa.Uuid(), sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)


def _synced() -> list[sa.Column]:
    return [
        sa.Column("data", JSONType, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("synced_at", sa.DateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "calcom_event_types", _company(),
        sa.Column("remote_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("title", sa.String(255), nullable=False, server_default=""),
        sa.Column("slug", sa.String(255)), sa.Column("length_minutes", sa.Integer()),
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("team_id", sa.BigInteger()),
        sa.Column("branch_id", sa.Uuid(), sa.ForeignKey("branches.id", ondelete="SET NULL")),
        sa.Column("branch_mapped_manually", sa.Boolean(), nullable=False, server_default=sa.false()),
        *_synced(),
    )
    op.create_table(
        "calcom_users", _company(),
        sa.Column("remote_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(320)), sa.Column("username", sa.String(255)), sa.Column("name", sa.String(255)),
        sa.Column("role", sa.String(20)),
        sa.Column("staff_id", sa.Uuid(), sa.ForeignKey("staff.id", ondelete="SET NULL")),
        sa.Column("staff_mapped_manually", sa.Boolean(), nullable=False, server_default=sa.false()),
        *_synced(),
    )
    op.create_table(
        "calcom_bookings", _company(),
        sa.Column("uid", sa.String(255), primary_key=True),
        sa.Column("remote_id", sa.BigInteger()), sa.Column("title", sa.String(500)), sa.Column("status", sa.String(30)),
        sa.Column("start_at", sa.DateTime()), sa.Column("end_at", sa.DateTime()),
        sa.Column("event_type_id", sa.BigInteger()), sa.Column("attendee_name", sa.String(255)),
        sa.Column("attendee_email", sa.String(320)), sa.Column("remote_updated_at", sa.DateTime()),
        sa.Column("source", sa.String(10), nullable=False, server_default="sync"),
        *_synced(),
    )
    op.create_index("idx_calcom_bookings_company_start", "calcom_bookings", ["company_id", "start_at"])
    op.create_table(
        "retell_agents", _company(),
        sa.Column("agent_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(255)), sa.Column("channel", sa.String(20)), sa.Column("webhook_url", sa.Text()),
        *_synced(),
    )
    op.create_index("idx_retell_agents_agent_id", "retell_agents", ["agent_id"])
    op.create_table(
        "retell_phone_numbers", _company(),
        sa.Column("phone_number", sa.String(32), primary_key=True),
        sa.Column("nickname", sa.String(255)), sa.Column("inbound_agent_id", sa.String(128)),
        *_synced(),
    )
    op.create_table(
        "retell_calls", _company(),
        sa.Column("call_id", sa.String(128), primary_key=True),
        sa.Column("agent_id", sa.String(128)), sa.Column("call_status", sa.String(30)), sa.Column("call_type", sa.String(20)),
        sa.Column("direction", sa.String(20)), sa.Column("from_number", sa.String(32)), sa.Column("to_number", sa.String(32)),
        sa.Column("start_at", sa.DateTime()), sa.Column("end_at", sa.DateTime()),
        sa.Column("start_timestamp_ms", sa.BigInteger()), sa.Column("duration_ms", sa.BigInteger()),
        sa.Column("disconnection_reason", sa.String(100)),
        sa.Column("stage", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("source", sa.String(10), nullable=False, server_default="sync"),
        *_synced(),
    )
    op.create_index("idx_retell_calls_company_start", "retell_calls", ["company_id", "start_at"])


def downgrade() -> None:
    for table in ("retell_calls", "retell_phone_numbers", "retell_agents", "calcom_bookings", "calcom_users",
                  "calcom_event_types"):
        op.drop_table(table)

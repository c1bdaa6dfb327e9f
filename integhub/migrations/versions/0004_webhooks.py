"""Webhook inbox (accepted deliveries, stored once) and the registrations the hub made.

Revision ID: 0004_webhooks
Revises: 0002_remote_objects
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_webhooks"
down_revision = "0002_remote_objects"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", BigIntPK, primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(50), nullable=False),
        sa.Column("company_id", sa.Uuid(), sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_key", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("object_id", sa.String(255)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(500)),
        sa.Column("received_at", sa.DateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("processed_at", sa.DateTime()),
        sa.UniqueConstraint("provider", "company_id", "event_key", name="uq_webhook_inbox_event"),
    )
    op.create_index("idx_webhook_inbox_company_provider_time", "webhook_inbox",
                    ["company_id", "provider", "received_at"])
    op.create_index("idx_webhook_inbox_status", "webhook_inbox", ["status", "received_at"])
    op.create_table(
        "webhook_registrations",
        sa.Column("company_id", sa.Uuid(), sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("provider", sa.String(50), primary_key=True),
        sa.Column("target", sa.String(128), primary_key=True),
        sa.Column("remote_id", sa.String(128)),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("registered_by", sa.String(255), nullable=False, server_default="system"),
    )
    op.create_index("idx_webhook_registrations_target", "webhook_registrations", ["provider", "target"])


def downgrade() -> None:
    op.drop_table("webhook_registrations")
    op.drop_table("webhook_inbox")

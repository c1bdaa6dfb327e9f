"""Role assignments (admin, operator, analyst) per user, for all companies or one.

Revision ID: 0005_access
Revises: 0002_remote_objects
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_access"
down_revision = "0002_remote_objects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "role_assignments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("user_email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("company_id", sa.Uuid(), sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=True),
        sa.Column("granted_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("role IN ('admin', 'operator', 'analyst')", name="ck_role_assignments_role"),
    )
    op.create_index("ix_role_assignments_user_email", "role_assignments", ["user_email"])
    op.create_index("uq_role_assignments_company", "role_assignments", ["user_email", "role", "company_id"],
                    unique=True, sqlite_where=sa.text("company_id IS NOT NULL"),
                    postgresql_where=sa.text("company_id IS NOT NULL"))
    op.create_index("uq_role_assignments_global", "role_assignments", ["user_email", "role"],
                    unique=True, sqlite_where=sa.text("company_id IS NULL"),
                    postgresql_where=sa.text("company_id IS NULL"))


def downgrade() -> None:
    op.drop_table("role_assignments")

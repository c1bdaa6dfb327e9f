"""Role assignments: who may do what, for all companies (company_id NULL) or for one company."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntPK, utcnow


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    __table_args__ = (
        # One row per (user, role, company); NULL (all companies) needs its own partial index
        # because a plain UNIQUE treats NULLs as distinct.
        Index("uq_role_assignments_company", "user_email", "role", "company_id", unique=True,
              sqlite_where=text("company_id IS NOT NULL"), postgresql_where=text("company_id IS NOT NULL")),
        Index("uq_role_assignments_global", "user_email", "role", unique=True,
              sqlite_where=text("company_id IS NULL"), postgresql_where=text("company_id IS NULL")),
    )
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_email: Mapped[str] = mapped_column(String(320), index=True)  # stored lower-case
    role: Mapped[str] = mapped_column(String(20))
    company_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), nullable=True)
    granted_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"RoleAssignment({self.user_email!r}, {self.role!r}, company={self.company_id})"

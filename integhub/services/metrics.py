"""IntegrationMetrics::record from the spec."""
from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..models import IntegrationMetric


def record_metric(session: Session, *, company_id: uuid.UUID, provider: str, action: str, success: bool,
                  duration_ms: int = 0, records_synced: int = 0, error_code: str | None = None) -> None:
    # A Core insert, not session.add: no unit of work to flush for a row nobody reads back here.
    session.execute(insert(IntegrationMetric.__table__), {
        "company_id": company_id, "provider": provider, "action": action, "success": success,
        "duration_ms": int(duration_ms), "records_synced": int(records_synced), "error_code": error_code})

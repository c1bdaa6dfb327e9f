"""The audit page's queries: filters, scope per role, pagination in SQL, CSV export."""
import csv
import io
from datetime import date, timedelta

import pytest

from integhub.errors import PermissionDenied
from integhub.models import utcnow
from integhub.services import access, audit_queries
from integhub.services.access import Grant, Identity
from integhub.services.audit import record_audit
from integhub.services.audit_queries import AuditFilter
from integhub.services.companies import create_company


def who(role, company=None):
    return Identity(email=f"{role}@example.com", source="oidc", grants=(Grant(role, company),))


@pytest.fixture
def trail(hub):
    a = create_company(hub, "Alpha", actor="seed").id
    b = create_company(hub, "Beta", actor="seed").id
    with hub.session() as s:
        record_audit(s, actor="ana@example.com", action="config.updated", company_id=a, provider="calcom",
                     details={"settings": {"team_slug": {"old": "alt", "new": "neu"}}, "key_changed": False},
                     old_fingerprint="sha256:1111", new_fingerprint="sha256:1111")
        record_audit(s, actor="ana@example.com", action="config.key_rotated", company_id=a, provider="retell",
                     details={"settings": {}, "key_changed": True},
                     old_fingerprint="sha256:aaaa", new_fingerprint="sha256:bbbb")
        record_audit(s, actor="=cmd|' /C calc'!A0", action="sync.started", company_id=b, provider="calcom",
                     details={"trigger": "manual"})
        record_audit(s, actor="root", action="keys.rotated", details={"primary_key_id": "abcd1234", "rotated": 3,
                                                                      "failed": 0})
    access.grant_role(hub, access.system_identity("root"), "op@example.com", "operator", b)
    return a, b


def test_filters_and_readable_summaries(hub, trail):
    a, b = trail
    admin = who("admin")
    everything = audit_queries.query_audit(hub, admin)
    assert everything.total == 7  # 2 companies created + 4 events + 1 role grant
    assert [r.action for r in everything.rows][:1] == ["role.granted"]  # newest first
    by_company = audit_queries.query_audit(hub, admin, AuditFilter(company_id=a, provider="calcom"))
    assert [r.action for r in by_company.rows] == ["config.updated"]
    assert by_company.rows[0].summary == "team_slug: alt → neu"
    assert by_company.rows[0].company == "Alpha"
    rotated = audit_queries.query_audit(hub, admin, AuditFilter(action="config.key_rotated")).rows[0]
    assert rotated.summary == "key sha256:aaaa → sha256:bbbb"
    assert {r.action for r in audit_queries.query_audit(hub, admin, AuditFilter(action="config.")).rows} == {
        "config.updated", "config.key_rotated"}
    assert audit_queries.query_audit(hub, admin, AuditFilter(actor="ANA@")).total == 2
    role = audit_queries.query_audit(hub, admin, AuditFilter(action="role.granted")).rows[0]
    assert role.summary == "op@example.com operator (company)"
    today = utcnow().date()
    assert audit_queries.query_audit(hub, admin, AuditFilter(since=today, until=today)).total == 7
    assert audit_queries.query_audit(hub, admin, AuditFilter(until=today - timedelta(days=1))).total == 0
    assert audit_queries.query_audit(hub, admin, AuditFilter(since=date(2999, 1, 1))).total == 0
    assert "config." in audit_queries.action_names(hub, admin)


def test_pagination_and_scope(hub, trail):
    a, b = trail
    admin = who("admin")
    first = audit_queries.query_audit(hub, admin, limit=3)
    second = audit_queries.query_audit(hub, admin, limit=3, offset=3)
    rest = audit_queries.query_audit(hub, admin, limit=3, offset=6)
    ids = [r.id for r in first.rows + second.rows + rest.rows]
    assert len(ids) == 7 and len(set(ids)) == 7 and first.total == 7
    scoped = audit_queries.query_audit(hub, who("operator", b))
    assert {r.company_id for r in scoped.rows} == {b}  # no other company, no installation-wide events
    assert scoped.total == 3
    with pytest.raises(PermissionDenied):
        audit_queries.query_audit(hub, who("analyst"))
    with pytest.raises(PermissionDenied):
        audit_queries.export_csv(hub, who("analyst"))


def test_csv_export_is_complete_and_injection_safe(hub, trail):
    text = audit_queries.export_csv(hub, who("admin"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 7
    assert set(rows[0]) == set(audit_queries.CSV_COLUMNS)
    evil = next(r for r in rows if r["action"] == "sync.started")
    assert evil["actor"].startswith("'=")  # a spreadsheet shows it as text instead of running it
    key = next(r for r in rows if r["action"] == "config.key_rotated")
    assert key["old_key_fingerprint"] == "sha256:aaaa" and key["new_key_fingerprint"] == "sha256:bbbb"

"""Staff import from CSV: a preview with one verdict per row, then the import of the good rows.

Columns (header names in German or English, any order): name, email, and optionally branch (the
branch's name in this company). Comma, semicolon (German Excel) or tab separated; UTF-8 (with or
without BOM) or Windows-1252. Each row is checked like a hand-entered staff member (services
/companies validators), plus: e-mail not twice in the file, not already a staff member of the
company, branch known. The import re-checks everything against the database at that moment and
writes all good rows in one transaction with one audit event; rows with errors are skipped.
"""
from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from ..db import Hub
from ..errors import HubError, NotFound, ValidationFailed
from ..i18n import t
from ..models import Branch, Company, Staff
from ..validation import normalize_email, normalize_name
from .audit import record_audit
from .companies import parse_uuid, remap_discovery

MAX_BYTES = 1_000_000
MAX_ROWS = 5_000
HEADER_ALIASES = {
    "name": ("name", "mitarbeiter", "mitarbeitername", "vollständiger name", "full name", "staff"),
    "email": ("email", "e-mail", "e_mail", "mail", "e-mail-adresse", "email address", "emailadresse"),
    "branch": ("branch", "filiale", "standort", "branch name", "filialname"),
}


@dataclass
class ImportRow:
    line: int  # line number in the file (the header is line 1)
    name: str
    email: str
    branch: str
    branch_id: uuid.UUID | None = None
    error_key: str | None = None
    error_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_key is None

    def error(self, lang: str | None = None) -> str | None:
        return t(self.error_key, lang, **self.error_kwargs) if self.error_key else None


@dataclass
class ImportPreview:
    rows: list[ImportRow]

    @property
    def good(self) -> list[ImportRow]:
        return [r for r in self.rows if r.ok]

    @property
    def bad(self) -> list[ImportRow]:
        return [r for r in self.rows if not r.ok]


@dataclass
class ImportResult:
    created: int
    skipped: list[ImportRow]


def preview_staff_csv(hub: Hub, company_id: object, data: bytes | str) -> ImportPreview:
    """Check every row against the company's branches and staff; nothing is written.

    Raises HubError for a file that cannot be read at all (size, encoding, missing columns).
    """
    cid = parse_uuid(company_id)
    records = _read(data)
    with hub.session() as s:
        if s.get(Company, cid) is None:
            raise NotFound("hub.company_not_found")
        branches = {name.strip().lower(): bid for bid, name in
                    s.execute(select(Branch.id, Branch.name).where(Branch.company_id == cid))}
        existing = {e for (e,) in s.execute(select(func.lower(Staff.email)).where(Staff.company_id == cid))}
    rows: list[ImportRow] = []
    first_line: dict[str, int] = {}
    for line, record in records:
        row = ImportRow(line, record.get("name", "").strip(), record.get("email", "").strip(),
                        record.get("branch", "").strip())
        rows.append(row)
        try:
            row.name = normalize_name(row.name)
            row.email = normalize_email(row.email)
        except ValidationFailed as exc:
            row.error_key, row.error_kwargs = exc.key, dict(exc.kwargs)
            continue
        email_key = row.email.lower()
        if email_key in first_line:
            row.error_key, row.error_kwargs = "ui.import.duplicate_in_file", {"line": first_line[email_key]}
            continue
        first_line[email_key] = line
        if email_key in existing:
            row.error_key = "ui.import.exists"
            continue
        if row.branch:
            row.branch_id = branches.get(row.branch.lower())
            if row.branch_id is None:
                row.error_key, row.error_kwargs = "ui.import.unknown_branch", {"branch": row.branch[:80]}
    return ImportPreview(rows)


def import_staff_csv(hub: Hub, company_id: object, data: bytes | str, *, actor: str = "system") -> ImportResult:
    """Import the rows that pass the preview's checks, in one transaction with one audit event."""
    cid = parse_uuid(company_id)
    preview = preview_staff_csv(hub, cid, data)
    good = preview.good
    if good:
        with hub.session() as s:
            for row in good:
                s.add(Staff(company_id=cid, branch_id=row.branch_id, name=row.name, email=row.email, is_active=True))
            record_audit(s, actor=actor, action="staff.imported", company_id=cid,
                         details={"created": len(good), "skipped": len(preview.bad),
                                  "lines": [r.line for r in good][:200]})
            remap_discovery(s, cid)
    return ImportResult(len(good), preview.bad)


def _read(data: bytes | str) -> list[tuple[int, dict[str, str]]]:
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_BYTES:
        raise HubError("ui.import.too_large", max_kb=MAX_BYTES // 1000)
    text = _decode(raw)
    if not text.strip():
        raise HubError("ui.import.empty")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample.splitlines()[0] if sample else sample, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise HubError("ui.import.empty") from None
    columns = _columns(header)
    missing = [c for c in ("name", "email") if c not in columns]
    if missing:
        raise HubError("ui.import.missing_columns", columns=", ".join(missing))
    records: list[tuple[int, dict[str, str]]] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(records) >= MAX_ROWS:
                raise HubError("ui.import.too_many_rows", max=MAX_ROWS)
            records.append((reader.line_num, {name: (row[i] if i < len(row) else "") for name, i in columns.items()}))
    except csv.Error:
        raise HubError("ui.import.unreadable", line=reader.line_num) from None
    return records


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise HubError("ui.import.encoding")


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        norm = title.strip().lstrip("\ufeff").lower()
        for name, aliases in HEADER_ALIASES.items():
            if norm in aliases and name not in found:
                found[name] = index
    return found

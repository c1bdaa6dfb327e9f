"""Settings read from the environment (see README, "Environment")."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("INTEGHUB_DATA_DIR", PROJECT_ROOT / "data"))


@dataclass(frozen=True)
class Settings:
    database_url: str
    encryption_keys: str | None = field(repr=False)  # never in reprs or tracebacks
    key_file: Path
    calcom_base_url: str
    retell_base_url: str
    public_url: str
    lang: str


def get_settings() -> Settings:
    data_dir = Path(os.environ.get("INTEGHUB_DATA_DIR", DATA_DIR))
    return Settings(
        database_url=os.environ.get("INTEGHUB_DATABASE_URL") or f"sqlite:///{data_dir / 'integhub.sqlite'}",
        encryption_keys=os.environ.get("INTEGHUB_ENCRYPTION_KEYS") or None,
        key_file=Path(os.environ.get("INTEGHUB_KEY_FILE", data_dir / "encryption.key")),
        calcom_base_url=os.environ.get("INTEGHUB_CALCOM_BASE_URL", "https://api.cal.com").rstrip("/"),
        retell_base_url=os.environ.get("INTEGHUB_RETELL_BASE_URL", "https://api.retellai.com").rstrip("/"),
        public_url=os.environ.get("INTEGHUB_PUBLIC_URL", "http://localhost:8501").rstrip("/"),
        lang=os.environ.get("INTEGHUB_LANG", "de"),
    )

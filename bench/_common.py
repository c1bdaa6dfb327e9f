"""Helpers shared by the benchmark scripts: the RESULT line and a throwaway hub."""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def result(name: str, value: float, floor: float, goal: float, *, higher_is_better: bool = False) -> str:
    ratio = value / floor if floor else float("inf")
    op = ">=" if higher_is_better else "<="
    line = f"RESULT {name} value={value:.4g} floor={floor:.4g} ratio={ratio:.3f} goal={op}{goal:g}"
    print(line, flush=True)
    return line


def median(values: list[float]) -> float:
    return statistics.median(values)


def temp_hub(url: str | None = None):
    """A migrated hub on a temporary SQLite file (or the given URL) with a fresh key ring."""
    from integhub import migrate
    from integhub.crypto import generate_key
    from integhub.db import Hub

    tmp = tempfile.mkdtemp(prefix="integhub-bench-")
    os.environ.setdefault("INTEGHUB_DATABASE_URL", url or f"sqlite:///{tmp}/bench.sqlite")
    os.environ.setdefault("INTEGHUB_ENCRYPTION_KEYS", generate_key())
    os.environ["INTEGHUB_DATA_DIR"] = tmp
    hub = Hub.from_env(check_keys=False)
    migrate.upgrade(hub.engine)
    hub.verify_key_ring()
    return hub

"""Helpers shared by the benchmark scripts: the RESULT line and a throwaway hub."""
from __future__ import annotations

import atexit
import os
import shutil
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


def machine_speed() -> str:
    """CPU time of a fixed pure-Python loop (median of three). On the 2-core CI machine kind it is
    ~0.5 s when the machine is rested and up to ~0.9 s under sustained load (the VM gets slower), so
    printing it next to a figure tells which machine the figure came from."""
    import time

    samples = []
    for _ in range(3):
        started = time.process_time()
        sum(i * i for i in range(10**7))
        samples.append(time.process_time() - started)
    return f"machine speed: fixed loop {statistics.median(samples):.2f} s CPU (~0.5 s rested, up to ~0.9 s loaded)"


def median(values: list[float]) -> float:
    return statistics.median(values)


def temp_hub(url: str | None = None):
    """A migrated hub on a temporary SQLite file (or the given URL) with a fresh key ring."""
    from integhub import migrate
    from integhub.crypto import generate_key
    from integhub.db import Hub

    tmp = tempfile.mkdtemp(prefix="integhub-bench-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # the benchmark's process owns it
    os.environ.setdefault("INTEGHUB_DATABASE_URL", url or f"sqlite:///{tmp}/bench.sqlite")
    os.environ.setdefault("INTEGHUB_ENCRYPTION_KEYS", generate_key())
    os.environ["INTEGHUB_DATA_DIR"] = tmp
    hub = Hub.from_env(check_keys=False)
    migrate.upgrade(hub.engine)
    hub.verify_key_ring()
    return hub


PG_URL = os.environ.get("INTEGHUB_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def scratch_database(label: str, *, postgres: bool = True):
    """A new empty database and a function that drops it: on the PostgreSQL server of
    INTEGHUB_BENCH_POSTGRES_URL (default the local test server), or a temporary SQLite file."""
    import shutil

    if not postgres:
        folder = Path(tempfile.mkdtemp(prefix="integhub-bench-"))
        return f"sqlite:///{folder / f'{label}.sqlite'}", lambda: shutil.rmtree(folder, ignore_errors=True)
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"integhub_bench_{label}_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False), drop

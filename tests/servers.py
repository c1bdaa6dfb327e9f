"""Running a real server process for a test: start it, wait until it answers, stop its whole group."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _ready(url: str, ready_path: str) -> bool:
    response = httpx.get(url + ready_path, timeout=2)
    if ready_path == "/_stcore/health":
        return response.text == "ok"
    return response.status_code in (200, 503)  # /api/health answers 503 until migrated: it is up


@contextlib.contextmanager
def served(env: dict[str, str], command: list[str], port: int, log_path: Path, *,
           ready_path: str = "/api/health", host: str = "127.0.0.1", startup_timeout: float = 90.0):
    """Run `command` (e.g. `python -m integhub serve`) until `ready_path` answers; yields its base URL.
    The process gets its own session, so SIGTERM reaches the streamlit child that `serve` starts."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://{host}:{port}"
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if _ready(url, ready_path):
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
                time.sleep(0.2)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

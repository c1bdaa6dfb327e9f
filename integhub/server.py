"""`python -m integhub serve`: start server.py (UI + routes) under Streamlit's own server."""
from __future__ import annotations

import os
import subprocess
import sys

from .config import PROJECT_ROOT


def serve_command(port: int, *, headless: bool = True) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "server.py"),
            "--server.port", str(port), "--server.headless", str(headless).lower(),
            "--browser.gatherUsageStats", "false"]


def serve(port: int = 8501) -> int:
    print(f"Integration Hub on http://localhost:{port}", file=sys.stderr, flush=True)
    try:
        return subprocess.call(serve_command(port), cwd=PROJECT_ROOT, env=os.environ.copy())
    except KeyboardInterrupt:
        return 0

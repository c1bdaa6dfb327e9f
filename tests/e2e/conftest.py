"""Real-browser tests: Debian's Chromium through Playwright, against the hub served as `make run` serves it.

One hub per test session: `python -m integhub serve --port <free>` in its own process group, with a
migrated temporary SQLite database, a 2 s status refresh, and both providers pointed at a
SimulatorServer running in this test process (so tests can revoke keys and inject faults).

Without Chromium the tests skip with the reason; with INTEGHUB_REQUIRE_BROWSER=1 (CI) they fail.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from integhub.crypto import generate_key
from tests.servers import free_port, served

ROOT = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
REFRESH_SECONDS = 2


def chromium_path() -> str | None:
    return shutil.which("chromium")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    ours = [item for item in items if Path(str(item.fspath)).is_relative_to(here)]
    for item in ours:
        item.add_marker(pytest.mark.browser)
    if chromium_path() is None and os.environ.get("INTEGHUB_REQUIRE_BROWSER") != "1":
        skip = pytest.mark.skip(reason="Chromium is not installed (apt-get install chromium); "
                                       "CI sets INTEGHUB_REQUIRE_BROWSER=1 and runs these tests")
        for item in ours:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def e2e_simulator():
    from integhub.simulator.server import SimulatorServer

    with SimulatorServer() as sim:
        yield sim


@contextmanager
def served_hub(data: Path, **overrides: str):
    """`python -m integhub serve` on a free port with a migrated SQLite database in `data`."""
    env = {
        **os.environ,
        "INTEGHUB_DATABASE_URL": f"sqlite:///{data / 'hub.sqlite'}",
        "INTEGHUB_ENCRYPTION_KEYS": generate_key(),
        "INTEGHUB_DATA_DIR": str(data),
        "INTEGHUB_STATUS_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "INTEGHUB_LANG": "de",
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }
    port = free_port()
    env["INTEGHUB_PUBLIC_URL"] = f"http://localhost:{port}"
    subprocess.run([sys.executable, "-m", "integhub", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    command = [sys.executable, "-m", "integhub", "serve", "--port", str(port)]
    with served(env, command, port, data / "serve.log", ready_path="/_stcore/health", host="localhost") as base:
        yield base, env


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory, e2e_simulator):
    """The hub as `make run` serves it, providers on the test's simulator; yields (base_url, env)."""
    with served_hub(tmp_path_factory.mktemp("e2e-hub"), INTEGHUB_CALCOM_BASE_URL=e2e_simulator.url,
                    INTEGHUB_RETELL_BASE_URL=e2e_simulator.url) as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    if chromium_path() is None:  # only reached when INTEGHUB_REQUIRE_BROWSER=1 (otherwise skipped)
        pytest.fail("INTEGHUB_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Traffic:
    """Every websocket frame of a page, both directions, as bytes."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.sent: list[bytes] = []

    def attach(self, page) -> None:
        def on_socket(ws):
            ws.on("framereceived", lambda payload: self.received.append(_as_bytes(payload)))
            ws.on("framesent", lambda payload: self.sent.append(_as_bytes(payload)))

        page.on("websocket", on_socket)

    def contains(self, needle: str, *, sent: bool = True) -> bool:
        data = needle.encode()
        return any(data in f for f in self.received) or (sent and any(data in f for f in self.sent))


def _as_bytes(payload) -> bytes:
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, dict):  # older Playwright: {"payload": ...}
        payload = payload.get("payload", b"")
    return payload.encode("utf-8", "replace") if isinstance(payload, str) else bytes(payload)


@pytest.fixture
def page(browser, hub_server):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="de-DE")
    page = context.new_page()
    page.traffic = Traffic()
    page.traffic.attach(page)
    page.set_default_timeout(30_000)
    yield page
    context.close()


# --- helpers -----------------------------------------------------------------------------------------
def wait_for_app(page) -> None:
    """Streamlit's own readiness checks: connected, script finished, no skeletons."""
    from playwright.sync_api import expect

    page.wait_for_timeout(210)  # debounced widgets
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached")
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)


def open_url(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("[data-testid='stAppViewContainer']", state="attached")
    wait_for_app(page)


def screenshot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main area, so the viewport grows to fit it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                           "'[data-testid=stMain], [data-testid=stMainBlockContainer]')].map(e => e.scrollHeight), 0)")
    page.set_viewport_size({"width": size["width"], "height": min(max(size["height"], int(height) + 40), 4000)})
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def keyed(key: str) -> str:
    """CSS selector of the element Streamlit marks with `st-key-<key>` (it writes dots as dashes)."""
    return f'[class~="st-key-{key.replace(".", "-")}"]'


@pytest.fixture
def hub(hub_server, monkeypatch):
    """A Hub on the served database, for arranging data and checking what was stored."""
    from integhub.db import Hub

    _, env = hub_server
    for name in ("INTEGHUB_DATABASE_URL", "INTEGHUB_ENCRYPTION_KEYS", "INTEGHUB_DATA_DIR",
                 "INTEGHUB_CALCOM_BASE_URL", "INTEGHUB_RETELL_BASE_URL", "INTEGHUB_PUBLIC_URL"):
        monkeypatch.setenv(name, env[name])
    h = Hub.from_env()
    yield h
    h.engine.dispose()

"""Running the simulator: in a background thread for tests, or in the foreground for demos.

    with SimulatorServer() as sim:          # 127.0.0.1, a free port
        client = CalcomClient("cal_test_x", base_url=sim.url)
        sim.fault(provider="calcom", kind="status", status=503, count=2)
        ...

`python -m integhub simulator --port 8765` calls `run(8765)`.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from .app import account_facts, create_app
from .data import SimulatorState
from .faults import Fault


class SimulatorServer:
    """uvicorn in a daemon thread, bound before start so `.url` is known at once."""

    def __init__(self, state: SimulatorState | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state or SimulatorState()
        self.host = host
        self._requested_port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("simulator not started")
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SimulatorServer:
        self.state.stopping.clear()
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
        # says TCP; without it every answer waits ~40 ms for the client's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(2048)  # benchmarks open many connections at once
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.state), log_level="warning", access_log=False, lifespan="off",
            timeout_graceful_shutdown=1, timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"simulator:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.state.stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SimulatorServer(url={self.url if self.port else None!r})"

    # --- helpers for tests (same effect as the /_sim/ control API) ----------------------------------
    def fault(self, **spec: Any) -> int:
        """Add a fault, e.g. fault(provider="retell", kind="hang", hang_seconds=2, count=1)."""
        return self.state.faults.add(Fault.from_spec(spec))

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def revoke(self, api_key: str) -> None:
        self.state.revoke(api_key)

    def configure(self, api_key: str, **counts: int) -> dict[str, Any]:
        """Set an account's sizes (bookings=20000, calls=..., members=...); returns its facts."""
        return account_facts(self.state.configure(api_key, counts))

    def facts(self, api_key: str) -> dict[str, Any]:
        return account_facts(self.state.account(api_key))

    def requests(self, provider: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        return self.state.request_log(provider=provider, since=since)

    @property
    def request_count(self) -> int:
        return self.state.request_count

    def webhooks(self) -> dict[str, list[dict[str, Any]]]:
        return self.state.webhooks()

    def reset(self) -> None:
        self.state.reset()


def run(port: int, host: str = "127.0.0.1") -> None:
    """Serve in the foreground until Ctrl-C (python -m integhub simulator --port N)."""
    url = f"http://{host}:{port}"
    print(f"Provider simulator on {url}  (Cal.com and Retell.ai on one host)")
    print(f"  export INTEGHUB_CALCOM_BASE_URL={url}")
    print(f"  export INTEGHUB_RETELL_BASE_URL={url}")
    print("  Cal.com keys start with cal_; keys containing 'invalid' are rejected. Control API: /_sim/", flush=True)
    # No access log: /_sim/requests has the same, and uvicorn's access formatter needs the record
    # args that a redacting log filter may have dropped.
    uvicorn.run(create_app(SimulatorState()), host=host, port=port, log_level="info", access_log=False,
                timeout_graceful_shutdown=1)


def main(port: int = 8765) -> None:
    run(port)

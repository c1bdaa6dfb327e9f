"""Status refresh of one company (both providers checked concurrently) against the simulator.

1. Both providers answer after 300 ms: the refresh should take at most 1.2 × 300 ms (floor: one
   provider round trip, since the two checks run in parallel).
2. Retell hangs: the refresh returns within the status timeout + 10 % and still reports Cal.com.

    python bench/status.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import time

from _common import median, result, temp_hub


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 5 if args.quick else 30
    timeout = 2.0 if args.quick else 5.0
    latency_ms = 300

    from integhub.services.companies import create_company
    from integhub.services.configs import save_config
    from integhub.services.status import company_status
    from integhub.simulator.server import SimulatorServer

    with SimulatorServer() as sim:
        os.environ["INTEGHUB_CALCOM_BASE_URL"] = sim.url
        os.environ["INTEGHUB_RETELL_BASE_URL"] = sim.url
        hub = temp_hub()
        company = create_company(hub, "Bench GmbH")
        assert save_config(hub, company.id, "calcom", api_key="cal_" + "ab" * 16, trigger_sync=False).ok
        assert save_config(hub, company.id, "retell", api_key="key_bench_0123456789", trigger_sync=False).ok
        company_status(hub, company.id, use_cache=False)  # warm imports and pools

        sim.fault(provider="*", kind="latency", latency_ms=latency_ms)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            doc = company_status(hub, company.id, use_cache=False, timeout=timeout)
            times.append(time.perf_counter() - t0)
            assert {p["state"] for p in doc["providers"].values()} == {"connected"}, doc
        med = median(times)
        print(f"both providers at {latency_ms} ms: median {med * 1000:.0f} ms over {rounds} refreshes "
              f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")

        sim.clear_faults()
        sim.fault(provider="retell", kind="hang", hang_seconds=timeout * 3)
        hang_times = []
        for _ in range(max(2, rounds // 5)):
            t0 = time.perf_counter()
            doc = company_status(hub, company.id, use_cache=False, timeout=timeout)
            hang_times.append(time.perf_counter() - t0)
            assert doc["providers"]["retell"]["state"] == "unreachable", doc["providers"]["retell"]
            assert doc["providers"]["calcom"]["state"] == "connected"
        worst = max(hang_times)
        print(f"retell hanging, timeout {timeout:.1f} s: worst {worst:.2f} s, calcom still reported connected")
        sim.clear_faults()

    result("status_refresh_both_300ms_s", med, latency_ms / 1000, 1.2)
    result("status_refresh_one_hanging_s", worst, timeout, 1.1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Every benchmark of the project, each side by side with its baseline in the same run.

    .venv/bin/python -m tests.perf.run [--quick]

Starts its own moto server and (through the fan-out benchmark) its own redis-server and app
replicas, on loopback. Prints each benchmark's figures as it goes and, as the last line, one
JSON object with every figure (keys listed in README.md, "Performance").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

from tests.perf import domain, overhead
from tests.perf.harness import ROOT
from tests.support.moto_server import MotoServer


def fanout(subscribers: int, events: int, gap: float, *extra: str) -> dict[str, Any]:
    """tests/perf/fanout.py in a subprocess (it runs its own replicas, Redis and clients)."""
    cmd = [
        sys.executable,
        "-m",
        "tests.perf.fanout",
        "--subscribers",
        str(subscribers),
        "--events",
        str(events),
        "--gap",
        str(gap),
        "--json",
        *extra,
    ]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    sys.stderr.write(out.stdout[-3000:])
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        sys.stderr.write(out.stderr[-3000:])
        return {"error": f"fanout with {subscribers} subscribers failed ({out.returncode})"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


async def main(quick: bool) -> dict[str, Any]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    results: dict[str, Any] = {"quick": quick}
    moto = MotoServer().start()
    try:
        for name, bench in (("overhead", overhead.run), ("domain", domain.run)):
            started = time.perf_counter()
            figures = await bench(moto, quick)
            print(f"{name} ({time.perf_counter() - started:.0f}s): {figures}", flush=True)
            results.update(figures)
    finally:
        moto.stop()

    f1000 = await asyncio.to_thread(fanout, 1000, 30 if quick else 100, 0.2)
    print(f"fanout 1000: {f1000}", flush=True)
    results["fanout_p50_ms_1000"] = f1000.get("p50_ms")
    results["fanout_p99_ms_1000"] = f1000.get("p99_ms")
    results["fanout_lost"] = f1000.get("lost")
    results["fanout_duplicated"] = f1000.get("duplicated")
    results["redis_subscriptions_per_replica"] = f1000.get("redis_numsub_per_replica")
    results["deliveries_per_core_s_1000_both_replicas"] = f1000.get("deliveries_per_core_s")
    # Saturation: 5,000 subscriptions on one replica, commits back to back on the other.
    sat = await asyncio.to_thread(fanout, 5000, 20 if quick else 60, 0.0, "--saturate")
    print(f"fanout 5000 saturated on one replica: {sat}", flush=True)
    results["deliveries_per_core_s"] = sat.get("deliveries_per_core_s")
    results["fanout_lost"] = (results["fanout_lost"] or 0) + (sat.get("lost") or 0)
    results["mem_per_subscription_kib"] = sat.get("mem_per_subscription_kib")
    results["mem_measured_at_subscriptions"] = 5000
    if not quick:
        f5000 = await asyncio.to_thread(fanout, 5000, 60, 0.5)
        print(f"fanout 5000: {f5000}", flush=True)
        results["fanout_p99_ms_5000"] = f5000.get("p99_ms")
        results["fanout_p50_ms_5000"] = f5000.get("p50_ms")
        results["fanout_lost"] = (results["fanout_lost"] or 0) + (f5000.get("lost") or 0)
        idle = await asyncio.to_thread(fanout, 10_000, 3, 0.5)
        print(f"fanout 10000 (memory): {idle}", flush=True)
        results["mem_per_subscription_kib"] = idle.get("mem_per_subscription_kib")
        results["mem_measured_at_subscriptions"] = 10_000
        results["fanout_lost"] = (results["fanout_lost"] or 0) + (idle.get("lost") or 0)
    return results


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="finish within 10 minutes")
    args = parser.parse_args()
    results = asyncio.run(main(args.quick))
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    cli()

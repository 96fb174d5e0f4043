"""Soak: N consecutive runs through one WebSocket; failures and leaks (sandboxes, the service's
open files, threads and memory) measured before and after.  Baseline: the first 50 runs' speed."""
from __future__ import annotations

import argparse
import asyncio
import os
import time

from bench.stats import percentile, table
from testkit.client import connect, run_program
from testkit.service import Service


def process_footprint(pid: int) -> dict:
    with open(f"/proc/{pid}/status") as file:
        status = dict(line.split(":", 1) for line in file.read().splitlines() if ":" in line)
    return {"fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": int(status["Threads"]),
            "rss_mib": int(status["VmRSS"].split()[0]) / 1024}


async def soak(runs: int) -> None:
    service = Service({"PYPLAY_POOL_PYTHON": "3"}).start()
    failures, times = 0, []
    try:
        ws = await connect(service.url)
        await run_program(ws, "print('warm-up')")
        before = process_footprint(service.process.pid)
        began = time.monotonic()
        for index in range(runs):
            try:
                result = await run_program(ws, f"print({index})", timeout=60)
                ok = result.text.strip() == str(index) and result.exit["code"] == 0
            except Exception as error:  # noqa: BLE001 - a failure is a number in the table
                ok, result = False, None
                print(f"run {index} failed: {error!r}", flush=True)
            if result is not None and not ok:
                print(f"run {index} wrong: {result.text!r} {result.exit}", flush=True)
            failures += not ok
            if result is not None:
                times.append(result.first_output_seconds or 0.0)
        elapsed = time.monotonic() - began
        await ws.close()
        await asyncio.sleep(10)  # let the last teardowns and the pool refill settle
        after = process_footprint(service.process.pid)
        live = service.metrics().get("pyplay_sandboxes_live", -1)
    finally:
        service.stop()
        leftovers = service.runsc_ids()
        service.cleanup()
    first, rest = times[:50], times[50:] or times
    rows = [["runs", runs], ["failures", failures], ["runs per second", f"{runs / elapsed:.1f}"],
            ["TTFO median ms, first 50 (baseline)", f"{sorted(first)[len(first) // 2] * 1000:.0f}"],
            ["TTFO median ms, the rest", f"{sorted(rest)[len(rest) // 2] * 1000:.0f}"],
            ["TTFO p95 ms, the rest", f"{percentile(rest, 0.95) * 1000:.0f}"],
            ["service fds before -> after", f"{before['fds']} -> {after['fds']}"],
            ["service threads before -> after", f"{before['threads']} -> {after['threads']}"],
            ["service RSS MiB before -> after", f"{before['rss_mib']:.0f} -> {after['rss_mib']:.0f}"],
            ["sandboxes live at the end (pool only)", int(live)],
            ["runsc sandboxes left after shutdown", len(leftovers)]]
    print(table(f"soak: {runs} consecutive runs through one WebSocket", rows, ["measure", "value"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(soak(args.runs))


if __name__ == "__main__":
    main()

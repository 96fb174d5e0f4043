"""Time from the `run` message to the first output byte at a WebSocket client, for print("hi").

Measured in the same run: a new session whose sandbox comes from the warm pool, a new
session with no pool (a cold gVisor sandbox), the same session running again (its sandbox
reset in place), and native `python3.10 -c` (the baseline).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from typing import List

from bench.stats import summary_row, table
from testkit.client import connect, run_program
from testkit.service import Service
from testkit.waiting import until

PROGRAM = 'print("hi")'


def python310() -> str:
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "sandbox", "python")
    candidate = os.path.join(root, "bin", "python3.10")
    return candidate if os.path.exists(candidate) else (shutil.which("python3.10") or "python3.10")


def native_first_output(runs: int) -> List[float]:
    times = []
    for _ in range(runs):
        began = time.monotonic()
        process = subprocess.Popen([python310(), "-c", PROGRAM], stdout=subprocess.PIPE)
        process.stdout.read(1)
        times.append(time.monotonic() - began)
        process.communicate()
    return times


async def service_first_output(pool: int, runs: int, pause: float, new_session: bool) -> List[float]:
    """``new_session``: each run on a socket of its own (so on a sandbox of its own);
    else every run on one socket, whose sandbox is reset between runs."""
    service = Service({"PYPLAY_POOL_PYTHON": str(pool)}).start()
    try:
        ws = await connect(service.url)
        times = []
        for _ in range(runs):
            if pool:  # measure a warm start, not a drained pool
                await until(service.pool_ready, 120, "the warm pool to refill")
            result = await run_program(ws, PROGRAM)
            assert result.text.strip() == "hi", result.text
            times.append(result.first_output_seconds)
            if new_session:
                await ws.close()
                ws = await connect(service.url)
            await asyncio.sleep(pause)
        await ws.close()
        return times
    finally:
        service.stop()
        service.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    native = native_first_output(args.runs)
    warm = asyncio.run(service_first_output(2, args.runs, 0.0, new_session=True))
    cold = asyncio.run(service_first_output(0, args.runs, 0.0, new_session=True))
    again = asyncio.run(service_first_output(0, args.runs, 0.5, new_session=False))
    baseline = sorted(native)[len(native) // 2]
    rows = [summary_row("native python3.10 -c (baseline)", native, baseline),
            summary_row("new session, warm-pool gVisor sandbox", warm, baseline),
            summary_row("new session, cold gVisor sandbox", cold, baseline),
            summary_row("same session again, sandbox reset in place", again, baseline)]
    print(table(f"run -> first output byte, print(\"hi\"), {os.cpu_count()} cores",
                rows, ["path", "runs", "median ms", "p95 ms", "vs native"]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

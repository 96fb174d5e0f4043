"""A calm run beside a hostile one: time to first output of print("hi") while another session
runs a CPU spin, a fork bomb, a memory balloon or an output flood, against the same runs idle."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics

from bench.stats import percentile, table
from testkit.client import connect, next_json, run_program
from testkit.service import Service

HOSTILE = {
    "idle (baseline)": None,
    "CPU spin": "while True:\n    pass",
    "fork bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    "memory balloon": "x = []\nwhile True:\n    x.append(bytearray(1_000_000))",
    "output flood": "while True:\n    print('flood ' * 20)",
}


async def calm_times(url: str, runs: int) -> list:
    ws = await connect(url)
    times = []
    for _ in range(runs):
        result = await run_program(ws, 'print("hi")', timeout=60)
        times.append(result.first_output_seconds)
        await asyncio.sleep(0.7)  # let the pool refill: measure the neighbour, not a drained pool
    await ws.close()
    return times


async def main_async(runs: int) -> None:
    service = Service({"PYPLAY_POOL_PYTHON": "2", "PYPLAY_LIMIT_WALL_SECONDS": "600",
                       "PYPLAY_LIMIT_MEMORY_BYTES": str(400 * 2 ** 20)}).start()
    rows, baseline = [], None
    try:
        for name, program in HOSTILE.items():
            hostile = None
            if program:
                hostile = await connect(service.url)
                await hostile.send(json.dumps({"type": "run", "mode": "python",
                                               "files": [{"path": "main.py", "text": program}]}))
                await next_json(hostile)
                await asyncio.sleep(1.0)
            times = await calm_times(service.url, runs)
            if hostile is not None:
                await hostile.send(json.dumps({"type": "stop"}))
                await hostile.close()
            median = statistics.median(times)
            baseline = baseline or median
            rows.append([name, runs, f"{median * 1000:.0f}", f"{percentile(times, 0.95) * 1000:.0f}",
                         f"{median / baseline:.2f}x"])
            await asyncio.sleep(2)
    finally:
        service.stop()
        service.cleanup()
    print(table(f"calm print('hi') beside one hostile run, {os.cpu_count()} cores", rows,
                ["neighbour", "runs", "TTFO median ms", "p95 ms", "vs idle"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(main_async(args.runs))


if __name__ == "__main__":
    main()

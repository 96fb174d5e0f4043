"""Load on this machine: many students waiting in input(), and a calm run's time to first output.

Opens N sessions whose programs wait in input() (N = 0, 25, 50, 100 by default), then times
print("hi") runs beside them.  Reports memory per idle sandbox, time to first output (median,
p95), failures, and where it saturates.  The baseline is the same measurement with N = 0.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import List, Tuple

from bench.stats import percentile, table
from testkit.client import connect, next_json, run_program
from testkit.service import Service

WAITING = "name = input('name? ')\nprint('hi', name)"
ANIMATING = ("import pygame\npygame.init()\nscreen = pygame.display.set_mode((320, 240))\nclock = pygame.time.Clock()\n"
             "frame = 0\nwhile True:\n    pygame.event.pump()\n    frame += 1\n"
             "    screen.fill((frame % 256, 80, 160))\n    pygame.display.flip()\n    clock.tick(30)\n")


def mem_available() -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


async def open_waiting(url: str, count: int, program: str = WAITING, mode: str = "python") -> Tuple[list, int]:
    sockets, failures = [], 0
    async def one():
        nonlocal failures
        ws = await connect(url)
        await ws.send(json.dumps({"type": "run", "mode": mode, "files": [{"path": "main.py", "text": program}]}))
        event = await next_json(ws, timeout=180)
        if event.get("type") != "started":
            failures += 1
            print("open failed:", event, flush=True)
        sockets.append(ws)
    await asyncio.gather(*(one() for _ in range(count)))
    return sockets, failures


async def calm_runs(url: str, runs: int) -> Tuple[List[float], int]:
    ws = await connect(url)
    times, failures = [], 0
    for _ in range(runs):
        try:
            result = await run_program(ws, 'print("hi")', timeout=60)
            if result.text.strip() != "hi":
                failures += 1
            times.append(result.first_output_seconds)
            await asyncio.sleep(1.0)  # one student a second presses Run: the pool keeps up
        except Exception:  # noqa: BLE001 - a failure is a number in the table
            failures += 1
    await ws.close()
    return times, failures


async def level(service: Service, count: int, runs: int) -> List[object]:
    before = mem_available()
    began = time.monotonic()
    sockets, open_failures = await open_waiting(service.url, count)
    opened = time.monotonic() - began
    await asyncio.sleep(2)
    per_sandbox = (before - mem_available()) / count / 2 ** 20 if count else 0.0
    times, run_failures = await calm_runs(service.url, runs)
    for ws in sockets:
        await ws.close()
    await asyncio.sleep(3)
    median = sorted(times)[len(times) // 2] if times else float("nan")
    return [count, f"{opened:.1f}", f"{per_sandbox:.0f}", f"{median * 1000:.0f}",
            f"{percentile(times, 0.95) * 1000:.0f}" if times else "-", open_failures + run_failures]


async def main_async(levels: List[int], runs: int, games: int) -> None:
    # Room for one level's sandboxes still being torn down while the next level opens.
    service = Service({"PYPLAY_MAX_SANDBOXES": str(2 * max(levels) + games + 20), "PYPLAY_MAX_RUNS_PER_CLIENT": "1000",
                       "PYPLAY_RESUME_GRACE_SECONDS": "1", "PYPLAY_ACQUIRE_SECONDS": "180"}).start()
    try:
        animating, game_failures = await open_waiting(service.url, games, ANIMATING, "pygame")
        rows = [await level(service, count, runs) for count in levels]
        rows = [row[:-1] + [row[-1] + game_failures] for row in rows]
        for ws in animating:
            await ws.close()
    finally:
        service.stop()
        leftovers = service.runsc_ids()
        service.cleanup()
    print(table(f"{runs} calm print('hi') runs beside N sessions waiting in input() and {games} animating "
                f"pygame sessions, {os.cpu_count()} cores "
                f"(baseline: N=0); sandboxes left after: {len(leftovers)}",
                rows, ["N waiting", "open s", "MiB/idle sandbox", "TTFO median ms", "TTFO p95 ms", "failures"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="0,25,50,100")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--games", type=int, default=10, help="animating pygame sessions alongside")
    args = parser.parse_args()
    asyncio.run(main_async([int(n) for n in args.levels.split(",")], args.runs, args.games))


if __name__ == "__main__":
    main()

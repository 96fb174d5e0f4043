"""Time from the `run` message to the first frame of a pygame window at an RFB client.

Warm-pool and cold gVisor sandboxes through the service and the display WebSocket, against
the same program started natively (host Python 3.10 on a host Xvnc, no sandbox) as baseline.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
from typing import List

from bench.bench_first_output import python310
from bench.native_display import native_xvnc
from bench.stats import summary_row, table
from testkit.client import connect, next_json
from testkit.rfb import RFBClient
from testkit.service import Service
from testkit.waiting import until

COLOUR = (30, 144, 255)
PROGRAM = ("import pygame, time\npygame.init()\nscreen = pygame.display.set_mode((320, 240))\n"
           f"screen.fill({COLOUR})\npygame.display.flip()\ntime.sleep(30)\n")
# The same program starting only pygame's display: no sound device at all, so the baseline for
# what having sound costs a program's first frame (the device is opened ahead: nothing, we expect).
DISPLAY_ONLY_PROGRAM = PROGRAM.replace("pygame.init()", "pygame.display.init()")


def _first_frame(client: RFBClient) -> bool:
    """The window's pixels are on screen (natively there is no watcher to shrink the desktop)."""
    return client.width >= 320 and client.height >= 240 and \
        client.count_colour(COLOUR, 0, (0, 0, 320, 240)) == 320 * 240


async def service_first_frame(pool: int, runs: int, program: str = PROGRAM) -> List[float]:
    service = Service({"PYPLAY_POOL_PYTHON": "0", "PYPLAY_POOL_TURTLE": "0", "PYPLAY_POOL_PYGAME": str(pool)}).start()
    times = []
    try:
        for _ in range(runs):
            if pool:  # measure a warm start, not a drained pool
                await until(lambda: service.pool_ready("pygame"), 120, "the pygame pool to refill")
            ws = await connect(service.url)
            began = time.monotonic()
            await ws.send(json.dumps({"type": "run", "mode": "pygame",
                                      "files": [{"path": "main.py", "text": program}]}))
            started = await next_json(ws, timeout=60)
            client = await RFBClient.open_websocket(f"ws://127.0.0.1:{service.port}{started['display']['url']}")
            await client.wait_for(_first_frame, 60, "the first frame")
            times.append(time.monotonic() - began)
            await client.close()
            await ws.send(json.dumps({"type": "stop"}))
            await next_json(ws, timeout=30)
            await ws.close()
    finally:
        service.stop()
        service.cleanup()
    return times


async def native_first_frame(runs: int) -> List[float]:
    times = []
    with native_xvnc(1280, 960) as (socket_path, env):
        for _ in range(runs):
            client = await RFBClient.open_unix(socket_path)
            began = time.monotonic()
            process = subprocess.Popen([python310(), "-c", PROGRAM], env=env, stdout=subprocess.DEVNULL)
            await client.wait_for(_first_frame, 60, "the first frame")
            times.append(time.monotonic() - began)
            process.kill()
            process.wait()
            await client.close()
            await asyncio.sleep(0.3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    native = asyncio.run(native_first_frame(args.runs))
    warm = asyncio.run(service_first_frame(1, args.runs))
    display_only = asyncio.run(service_first_frame(1, args.runs, DISPLAY_ONLY_PROGRAM))
    cold = asyncio.run(service_first_frame(0, args.runs))
    baseline = sorted(native)[len(native) // 2]
    print(table(f"run -> first pygame frame at an RFB client (320x240 fill), {os.cpu_count()} cores",
                [summary_row("native python3.10 + host Xvnc (baseline)", native, baseline),
                 summary_row("warm-pool gVisor sandbox, via display WebSocket", warm, baseline),
                 summary_row("  the same with pygame.display.init() only (no sound device)", display_only, baseline),
                 summary_row("cold gVisor sandbox, via display WebSocket", cold, baseline)],
                ["path", "runs", "median ms", "p95 ms", "vs native"]))


if __name__ == "__main__":
    main()

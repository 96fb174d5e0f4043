"""Display sockets opened at random moments within 500 ms of `started`: how many are
dropped (the display starts at one size and takes the window's a moment later), and how
long from `started` until the viewer sees the program's own pixels.  pygame and turtle
runs alternate, each mode re-run in its own session as a student does.  The baseline row
is a viewer connecting only once the program has drawn, when no race is possible."""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from typing import Dict, List, Tuple

from bench.stats import summary_row, table
from testkit.client import connect, next_json, read_until
from testkit.rfb import RFBClient, RFBError
from testkit.service import Service

PROGRAMS = {
    "pygame": ("import pygame\npygame.init()\nscreen = pygame.display.set_mode((320, 240))\n"
               "screen.fill((30, 144, 255))\npygame.display.flip()\nprint('drawn', flush=True)\n"
               "while True:\n    pygame.event.wait()\n", (30, 144, 255)),
    "turtle": ("import turtle\nturtle.bgcolor('red')\nturtle.update()\nprint('drawn', flush=True)\nturtle.done()\n",
               (255, 0, 0)),
}


async def one_run(service: Service, ws, mode: str, delay: float, after_drawn: bool) -> Tuple[float, str]:
    """(seconds from `started` to the program's pixels at the viewer, "" or why it dropped)."""
    program, colour = PROGRAMS[mode]
    await ws.send(json.dumps({"type": "run", "mode": mode, "files": [{"path": "main.py", "text": program}]}))
    started = await next_json(ws, 60)
    began = time.monotonic()
    if after_drawn:
        await read_until(ws, b"drawn", 30)
    else:
        await asyncio.sleep(delay)   # the stimulus: the viewer connects at this moment
    why = ""
    try:
        client = await RFBClient.open_websocket(f"ws://127.0.0.1:{service.port}{started['display']['url']}")
        try:
            await client.wait_for(lambda c: c.count_colour(colour, 0, (0, 0, c.width, c.height)) > 1000, 30,
                                  "the program's pixels")
        finally:
            await client.close()
    except RFBError as error:
        why = str(error)
    seconds = time.monotonic() - began
    await ws.send(json.dumps({"type": "stop"}))
    while (await next_json(ws, 30))["type"] != "exit":
        pass
    return seconds, why


async def stress(runs: int, after_drawn: bool, seed: int) -> Tuple[Dict[str, List[float]], List[str]]:
    service = Service({"PYPLAY_POOL_PYTHON": "0", "PYPLAY_POOL_PYGAME": "1", "PYPLAY_POOL_TURTLE": "1"}).start()
    chance = random.Random(seed)
    seconds: Dict[str, List[float]] = {"pygame": [], "turtle": []}
    drops: List[str] = []
    try:
        sockets = {mode: await connect(service.url) for mode in PROGRAMS}
        for index in range(runs):
            mode = "pygame" if index % 2 == 0 else "turtle"
            took, why = await one_run(service, sockets[mode], mode, chance.uniform(0.0, 0.5), after_drawn)
            seconds[mode].append(took)
            if why:
                drops.append(f"{mode} run {index}: {why}")
        for ws in sockets.values():
            await ws.close()
    finally:
        service.stop()
        if drops:  # what the service said of the displays it could not serve, before its state dir goes
            said = [line[:300] for line in service.log().splitlines() if '"display_' in line]
            print("\n".join(["  service log:", *said[:10]]) if said else "  service log: nothing about displays")
        service.cleanup()
    return seconds, drops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    racing, drops = asyncio.run(stress(args.runs, after_drawn=False, seed=args.seed))
    settled, settled_drops = asyncio.run(stress(max(10, args.runs // 10), after_drawn=True, seed=args.seed))
    rows = []
    for mode in PROGRAMS:
        base = sorted(settled[mode])[len(settled[mode]) // 2]
        rows.append(summary_row(f"{mode}: viewer after the first drawing (baseline)", settled[mode], base))
        rows.append(summary_row(f"{mode}: viewer at 0-500 ms after started", racing[mode], base))
    print(table("`started` -> the program's own pixels at an RFB viewer", rows,
                ["connect", "runs", "median ms", "p95 ms", "vs baseline"]))
    print(f"dropped displays: {len(drops)} of {args.runs} racing runs, {len(settled_drops)} of the baseline's")
    for why in (drops + settled_drops)[:10]:
        print("  " + why)


if __name__ == "__main__":
    main()

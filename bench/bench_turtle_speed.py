"""Heavy turtle drawing in pyplay against the same program on a desktop (issue 14, item 6).

Three programs, each run to the end of its drawing with an RFB viewer connected (as the
student's display is): a Koch snowflake written the way students write it, and CPython's
``turtledemo.forest`` and ``turtledemo.fractalcurves``, imported from where they install (the
sandbox's Python 3.10 standard library; nothing copied).  Each is timed from the `run`
message (natively: from starting the process) to the line it prints when the drawing is done.
pyplay: the service with a warm turtle sandbox, one session running the programs in turn (its
sandbox reset in place between runs), the display through the display WebSocket.  Baseline: the
same Python 3.10 natively on a host Xvnc, read over its unix socket.  Runs alternate between
the two so that a change in the machine's load hits both.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from typing import Any, Dict, List, Sequence, Tuple

from bench.bench_first_output import python310
from bench.native_display import native_xvnc
from bench.stats import percentile, table
from testkit.client import connect, next_json, read_until
from testkit.rfb import RFBClient
from testkit.service import Service
from testkit.waiting import until

DONE = b"drawing done"
SNOWFLAKE = f"""import turtle


def koch(t, length, depth):
    if depth == 0:
        t.forward(length)
    else:
        koch(t, length / 3, depth - 1)
        t.left(60)
        koch(t, length / 3, depth - 1)
        t.right(120)
        koch(t, length / 3, depth - 1)
        t.left(60)
        koch(t, length / 3, depth - 1)


t = turtle.Turtle()
t.speed(0)
t.color("blue")
t.penup()
t.goto(-150, 90)
t.pendown()
for side in range(3):
    koch(t, 300, 3)
    t.right(120)
print("{DONE.decode()}")
turtle.done()
"""


def turtledemo(name: str) -> str:
    """Runs the installed demo's main() (forest's own __main__ prints nothing at the end)."""
    return (f"import turtle\nfrom turtledemo import {name}\n\n{name}.main()\n"
            f"print('{DONE.decode()}')\nturtle.mainloop()\n")


PROGRAMS: Dict[str, str] = {"Koch snowflake (student-style, speed 0)": SNOWFLAKE,
                            "turtledemo forest": turtledemo("forest"),
                            "turtledemo fractalcurves": turtledemo("fractalcurves")}
LIMIT_SECONDS = 600.0


async def run_in_pyplay(service: Service, ws: Any, program: str) -> float:
    """One run in the session's own sandbox, as a student pressing Run again: the sandbox
    is reset in place, and nothing else boots while the run is timed."""
    await until(lambda: service.pool_ready("turtle"), 120, "the turtle pool to refill")
    began = time.monotonic()
    await ws.send(json.dumps({"type": "run", "mode": "turtle", "files": [{"path": "main.py", "text": program}]}))
    started = await next_json(ws, timeout=60)
    viewer = await RFBClient.open_websocket(f"ws://127.0.0.1:{service.port}{started['display']['url']}")
    try:
        await read_until(ws, DONE, timeout=LIMIT_SECONDS)
        elapsed = time.monotonic() - began
    finally:
        await viewer.close()
    await ws.send(json.dumps({"type": "stop"}))
    while (await next_json(ws, timeout=30)).get("type") != "exit":
        pass
    return elapsed


async def run_natively(socket_path: str, env: Dict[str, str], program: str) -> float:
    viewer = await RFBClient.open_unix(socket_path)
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(python310(), "-u", "-c", program, env=env,
                                                   stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        while DONE not in await asyncio.wait_for(process.stdout.readline(), LIMIT_SECONDS):
            if process.returncode is not None:
                raise RuntimeError("the native program ended before it finished drawing")
        return time.monotonic() - began
    finally:
        process.kill()
        await process.wait()
        await viewer.close()


async def measure(runs: int) -> Dict[str, Tuple[List[float], List[float]]]:
    results: Dict[str, Tuple[List[float], List[float]]] = {name: ([], []) for name in PROGRAMS}
    service = Service({"PYPLAY_POOL_PYTHON": "0", "PYPLAY_POOL_PYGAME": "0", "PYPLAY_POOL_TURTLE": "1"}).start()
    try:
        with native_xvnc(1280, 960) as (socket_path, env):
            ws = await connect(service.url)
            try:
                for _ in range(runs):
                    for name, program in PROGRAMS.items():
                        native, sandboxed = results[name]
                        native.append(await run_natively(socket_path, env, program))
                        sandboxed.append(await run_in_pyplay(service, ws, program))
            finally:
                await ws.close()
    finally:
        service.stop()
        service.cleanup()
    return results


def _seconds(values: Sequence[float]) -> List[str]:
    return [f"{statistics.median(values):.2f}", f"{percentile(values, 0.95):.2f}", f"{percentile(values, 0.99):.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(measure(args.runs))
    rows: List[Sequence[object]] = [[name, len(native), *_seconds(native), *_seconds(sandboxed),
             f"{statistics.median(sandboxed) / statistics.median(native):.2f}x"]
            for name, (native, sandboxed) in results.items()]
    print(table(f"turtle drawing, run -> drawing done, viewer connected, {os.cpu_count()} cores, "
                f"load {os.getloadavg()[0]:.1f}",
                rows, ["program", "runs", "native median s (baseline)", "p95", "p99",
                       "pyplay warm median s", "p95", "p99", "ratio"]))


if __name__ == "__main__":
    main()

"""What crossing replicas costs, and how soon a student hears that a replica died.

Two replicas on loopback know each other (PYPLAY_PEERS).  For one live run, a display
socket or a resume is sent straight to the replica that owns the run (the baseline, no
extra hop) and to the other one, which forwards it: the difference is the crossing.
Then the owner is killed with -9, and the client, through HAProxy round-robin as the
IDE reaches the service, times how long until its socket closes and until a resume on
the live replica answers `gone`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from typing import List, Tuple

from bench.stats import summary_row, table
from proxy.replicas import owner_of
from testkit.balancer import Cluster
from testkit.client import connect, next_json, read_until
from testkit.rfb import RFBClient
from testkit.service import Service

ENV = {"PYPLAY_POOL_PYTHON": "1", "PYPLAY_POOL_PYGAME": "1"}
PYGAME = ("import pygame\npygame.init()\nscreen = pygame.display.set_mode((320, 240))\n"
          "screen.fill((30, 144, 255))\npygame.display.flip()\nprint('drawn', flush=True)\n"
          "while True:\n    pygame.event.wait()\n")
WAITING = "print('up', flush=True)\ninput()"


async def first_frame_seconds(service: Service, display_path: str) -> float:
    """Display socket opened -> first framebuffer update received."""
    began = time.monotonic()
    client = await RFBClient.open_websocket(f"ws://127.0.0.1:{service.port}{display_path}")
    await client.wait_for(lambda c: c.updates > 0, 30, "the first frame")
    seconds = time.monotonic() - began
    await client.close()
    return seconds


async def resume_seconds(service: Service, started: dict) -> float:
    """`resume` sent -> the missed output received (``resumed`` and the replay)."""
    ws = await connect(service.url)
    began = time.monotonic()
    await ws.send(json.dumps({"type": "resume", "run": started["run"], "token": started["resume"], "offset": 0}))
    assert (await next_json(ws, 10))["type"] == "resumed"
    await read_until(ws, b"drawn")
    seconds = time.monotonic() - began
    await ws.close()
    return seconds


async def crossing(cluster: Cluster, runs: int) -> Tuple[List[float], List[float], List[float], List[float]]:
    ws = await connect(cluster.services[0].url)
    await ws.send(json.dumps({"type": "run", "mode": "pygame", "files": [{"path": "main.py", "text": PYGAME}]}))
    started = await next_json(ws, 60)
    await read_until(ws, b"drawn", 60)
    owner, other = cluster.replica(owner_of(started["run"])), cluster.other_than(owner_of(started["run"]))
    frames_direct, frames_forwarded, resumes_direct, resumes_forwarded = [], [], [], []
    await ws.close()   # the run waits for a resume (grace period): each measured resume takes it over
    for _ in range(runs):
        resumed = await connect(owner.url)  # a fresh display ticket comes with every resume
        await resumed.send(json.dumps({"type": "resume", "run": started["run"], "token": started["resume"],
                                       "offset": 0}))
        path = (await next_json(resumed, 10))["display"]["url"]
        await resumed.close()
        frames_direct.append(await first_frame_seconds(owner, path))
        frames_forwarded.append(await first_frame_seconds(other, path))
        resumes_direct.append(await resume_seconds(owner, started))
        resumes_forwarded.append(await resume_seconds(other, started))
    return frames_direct, frames_forwarded, resumes_direct, resumes_forwarded


async def death_notice(cluster: Cluster) -> Tuple[float, float]:
    """Owner killed -> (the client's socket closed, a resume through the balancer answered `gone`)."""
    ws = await connect(cluster.balancer.url)
    await ws.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": WAITING}]}))
    started = await next_json(ws, 30)
    await read_until(ws, b"up")
    owner = cluster.replica(owner_of(started["run"]))
    killed = time.monotonic()
    owner.process.send_signal(signal.SIGKILL)
    try:
        await asyncio.wait_for(ws.recv(), 10)
    except Exception:  # noqa: BLE001 - the close is what is timed
        pass
    closed = time.monotonic() - killed
    again = await connect(cluster.balancer.url)
    await again.send(json.dumps({"type": "resume", "run": started["run"], "token": started["resume"], "offset": 0}))
    answer = await next_json(again, 10)
    assert answer.get("code") == "gone", answer
    await again.close()
    return closed, time.monotonic() - killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--deaths", type=int, default=3)
    args = parser.parse_args()
    cluster = Cluster.start(2, ENV)
    try:
        frames_direct, frames_forwarded, resumes_direct, resumes_forwarded = asyncio.run(crossing(cluster, args.runs))
    finally:
        cluster.stop()
    closes, gones = [], []
    for _ in range(args.deaths):
        cluster = Cluster.start(2, ENV)
        try:
            closed, gone = asyncio.run(death_notice(cluster))
        finally:
            cluster.stop()
        closes.append(closed)
        gones.append(gone)
    frame_base = sorted(frames_direct)[len(frames_direct) // 2]
    resume_base = sorted(resumes_direct)[len(resumes_direct) // 2]
    headers = ["path", "runs", "median ms", "p95 ms", "vs direct"]
    print(table("display socket opened -> first frame, one live pygame run",
                [summary_row("straight to the owning replica (baseline)", frames_direct, frame_base),
                 summary_row("through the other replica (forwarded)", frames_forwarded, frame_base)], headers))
    print(table("resume sent -> missed output received",
                [summary_row("straight to the owning replica (baseline)", resumes_direct, resume_base),
                 summary_row("through the other replica (forwarded)", resumes_forwarded, resume_base)], headers))
    print(table("owner killed with -9 -> the client hears (through HAProxy round-robin)",
                [summary_row("its socket closed", closes, max(1e-9, sorted(closes)[len(closes) // 2])),
                 summary_row("a resume answered `gone`", gones, max(1e-9, sorted(closes)[len(closes) // 2]))],
                ["event", "runs", "median ms", "p95 ms", "vs close"]))


if __name__ == "__main__":
    main()

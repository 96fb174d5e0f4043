"""Simulated students for bench/bench_classroom.py, and what the host pays for them.

A student is one IDE tab: one protocol v1 WebSocket that sends ``prepare`` for its program's
mode when it opens, then presses Run at the times it is given.  A run is timed from sending
``run`` to the first binary (terminal) frame and, in display modes, to the first frame of the
program's window at a real RFB client (testkit/rfb.py) on ``started.display.url``.  The RFB
client is closed after that first frame: the harness's pure-Python viewer asks for Raw
encoding, and keeping one open per animating student would make the harness, not the service,
the bottleneck on two cores (bench_display_rates measures the streaming).

Host cost (see ``ProcessTree``): every runsc process (runsc, gofer, sandbox, its ptrace stubs,
Xvnc inside) is a descendant of the service process, so CPU is the sum over the service and all
its live descendants of utime+stime+cutime+cstime from /proc/<pid>/stat.  The children's
fields carry the CPU of descendants that have exited and been reaped inside the tree, so a
sandbox torn down between two samples is still counted; only a process re-parented to init
before it exits would be missed (none is: `runsc run` waits for its sandbox).  Memory is the
sum of PSS (/proc/<pid>/smaps_rollup) over the same tree, so pages the ptrace stubs share with
their sentry are counted once.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import time
from typing import Callable, Dict, List, Optional

from bench.bench_first_frame import COLOUR
from testkit.client import connect
from testkit.rfb import RFBClient

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROMPT, ANSWER = b"name? ", "Ada\r"
GAME_SECONDS = 10.0          # a pygame student watches the animation this long, then presses Stop
RUN_SECONDS = 90.0           # one run, from Run to exit, at most (acquire waits up to 30 s)
FRAME_SECONDS = 30.0         # first display frame, at most
TURTLE_BG = (255, 200, 0)


def terminal_program(student: int) -> str:
    return (f"print('student {student}: quiz time')\nfor i in range(3):\n    print('line', i)\n"
            "name = input('name? ')\nprint('hello', name)\n")


def pygame_program(student: int) -> str:
    return ("import pygame\n"
            f"print('student {student}: game on')\npygame.init()\n"
            "screen = pygame.display.set_mode((320, 240))\nclock = pygame.time.Clock()\nx = 0\n"
            "for frame in range(30 * 60):\n    pygame.event.pump()\n"
            f"    screen.fill({COLOUR})\n    pygame.draw.rect(screen, (255, 255, 255), (x, 100, 40, 40))\n"
            "    x = (x + 4) % 280\n    pygame.display.flip()\n    clock.tick(30)\n")


def turtle_program(student: int) -> str:
    red, green, blue = TURTLE_BG
    background = f"#{red:02x}{green:02x}{blue:02x}"
    return ("import turtle\n"
            f"print('student {student}: drawing')\nscreen = turtle.Screen()\nscreen.setup(300, 200)\n"
            f"screen.bgcolor('{background}')\nt = turtle.Turtle()\nt.speed(0)\n"
            "for _ in range(4):\n    t.forward(60)\n    t.left(90)\n"
            "screen.ontimer(screen.bye, 4000)\nturtle.done()\n")


PROGRAMS: Dict[str, Callable[[int], str]] = {"python": terminal_program, "pygame": pygame_program,
                                             "turtle": turtle_program}


def mix(count: int, rng: random.Random) -> List[str]:
    """60 % terminal, 25 % pygame, 15 % turtle programs, in a random order."""
    games, turtles = round(0.25 * count), round(0.15 * count)
    modes = ["python"] * (count - games - turtles) + ["pygame"] * games + ["turtle"] * turtles
    rng.shuffle(modes)
    return modes


def _pygame_frame(client: RFBClient) -> bool:
    """The window is on screen: its corners show the background (the square moves in the middle)."""
    return client.width >= 320 and client.height >= 240 and all(
        client.pixel(x, y) == COLOUR for x, y in ((2, 2), (317, 2), (2, 237), (317, 237)))


def _turtle_frame(client: RFBClient) -> bool:
    """The canvas is painted: the background colour away from the square and the borders."""
    return client.width >= 250 and client.height >= 150 and all(
        client.pixel(x, y) == TURTLE_BG for x, y in ((40, client.height - 40), (client.width - 40, 30)))


FRAME_READY = {"pygame": _pygame_frame, "turtle": _turtle_frame}


@dataclasses.dataclass
class RunRecord:
    mode: str
    sent_at: float                       # monotonic time of the `run` message
    first_output: Optional[float] = None
    first_frame: Optional[float] = None
    failure: Optional[str] = None        # None: the run did what the student expected
    statuses: List[str] = dataclasses.field(default_factory=list)


class Student:
    """One IDE tab with one program; ``runs`` collects a record per press of Run."""

    def __init__(self, url: str, display_base: str, index: int, mode: str) -> None:
        self.url, self.display_base, self.index, self.mode = url, display_base, index, mode
        self.program = PROGRAMS[mode](index)
        self.runs: List[RunRecord] = []
        self.failures: List[str] = []        # failures outside a run (connect, prepare)
        self.ws = None

    async def open(self) -> bool:
        try:
            self.ws = await asyncio.wait_for(connect(self.url), 30)
            await self.ws.send(json.dumps({"type": "prepare", "mode": self.mode}))
            return True
        except Exception as error:  # noqa: BLE001 - a failure is a number in the table
            self.failures.append(f"open: {type(error).__name__}")
            return False

    async def wait_ready(self, timeout: float) -> bool:
        """Read until the `prepare` answer (only before the first run: runs read their own)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = await asyncio.wait_for(self.ws.recv(), max(0.01, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001
                break
            if isinstance(message, str):
                event = json.loads(message)
                if event.get("type") == "status" and event.get("state") == "ready":
                    return True
                if event.get("type") == "error":
                    self.failures.append(f"prepare: error {event.get('code')}")
                    return False
        self.failures.append("prepare: no ready")
        return False

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 10)
            except Exception:  # noqa: BLE001 - closing a socket the server dropped
                pass

    async def run_once(self) -> RunRecord:
        """Press Run and see the run through; never raises, never takes longer than RUN_SECONDS."""
        record = RunRecord(self.mode, time.monotonic())
        self.runs.append(record)
        try:
            await asyncio.wait_for(self._run(record), RUN_SECONDS)
        except asyncio.TimeoutError:
            record.failure = record.failure or "timeout"
            await self._abandon()
        except Exception as error:  # noqa: BLE001
            record.failure = record.failure or f"socket: {type(error).__name__}: {str(error)[:60]}"
            await self._abandon()
        return record

    async def _abandon(self) -> None:
        """A run that went wrong: this tab is reloaded (a new socket, a new session); if that
        fails too, ``ws`` stays None and the student stops."""
        await self.close()
        self.ws = None
        if not await self.open():
            self.ws = None

    async def _run(self, record: RunRecord) -> None:
        await self.ws.send(json.dumps({"type": "run", "mode": self.mode, "entry": "main.py",
                                       "files": [{"path": "main.py", "text": self.program}],
                                       "term": {"cols": 80, "rows": 24}}))
        output, answered, frame_task, stop_task = bytearray(), False, None, None
        try:
            while True:
                message = await self.ws.recv()
                if isinstance(message, bytes):
                    if record.first_output is None:
                        record.first_output = time.monotonic() - record.sent_at
                    output += message
                    if not answered and PROMPT in output and self.mode == "python":
                        answered = True
                        await self.ws.send(json.dumps({"type": "stdin", "data": ANSWER}))
                    continue
                event = json.loads(message)
                kind = event.get("type")
                if kind == "status":
                    record.statuses.append(event.get("state", "?"))
                elif kind == "error":
                    record.failure = f"error {event.get('code')}"
                    return
                elif kind == "started":
                    if self.mode in FRAME_READY:
                        display = event.get("display") or {}
                        if not display.get("url"):
                            record.failure = "no display"
                        else:
                            frame_task = asyncio.ensure_future(self._first_frame(record, display["url"]))
                    if self.mode == "pygame":
                        stop_task = asyncio.ensure_future(self._stop_later(GAME_SECONDS))
                elif kind == "exit":
                    if frame_task is not None:
                        await asyncio.wait_for(asyncio.shield(frame_task), FRAME_SECONDS)
                    record.failure = record.failure or self._check(event, bytes(output))
                    return
        finally:
            for task in (frame_task, stop_task):
                if task is not None and not task.done():
                    task.cancel()

    async def _stop_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.ws.send(json.dumps({"type": "stop"}))

    async def _first_frame(self, record: RunRecord, url: str) -> None:
        client = None
        try:
            client = await asyncio.wait_for(RFBClient.open_websocket(self.display_base + url), FRAME_SECONDS)
            await client.wait_for(FRAME_READY[self.mode], FRAME_SECONDS, "the first frame")
            record.first_frame = time.monotonic() - record.sent_at
        except Exception as error:  # noqa: BLE001 - a failure is a number in the table
            record.failure = record.failure or (f"{self.mode} display after {time.monotonic() - record.sent_at:.1f} s: "
                                                f"{type(error).__name__}: {str(error)[:70]}")
        finally:
            if client is not None:
                try:
                    await asyncio.wait_for(client.close(), 10)
                except Exception:  # noqa: BLE001
                    pass

    def _check(self, exit_event: Dict, output: bytes) -> Optional[str]:
        text = output.decode("utf-8", errors="replace")
        if f"student {self.index}:" not in text:
            return f"wrong output ({exit_event.get('reason')})"
        if self.mode == "python" and ("hello Ada" not in text or exit_event.get("code") != 0):
            return f"wrong output ({exit_event.get('reason')})"
        if self.mode == "pygame" and exit_event.get("reason") != "stopped":
            return f"exit {exit_event.get('reason')}"
        if self.mode == "turtle" and (exit_event.get("reason") != "exited" or exit_event.get("code") != 0):
            return f"exit {exit_event.get('reason')} {exit_event.get('code')}"
        return None


class ProcessTree:
    """CPU and memory of a process and all its descendants, from /proc (see the module docstring)."""

    def __init__(self, root: int) -> None:
        self.root = root

    def pids(self) -> List[int]:
        children: Dict[int, List[int]] = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                stat = _stat(int(name))
                if stat is not None:
                    children.setdefault(int(stat[1]), []).append(int(name))
        found, todo = [], [self.root]
        while todo and len(found) < 100_000:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, ()))
        return found

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            stat = _stat(pid)
            if stat is not None:    # fields 14-17: utime stime cutime cstime (index 11-14 after comm)
                total += sum(int(value) for value in stat[11:15])
        return total / CLOCK_TICKS

    def pss_bytes(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as handle:
                    for line in handle:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except OSError:
                pass
        return total


def _stat(pid: int) -> Optional[List[str]]:
    """/proc/<pid>/stat fields after the command name (state is [0], ppid [1])."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()

"""A protocol v1 test client: run a program and collect what the IDE would see."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import websockets

Files = Union[str, Sequence[Dict[str, str]]]


@dataclasses.dataclass
class RunResult:
    started: Dict[str, Any]
    output: bytes
    exit: Dict[str, Any]
    first_output_seconds: Optional[float]
    seconds: float
    statuses: List[Dict[str, Any]] = dataclasses.field(default_factory=list)  # before `started`

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace")


def files_of(program: Files) -> List[Dict[str, str]]:
    return [{"path": "main.py", "text": program}] if isinstance(program, str) else list(program)


async def connect(url: str, **kwargs: Any):
    return await websockets.connect(url, max_size=64 * 1024 * 1024, **kwargs)


async def next_json(ws, timeout: float = 10.0, statuses: bool = False) -> Dict[str, Any]:
    """The next text message, skipping terminal output frames, and `status` messages
    (queued, starting, ready) unless ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        message = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        if isinstance(message, str):
            event = json.loads(message)
            if statuses or event.get("type") != "status":
                return event


Reply = Union[str, Dict[str, Any]]


async def run_program(ws, program: Files, mode: str = "python", term: Tuple[int, int] = (80, 24),
                      replies: Sequence[Tuple[bytes, Union[Reply, Sequence[Reply]]]] = (),
                      timeout: float = 30.0, entry: str = "main.py") -> RunResult:
    """Send `run` and collect the output up to `exit`.  ``replies`` is what a student does
    on seeing some output: in order, once the output contains each ``bytes`` marker, send its
    answer: a str as stdin, a dict as a message (`resize`, `stop`...), or a list of those."""
    began = time.monotonic()
    await ws.send(json.dumps({"type": "run", "mode": mode, "entry": entry, "files": files_of(program),
                              "term": {"cols": term[0], "rows": term[1]}}))
    started, statuses = await next_json(ws, timeout, statuses=True), []
    while started.get("type") == "status":  # queued, or a fresh sandbox starting
        statuses.append(started)
        started = await next_json(ws, timeout, statuses=True)
    if started.get("type") != "started":
        raise AssertionError(f"expected started, got {started}")
    pending = list(replies)
    output = bytearray()
    first = None
    deadline = time.monotonic() + timeout
    while True:
        message = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
        if isinstance(message, bytes):
            first = first if first is not None else time.monotonic() - began
            output += message
            while pending and pending[0][0] in output:
                await _send_replies(ws, pending.pop(0)[1])
            continue
        event = json.loads(message)
        if event.get("type") == "exit":
            return RunResult(started, bytes(output), event, first, time.monotonic() - began, statuses)


async def _send_replies(ws, answer: Union[Reply, Sequence[Reply]]) -> None:
    for reply in [answer] if isinstance(answer, (str, dict)) else answer:
        await ws.send(json.dumps({"type": "stdin", "data": reply} if isinstance(reply, str) else reply))


async def read_until(ws, marker: bytes, timeout: float = 10.0) -> bytes:
    """Terminal output of the running program up to and including ``marker`` (status messages
    are skipped); fails if the run exits first or the marker is not seen within ``timeout``."""
    output = bytearray()
    deadline = time.monotonic() + timeout
    while marker not in output:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {marker!r} within {timeout:g} s: {bytes(output)[-500:]!r}")
        try:
            message = await asyncio.wait_for(ws.recv(), remaining)
        except asyncio.TimeoutError:
            continue
        if isinstance(message, bytes):
            output += message
        elif json.loads(message).get("type") in ("exit", "error"):
            raise AssertionError(f"{message} before {marker!r}, after {bytes(output)[-500:]!r}")
    return bytes(output)

"""Small async helpers shared by the Nomad tests."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Dict, List

from sandbox import wire
from sandbox.limits import Limits
from scheduler.agent_link import AgentLink


async def eventually(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Wait until ``check()`` is truthy; fail the test with ``what`` if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def claim_message(entry: str = "main.py", text: str = "print('hi')") -> Dict[str, Any]:
    return {"entry": entry, "files": [{"path": entry, "text": text}],
            "term": {"cols": 80, "rows": 24}, "limits": Limits().to_wire()}


async def claim_and_run(link: AgentLink, timeout: float = 30.0) -> List[wire.Frame]:
    """Claim the sandbox with a one-line program and collect its frames up to EXIT."""
    await link.send_json(wire.Kind.CLAIM, claim_message())
    frames: List[wire.Frame] = []

    async def collect() -> None:
        while not frames or frames[-1].kind != wire.Kind.EXIT:
            frames.append(await link.recv())

    await asyncio.wait_for(collect(), timeout)
    return frames

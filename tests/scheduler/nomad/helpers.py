"""Small async helpers shared by the Nomad tests and the scheduler contract."""
from __future__ import annotations

import asyncio
import base64
from typing import Any, Dict, List, Optional, Tuple

from proxy.lease import COUNTERS as LEASE_COUNTERS
from proxy.lease import SessionSandbox
from sandbox import wire
from sandbox.limits import Limits
from scheduler.agent_link import AgentLink
from scheduler.base import Sandbox, Scheduler, WaitNotice
from scheduler.config import Config


def claim_message(entry: str = "main.py", text: str = "print('hi')",
                  limits: Optional[Limits] = None) -> Dict[str, Any]:
    """A CLAIM as proxy/run.py sends it (files as protocol.wire_files encodes them)."""
    return {"entry": entry, "files": [{"path": entry, "data": base64.b64encode(text.encode()).decode("ascii")}],
            "term": {"cols": 80, "rows": 24}, "limits": (limits or Limits()).to_wire()}


async def claim_and_run(link: AgentLink, timeout: float = 30.0,
                        claim: Optional[Dict[str, Any]] = None) -> List[wire.Frame]:
    """Claim the sandbox (a one-line program unless ``claim`` says otherwise) and collect its
    frames up to EXIT, as proxy/run.py does (Run.start, then Run._relay_frames)."""
    await link.send_json(wire.Kind.CLAIM, claim or claim_message())
    frames: List[wire.Frame] = []

    async def collect() -> None:
        while not frames or frames[-1].kind != wire.Kind.EXIT:
            frames.append(await link.recv())

    await asyncio.wait_for(collect(), timeout)
    return frames


class Session:
    """One session's sandbox lease (proxy/lease.py) driven without a WebSocket."""

    def __init__(self, config: Config, scheduler: Scheduler) -> None:
        self.counters: Dict[str, int] = dict.fromkeys(LEASE_COUNTERS, 0)
        self.lease = SessionSandbox(config, scheduler, self.counters, owner=self)
        self.notices: List[Tuple[str, int]] = []

    def notice(self) -> WaitNotice:
        return lambda what, position: self.notices.append((what, position))

    async def take(self, mode: str = "python") -> Sandbox:
        return await self.lease.take(mode, self.notice())

    async def run(self, text: str = "print('hi')", mode: str = "python", limits: Optional[Limits] = None,
                  timeout: float = 60.0) -> Tuple[Sandbox, Dict[str, Any]]:
        """One run on the session's sandbox: its EXIT, handed back to the lease as Run does."""
        sandbox = await self.take(mode)
        self.lease.begin_run(sandbox)
        result: Dict[str, Any] = {"code": -1, "reason": "failed", "limit": None, "signal": None}
        try:
            frames = await claim_and_run(sandbox.link, timeout, claim_message(text=text, limits=limits))
            result = frames[-1].json()
        finally:
            self.lease.run_ended(sandbox, result)
        return sandbox, result

    async def close(self) -> None:
        """The session ends: its sandbox is released (and the release awaited)."""
        self.lease.close(self)
        releases = list(self.lease._releases)
        if releases:
            await asyncio.gather(*releases)

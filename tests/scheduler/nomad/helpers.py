"""Small async helpers shared by the Nomad tests and the scheduler contract."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Tuple

from common.config import Config
from proxy.lease import COUNTERS as LEASE_COUNTERS
from proxy.lease import SessionSandbox
from sandbox.limits import Limits
from scheduler.interface import AgentClient, AgentEvent, Claim, Exited, Sandbox, Scheduler, WaitNotice


def claim_message(entry: str = "main.py", text: str = "print('hi')",
                  limits: Optional[Limits] = None) -> Claim:
    """A claim as proxy/run.py makes it."""
    return Claim(entry, ((entry, text.encode()),), 80, 24, limits or Limits())


async def claim_and_run(agent: AgentClient, timeout: float = 30.0,
                        claim: Optional[Claim] = None) -> List[AgentEvent]:
    """Claim the sandbox (a one-line program unless ``claim`` says otherwise) and collect its
    events up to Exited, as proxy/run.py does (Run.start, then Run._relay_events)."""
    async def collect() -> List[AgentEvent]:
        await agent.claim(claim or claim_message(), timeout)
        return [event async for event in agent.events()]

    return await asyncio.wait_for(collect(), timeout)


def exit_of(events: List[AgentEvent]) -> Dict[str, Any]:
    """The run's EXIT, from the last of its events."""
    assert isinstance(events[-1], Exited), events
    return events[-1].result


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
            result = exit_of(await claim_and_run(sandbox.agent, timeout, claim_message(text=text, limits=limits)))
        finally:
            self.lease.run_ended(sandbox, result)
        return sandbox, result

    async def close(self) -> None:
        """The session ends: its sandbox is released (and the release awaited)."""
        self.lease.close(self)
        releases = list(self.lease._releases)
        if releases:
            await asyncio.gather(*releases)

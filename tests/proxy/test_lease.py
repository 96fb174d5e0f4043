"""SessionSandbox's replacement rules, without sandboxes: a fake scheduler hands out fake
sandboxes whose agent says READY after each run (or never, for the reset timeout)."""
from __future__ import annotations

import asyncio
import dataclasses
from typing import List

from common.config import Config
from proxy.lease import COUNTERS, SessionSandbox
from scheduler.errors import AgentGone
from testkit.waiting import until


class FakeAgent:
    def __init__(self, answers_ready: bool) -> None:
        self.hello = {"reset": True}
        self.closed = False
        self._answers_ready = answers_ready

    async def reset(self, timeout: float) -> bool:
        if not self._answers_ready:  # an agent that never comes back: the real client's timeout, simulated
            await asyncio.sleep(timeout)
            raise AgentGone(f"the agent was not ready again within {timeout:g}s")
        return True


@dataclasses.dataclass
class FakeSandbox:
    id: str
    mode: str
    agent: FakeAgent
    can_reset: bool = True


class FakeScheduler:
    def __init__(self, answers_ready: bool = True) -> None:
        self.made: List[FakeSandbox] = []
        self.released: List[FakeSandbox] = []
        self.answers_ready = answers_ready

    async def acquire(self, mode, waiting=None):
        self.made.append(FakeSandbox(f"s{len(self.made)}", mode, FakeAgent(self.answers_ready)))
        return self.made[-1]

    async def release(self, sandbox):
        self.released.append(sandbox)


async def runs_on(lease: SessionSandbox, count: int) -> List[str]:
    ids = []
    for _ in range(count):
        sandbox = await lease.take("python")
        lease.begin_run(sandbox)
        lease.run_ended(sandbox, {"reason": "exited", "reusable": True})
        ids.append(sandbox.id)
    return ids


def lease_for(scheduler: FakeScheduler, **config) -> SessionSandbox:
    return SessionSandbox(Config(**config), scheduler, dict.fromkeys(COUNTERS, 0), owner=object())


async def test_after_max_runs_the_sandbox_is_replaced():
    scheduler = FakeScheduler()
    assert await runs_on(lease_for(scheduler, sandbox_max_runs=2), 5) == ["s0", "s0", "s1", "s1", "s2"]


async def test_an_old_sandbox_is_replaced_after_its_run():
    scheduler = FakeScheduler()
    assert await runs_on(lease_for(scheduler, sandbox_max_age_seconds=0.0), 2) == ["s0", "s1"]


async def test_a_reset_that_never_finishes_gives_a_new_sandbox():
    scheduler = FakeScheduler(answers_ready=False)
    lease = lease_for(scheduler, reset_seconds=0.05)
    assert await runs_on(lease, 2) == ["s0", "s1"]
    assert lease.counters["sandbox_resets_failed"] == 1
    await until(lambda: scheduler.released, 5, "the sandbox whose reset never finished to be released")
    assert scheduler.released == [scheduler.made[0]]

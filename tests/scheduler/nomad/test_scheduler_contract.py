"""The scheduler contract: one test body, every Scheduler implementation.

Parametrized over ``scheduler_env``: NomadScheduler against the fake cluster
("nomad-fakes") and LocalScheduler with real gVisor sandboxes ("local-gvisor").  Each
environment has the same methods:

    make(pool_sizes=..., max_sandboxes=..., **config) -> a started Scheduler (closed by the fixture)
    exists(sandbox) -> bool      # is anything of this sandbox still alive?
    pooled(scheduler, mode) -> int
    config                       # the Config of the scheduler made last

Session tests drive a real SessionSandbox (proxy/lease.py) over the scheduler, as the proxy
does: a sandbox serves its session's runs, reset in place, until a run ends not reusable.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from typing import Any, AsyncIterator, List, Tuple

import pytest

from common.config import Config
from sandbox import wire
from sandbox.limits import Limits
from sandbox.modes import MODES
from scheduler.errors import Busy, SchedulerError
from scheduler.interface import Sandbox, Scheduler
from scheduler.local import LocalScheduler
from scheduler.nomad import NomadScheduler
from testkit.runsc import runsc_ids
from testkit.waiting import until
from tests.scheduler.nomad.conftest import config_for_tests
from tests.scheduler.nomad.helpers import Session, claim_and_run, exit_of

NO_POOLS: Tuple[Tuple[str, int], ...] = tuple((mode, 0) for mode in MODES)
# Past the output limit the agent cannot vouch for the sandbox (sandbox/agent.py); the fake
# sandbox is told the same by the marker line.
OUTPUT_FLOOD = "# fake exit: output\nimport sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n"
SMALL_OUTPUT = Limits(output_bytes=16 * 1024)


class NomadFakesEnv:
    def __init__(self, cluster: Any) -> None:
        self._cluster = cluster
        self._made: List[Scheduler] = []
        self.config = config_for_tests()

    async def make(self, pool_sizes: Tuple[Tuple[str, int], ...] = NO_POOLS, max_sandboxes: int = 8,
                   **config: Any) -> Scheduler:
        self.config = config_for_tests(pool_sizes=pool_sizes, max_sandboxes=max_sandboxes, **config)
        scheduler = NomadScheduler(self.config, self._cluster.settings())
        self._made.append(scheduler)
        await scheduler.start()
        return scheduler

    def exists(self, sandbox: Sandbox) -> bool:
        return self._cluster.nomad.job(sandbox.id) is not None

    def pooled(self, scheduler: Scheduler, mode: str) -> int:
        return int(scheduler.stats()[f"pool_ready_{mode}"])

    async def close(self) -> None:
        for scheduler in self._made:
            await scheduler.close()


class LocalGvisorEnv:
    """LocalScheduler with real gVisor sandboxes, each scheduler in its own state dir."""

    def __init__(self) -> None:
        self._made: List[Tuple[Scheduler, str]] = []
        self.config = Config()

    async def make(self, pool_sizes: Tuple[Tuple[str, int], ...] = NO_POOLS, max_sandboxes: int = 8,
                   **config: Any) -> Scheduler:
        state_dir = tempfile.mkdtemp(prefix="pyplay-contract-")
        self.config = Config(state_dir=state_dir, pool_sizes=pool_sizes, max_sandboxes=max_sandboxes, **config)
        scheduler = LocalScheduler(self.config)
        self._made.append((scheduler, state_dir))
        await scheduler.start()
        return scheduler

    def exists(self, sandbox: Sandbox) -> bool:
        return any(os.path.exists(os.path.join(d, "sandboxes", sandbox.id)) or sandbox.id in runsc_ids(d)
                   for _, d in self._made)

    def pooled(self, scheduler: Scheduler, mode: str) -> int:
        return int(scheduler.stats()[f"pool_ready_{mode}"])

    async def close(self) -> None:
        for scheduler, state_dir in self._made:
            await scheduler.close()
            assert runsc_ids(state_dir) == [], "LocalScheduler left sandboxes behind"
            shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(params=["nomad-fakes", "local-gvisor"])
async def scheduler_env(request) -> AsyncIterator[Any]:
    env = NomadFakesEnv(request.getfixturevalue("cluster")) if request.param == "nomad-fakes" else LocalGvisorEnv()
    try:
        yield env
    finally:
        await env.close()


@pytest.mark.parametrize("mode", MODES)
async def test_acquire_hands_out_a_ready_unclaimed_sandbox_of_that_mode(scheduler_env, mode):
    scheduler = await scheduler_env.make()

    sandbox = await scheduler.acquire(mode)

    assert sandbox.mode == mode and sandbox.agent.hello["mode"] == mode
    assert sandbox.agent.hello["version"] == wire.VERSION
    assert sandbox.agent.hello["python"].startswith("3.10.")
    if mode == "python":
        assert sandbox.display is None
    else:
        reader, writer = await sandbox.open_display()
        assert (await reader.readexactly(12)).startswith(b"RFB ")
        writer.close()
    result = exit_of(await claim_and_run(sandbox.agent))
    assert result["code"] == 0 and result["reason"] == "exited"
    await scheduler.release(sandbox)
    assert not scheduler_env.exists(sandbox)


async def test_every_acquire_is_a_fresh_sandbox(scheduler_env):
    scheduler = await scheduler_env.make()

    first = await scheduler.acquire("python")
    second = await scheduler.acquire("python")

    assert first.id != second.id
    await scheduler.release(first)
    assert not scheduler_env.exists(first) and scheduler_env.exists(second)
    await scheduler.release(second)


async def test_release_is_idempotent(scheduler_env):
    scheduler = await scheduler_env.make()
    sandbox = await scheduler.acquire("python")

    await scheduler.release(sandbox)
    await scheduler.release(sandbox)

    assert not scheduler_env.exists(sandbox)


async def test_warm_pool_hands_out_warm_sandboxes_and_refills(scheduler_env):
    scheduler = await scheduler_env.make(pool_sizes=(("python", 1), ("pygame", 0), ("turtle", 0)))
    await until(lambda: scheduler_env.pooled(scheduler, "python") == 1, 60, "the pool to fill")

    sandbox = await scheduler.acquire("python")

    assert sandbox.warm
    await until(lambda: scheduler_env.pooled(scheduler, "python") == 1, 60, "the pool to refill")
    await scheduler.release(sandbox)


async def test_busy_past_capacity_without_a_line_and_free_again_after_release(scheduler_env):
    scheduler = await scheduler_env.make(max_sandboxes=1, queue_limit=0)
    sandbox = await scheduler.acquire("python")

    started = time.monotonic()
    with pytest.raises(Busy):
        await scheduler.acquire("python")
    assert time.monotonic() - started < 0.5, "no room in line: busy at once"

    await scheduler.release(sandbox)
    again = await scheduler.acquire("python")
    await scheduler.release(again)


async def test_close_destroys_pooled_and_claimed_sandboxes(scheduler_env):
    scheduler = await scheduler_env.make(pool_sizes=(("python", 1), ("pygame", 0), ("turtle", 0)))
    await until(lambda: scheduler_env.pooled(scheduler, "python") == 1, 60, "the pool to fill")
    claimed = await scheduler.acquire("turtle")

    await scheduler.close()

    assert not scheduler_env.exists(claimed)
    assert scheduler.ready_problem()


async def test_unknown_mode_is_refused_and_stats_are_numbers(scheduler_env):
    scheduler = await scheduler_env.make()

    with pytest.raises(SchedulerError):
        await scheduler.acquire("cobol")

    assert scheduler.stats() and all(isinstance(v, (int, float)) for v in scheduler.stats().values())
    assert scheduler.ready_problem() is None


# ---------------------------------------------------------------- admission line

async def test_at_capacity_acquire_waits_in_line_then_busy_when_no_room_comes(scheduler_env):
    # The one sandbox allowed is a pooled python one (a pool refill is not bounded by
    # acquire_seconds; a cold start would be): a turtle session finds no room.
    scheduler = await scheduler_env.make(pool_sizes=(("python", 1), ("pygame", 0), ("turtle", 0)),
                                         max_sandboxes=1, acquire_seconds=0.5)
    await until(lambda: scheduler_env.pooled(scheduler, "python") == 1, 60, "the pool to fill")
    heard: List[Tuple[str, int]] = []

    started = time.monotonic()
    with pytest.raises(Busy):
        await scheduler.acquire("turtle", lambda what, position: heard.append((what, position)))

    assert 0.4 <= time.monotonic() - started < 3.0
    assert heard == [("queued", 1)]
    assert scheduler.stats()["admission_waiting"] == 0
    sandbox = await scheduler.acquire("python")
    assert sandbox.warm, "the line is empty again: the pooled sandbox is handed out"
    await scheduler.release(sandbox)


async def test_a_queued_session_gets_the_sandbox_its_neighbour_released(scheduler_env):
    scheduler = await scheduler_env.make(max_sandboxes=1, queue_limit=1, acquire_seconds=60.0)
    first, second, third = (Session(scheduler_env.config, scheduler) for _ in range(3))
    held = await first.take()
    assert first.notices == [("starting", 0)]

    waiting = asyncio.ensure_future(second.take())
    await until(lambda: second.notices == [("queued", 1)], 10, "the second session to queue")
    assert scheduler.stats()["admission_waiting"] == 1
    with pytest.raises(Busy):
        await third.take()          # the line (queue_limit=1) is full
    assert not waiting.done()

    await first.close()
    got = await asyncio.wait_for(waiting, 60)

    assert got.id != held.id and not scheduler_env.exists(held)
    assert second.notices == [("queued", 1), ("starting", 0)]
    _, result = await second.run()
    assert result["reason"] == "exited"
    await second.close()


# ---------------------------------------------------------------- a sandbox per session

async def test_a_session_reuses_its_sandbox_run_after_run(scheduler_env):
    scheduler = await scheduler_env.make()
    session = Session(scheduler_env.config, scheduler)

    first, one = await session.run()
    second, two = await session.run()

    assert (one["reason"], one["reusable"], two["reason"]) == ("exited", True, "exited")
    assert first.agent.hello["reset"] is True
    assert second.id == first.id and second.agent is first.agent, "the same sandbox, the same connection"
    assert scheduler.stats()["sandboxes_created"] == 1
    assert session.counters["sandbox_runs_reused"] == 1
    await session.close()
    assert not scheduler_env.exists(first)


async def test_a_run_that_leaves_the_sandbox_untrusted_gets_a_new_one_next(scheduler_env):
    scheduler = await scheduler_env.make()
    session = Session(scheduler_env.config, scheduler)

    flooded, result = await session.run(OUTPUT_FLOOD, limits=SMALL_OUTPUT)
    assert (result["reason"], result["reusable"]) == ("output", False)
    fresh, after = await session.run()

    assert fresh.id != flooded.id
    assert after["reason"] == "exited"
    assert scheduler.stats()["sandboxes_created"] == 2
    assert session.counters["sandbox_replaced"] == 1
    await until(lambda: not scheduler_env.exists(flooded), 30, "the untrusted sandbox to go")
    await session.close()

"""The scheduler contract: one test body, every Scheduler implementation.

Parametrized over ``scheduler_env``.  Here only NomadScheduler against the fake cluster
("nomad-fakes"); LocalScheduler (real gVisor sandboxes) joins by adding a parameter and an
environment with the same three methods:

    make(pool_sizes=..., max_sandboxes=...) -> a started Scheduler (closed by the fixture)
    exists(sandbox) -> bool      # is anything of this sandbox still alive?
    pooled(scheduler, mode) -> int
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from typing import Any, AsyncIterator, List, Tuple

import pytest

from sandbox import wire
from scheduler.base import Busy, Sandbox, Scheduler, SchedulerError
from scheduler.config import MODES, Config
from scheduler.local import LocalScheduler
from scheduler.nomad import NomadScheduler
from tests.nomad.conftest import config_for_tests
from tests.nomad.helpers import claim_and_run, eventually

NO_POOLS: Tuple[Tuple[str, int], ...] = tuple((mode, 0) for mode in MODES)


class NomadFakesEnv:
    def __init__(self, cluster: Any) -> None:
        self._cluster = cluster
        self._made: List[Scheduler] = []

    async def make(self, pool_sizes: Tuple[Tuple[str, int], ...] = NO_POOLS, max_sandboxes: int = 8) -> Scheduler:
        scheduler = NomadScheduler(config_for_tests(pool_sizes=pool_sizes, max_sandboxes=max_sandboxes),
                                   self._cluster.settings())
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

    async def make(self, pool_sizes: Tuple[Tuple[str, int], ...] = NO_POOLS, max_sandboxes: int = 8) -> Scheduler:
        state_dir = tempfile.mkdtemp(prefix="pyplay-contract-")
        scheduler = LocalScheduler(Config(state_dir=state_dir, pool_sizes=pool_sizes, max_sandboxes=max_sandboxes))
        self._made.append((scheduler, state_dir))
        await scheduler.start()
        return scheduler

    def exists(self, sandbox: Sandbox) -> bool:
        return any(os.path.exists(os.path.join(d, "sandboxes", sandbox.id)) or sandbox.id in _runsc_list(d)
                   for _, d in self._made)

    def pooled(self, scheduler: Scheduler, mode: str) -> int:
        return int(scheduler.stats()[f"pool_ready_{mode}"])

    async def close(self) -> None:
        for scheduler, state_dir in self._made:
            await scheduler.close()
            assert _runsc_list(state_dir) == [], "LocalScheduler left sandboxes behind"
            shutil.rmtree(state_dir, ignore_errors=True)


def _runsc_list(state_dir: str) -> List[str]:
    output = subprocess.run([shutil.which("runsc") or "runsc", "--root", os.path.join(state_dir, "runsc"),
                             "list", "-format=json"], capture_output=True, text=True).stdout
    return [entry["id"] for entry in json.loads(output or "[]") or []]


@pytest.fixture(params=["nomad-fakes", "local-gvisor"])
async def scheduler_env(request) -> AsyncIterator[Any]:
    if request.param == "nomad-fakes":
        env = NomadFakesEnv(request.getfixturevalue("cluster"))
    else:
        env = LocalGvisorEnv()
    try:
        yield env
    finally:
        await env.close()


@pytest.mark.parametrize("mode", MODES)
async def test_acquire_hands_out_a_ready_unclaimed_sandbox_of_that_mode(scheduler_env, mode):
    scheduler = await scheduler_env.make()

    sandbox = await scheduler.acquire(mode)

    assert sandbox.mode == mode and sandbox.link.hello["mode"] == mode
    assert sandbox.link.hello["version"] == wire.VERSION
    assert sandbox.link.hello["python"].startswith("3.10.")
    if mode == "python":
        assert sandbox.vnc_endpoint is None
    else:
        reader, writer = await sandbox.open_vnc()
        assert (await reader.readexactly(12)).startswith(b"RFB ")
        writer.close()
    frames = await claim_and_run(sandbox.link)
    assert frames[0].kind == wire.Kind.STARTED
    assert frames[-1].json()["code"] == 0 and frames[-1].json()["reason"] == "exited"
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
    await eventually(lambda: scheduler_env.pooled(scheduler, "python") == 1, 60, "the pool to fill")

    sandbox = await scheduler.acquire("python")

    assert sandbox.warm
    await eventually(lambda: scheduler_env.pooled(scheduler, "python") == 1, 60, "the pool to refill")
    await scheduler.release(sandbox)


async def test_busy_past_capacity_and_free_again_after_release(scheduler_env):
    scheduler = await scheduler_env.make(max_sandboxes=1)
    sandbox = await scheduler.acquire("python")

    with pytest.raises(Busy):
        await scheduler.acquire("python")

    await scheduler.release(sandbox)
    again = await scheduler.acquire("python")
    await scheduler.release(again)


async def test_close_destroys_pooled_and_claimed_sandboxes(scheduler_env):
    scheduler = await scheduler_env.make(pool_sizes=(("python", 1), ("pygame", 0), ("turtle", 0)))
    await eventually(lambda: scheduler_env.pooled(scheduler, "python") == 1, 60, "the pool to fill")
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

"""The fakes behave like what they stand in for; else the session tests would prove little."""
from __future__ import annotations

import asyncio
from typing import List, Tuple

import pytest

from sandbox.limits import Limits
from scheduler.errors import AgentGone, Busy
from scheduler.interface import Claim, Exited, Output, WaitNotice
from testkit.fake_scheduler import FakeScheduler, ScriptedAgent
from testkit.manual_clock import ManualClock, settle

CLAIM = Claim("main.py", (("main.py", b"print(1)"),), 80, 24, Limits())


async def test_the_agent_hands_out_an_event_only_when_asked() -> None:
    agent = ScriptedAgent()
    await agent.claim(CLAIM, 10)
    agent.output(b"hi")
    assert (agent.pending, agent.pulled, agent.asking) == (1, 0, False)
    assert await agent.next_event() == Output(b"hi")
    waiting = asyncio.ensure_future(agent.next_event())
    await settle()
    assert (agent.pending, agent.pulled, agent.asking) == (0, 1, True)
    agent.exit(code=2)
    event = await waiting
    assert isinstance(event, Exited) and event.result["code"] == 2


async def test_the_agent_is_claimable_again_only_after_its_reset() -> None:
    agent = ScriptedAgent()
    await agent.claim(CLAIM, 10)
    agent.exit()
    await agent.next_event()
    with pytest.raises(AgentGone):
        await agent.claim(CLAIM, 10)         # before READY: the real agent ends the sandbox
    assert agent.closed and agent.violations == ["CLAIM while ended: the real agent ends the sandbox"]

    agent = ScriptedAgent()
    await agent.claim(CLAIM, 10)
    agent.exit()
    await agent.next_event()
    assert await agent.reset(20) is True
    assert await agent.claim(CLAIM, 10) is None and agent.violations == []


async def test_stop_ends_the_program_as_the_real_agent_reports_it() -> None:
    agent = ScriptedAgent()
    await agent.claim(CLAIM, 10)
    await agent.stop()
    await agent.stop()                        # a second stop adds no second exit
    event = await agent.next_event()
    assert isinstance(event, Exited) and agent.pending == 0
    assert event.result == {"code": 143, "reason": "stopped", "limit": None, "signal": 15,
                            "seconds": 0.0, "reusable": True}


async def test_a_lost_connection_comes_after_what_was_already_sent() -> None:
    agent = ScriptedAgent()
    await agent.claim(CLAIM, 10)
    agent.output(b"last")
    agent.lose_connection()
    assert agent.closed
    with pytest.raises(AgentGone):
        await agent.stdin(b"x")
    assert await agent.next_event() == Output(b"last")
    with pytest.raises(AgentGone):
        await agent.next_event()


async def test_the_line_tells_each_waiter_its_place_and_moves_first_come_first_served() -> None:
    scheduler = FakeScheduler(capacity=1)
    first = await scheduler.acquire("python")
    notices: List[List[Tuple[str, int]]] = [[], [], []]

    def tell(i: int) -> WaitNotice:
        return lambda state, position: notices[i].append((state, position))

    waiters = [asyncio.ensure_future(scheduler.acquire("python", tell(i))) for i in range(3)]
    await settle()
    waiters[0].cancel()                      # a session that ended while it waited
    await settle()
    assert notices == [[("queued", 1)], [("queued", 2), ("queued", 1)], [("queued", 3), ("queued", 2)]]

    await scheduler.release(first)
    second = await waiters[1]
    await settle()
    assert notices[2][-1] == ("queued", 1) and not waiters[2].done()
    await scheduler.release(second)
    await scheduler.release(await waiters[2])
    assert scheduler.problems() == []


async def test_a_full_line_or_a_long_wait_is_busy() -> None:
    loop = asyncio.get_running_loop()
    clock = ManualClock(loop).install()
    try:
        scheduler = FakeScheduler(capacity=1, queue_limit=1, acquire_seconds=30)
        held = await scheduler.acquire("python")
        waiter = asyncio.ensure_future(scheduler.acquire("python"))
        await settle()
        with pytest.raises(Busy):
            await scheduler.acquire("python")  # the line is full
        await clock.advance(29)
        assert not waiter.done()
        await clock.advance(2)
        with pytest.raises(Busy):
            await waiter
        await scheduler.release(held)
    finally:
        clock.uninstall()


async def test_problems_name_leaks_double_releases_and_agent_misuse() -> None:
    scheduler = FakeScheduler()
    kept, twice = await scheduler.acquire("python"), await scheduler.acquire("turtle")
    agent = kept.agent
    assert isinstance(agent, ScriptedAgent)
    await agent.claim(CLAIM, 10)
    await agent.reset(1)                      # READY only follows an EXIT
    await scheduler.release(twice)
    await scheduler.release(twice)
    assert scheduler.problems() == [f"{kept.id} (python) was released 0 times, not once",
                                    f"{kept.id}: reset while running: READY only follows an EXIT",
                                    f"{twice.id} (turtle) was released 2 times, not once"]


async def test_the_manual_clock_fires_timers_only_when_advanced() -> None:
    loop = asyncio.get_running_loop()
    clock = ManualClock(loop).install()
    try:
        fired = asyncio.Event()
        loop.call_later(60, fired.set)
        await clock.advance(59.5)
        assert not fired.is_set()
        await clock.advance(1)
        assert fired.is_set()
    finally:
        clock.uninstall()
    assert loop.time() > 0 and "time" not in vars(loop)

"""The ``harness`` fixture: sessions on a FakeScheduler under a ManualClock (tests/proxy/harness.py)."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Dict, List

import pytest

from testkit.fake_scheduler import FakeScheduler
from testkit.manual_clock import ManualClock, Watchdog
from tests.proxy.harness import Harness

WATCHDOG_SECONDS = 10.0


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    loop = asyncio.get_running_loop()
    clock = ManualClock(loop).install()
    watchdog = Watchdog(loop, WATCHDOG_SECONDS).start()
    # An exception in a task nobody awaits would otherwise only be logged: fail on it.
    unhandled: List[Dict[str, Any]] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    try:
        harness = Harness(clock, FakeScheduler())
        yield harness
        if not watchdog.bitten:
            await harness.shut_down()
            assert harness.scheduler.problems() == []
            assert unhandled == []
    finally:
        loop.set_exception_handler(previous_handler)
        watchdog.stop()
        clock.uninstall()
        assert not watchdog.bitten, f"the test was still waiting after {WATCHDOG_SECONDS:g} real seconds"

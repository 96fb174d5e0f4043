"""Time that passes only when a test says so, for code that uses the event loop's timers.

The proxy's timers are the loop's: ``loop.call_later`` for the resume grace period, the
session sandbox's idle timer and a finished run's stay in the registry; ``asyncio.wait_for``
for a reset or a stop.  ``ManualClock`` replaces the running loop's ``time()``, so every one
of them fires exactly when the test advances past it, and never on its own: a test can show
that a run is still there one second before its grace period ends, and gone one second
after, without sleeping and without a race against the machine's speed.

With time standing still, an ``asyncio.wait_for`` bound in a test would never fire either;
``Watchdog`` is the real-time bound instead: a test still waiting after a few real seconds
is waiting for something that cannot come, and its tasks are cancelled so it fails.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Optional

SETTLE_ROUNDS = 50


async def settle(rounds: int = SETTLE_ROUNDS) -> None:
    """Let everything that can run now, run: ``rounds`` passes of the event loop.

    For showing that something does *not* happen (the relay does not read the agent while
    nobody is attached): each pass runs every ready callback, and the chains under test are
    a few hops long, so fifty passes leave nothing runnable behind.  Positive facts are
    awaited directly instead."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class ManualClock:
    """The running loop's clock, moved by ``advance`` only."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.now = loop.time()  # continue from real time, so timers already set keep their meaning
        self._installed = False

    def time(self) -> float:
        return self.now

    def install(self) -> ManualClock:
        # An instance attribute shadows BaseEventLoop.time, which call_later, call_at and
        # the loop's own scheduling all read through self.time().
        self._loop.time = self.time  # type: ignore[method-assign]
        self._installed = True
        return self

    def uninstall(self) -> None:
        if self._installed:
            del self._loop.time
            self._installed = False

    async def advance(self, seconds: float) -> None:
        """Let what is in motion come to rest, then move time on by ``seconds``: the timers
        now due fire, and what they cause runs.  (Settling first matters: a timer that a
        task is about to set must be set at the time it would have been.)"""
        assert seconds >= 0
        await settle()
        self.now += seconds
        await settle()


class Watchdog:
    """A real-time bound on one test: after ``seconds`` the loop's tasks are cancelled."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self._loop = loop
        self.seconds = seconds
        self.bitten = False
        self._timer: Optional[threading.Timer] = None

    def start(self) -> Watchdog:
        # call_soon_threadsafe also wakes a loop blocked in select() on a far-off virtual timer.
        self._timer = threading.Timer(self.seconds, self._loop.call_soon_threadsafe, args=(self._bite,))
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _bite(self) -> None:
        self.bitten = True
        for task in asyncio.all_tasks(self._loop):
            task.cancel(f"watchdog: still waiting after {self.seconds:g} real seconds")

"""Waiting for a condition over in-memory state, without polling and without sleeps."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable


class Changes:
    """Something a fake watches has changed: everyone waiting looks at its condition again.

    Like ``asyncio.Condition`` without the lock: the state lives in one event loop and is
    only touched between awaits, so a fresh ``asyncio.Event`` per change is enough.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def wait(self) -> Awaitable[bool]:
        """Until the next change after this call.  Not ``async def``: the event is picked
        now, so a change between this call and the first await (say, while
        ``asyncio.wait_for`` schedules its task) still counts."""
        return self._event.wait()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Until ``condition()`` holds (at once if it already does)."""
        while not condition():
            await self.wait()

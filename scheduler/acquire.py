"""The one acquire path both schedulers share.

    a pooled sandbox ──► handed out at once (unless sessions already wait: no jumping the line)
    else             ──► wait in the admission line until there is room, then
                         a pooled sandbox, else a refill on its way that nobody has claimed,
                         else a cold start of our own

What differs between schedulers is given: whether there is room for one more sandbox,
how a cold start is made (with its own bound), and how a sandbox is discarded.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Dict, Optional

from sandbox.modes import MODES
from scheduler.admission import AdmissionLine
from scheduler.errors import Busy, SchedulerError, Unavailable
from scheduler.interface import Sandbox, WaitNotice
from scheduler.pool import WarmPool

COUNTERS = ("acquired_warm", "acquired_cold", "busy", "unavailable")
SHUT_DOWN = "the scheduler is shutting down"


class Acquirer:
    def __init__(self, pool: WarmPool, line: AdmissionLine, *, has_room: Callable[[], bool],
                 start: Callable[[str], Awaitable[Sandbox]], discard: Callable[[Sandbox], Awaitable[None]],
                 seconds: float, on_start_ended: Callable[[], None]) -> None:
        self._pool = pool
        self._line = line
        self._has_room = has_room
        self._start = start
        self._discard = discard
        self._seconds = seconds
        self._on_start_ended = on_start_ended
        self.starting = 0          # cold starts in flight
        self.counts: Dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.closed = False

    async def acquire(self, mode: str, waiting: Optional[WaitNotice]) -> Sandbox:
        if mode not in MODES:
            raise SchedulerError(f"unknown mode {mode!r}")
        try:
            sandbox = await self._get(mode, waiting)
        except Busy:
            self.counts["busy"] += 1
            raise
        except Unavailable:
            self.counts["unavailable"] += 1
            raise
        self.counts["acquired_warm" if sandbox.warm else "acquired_cold"] += 1
        return sandbox

    def close(self) -> None:
        """Whoever waits in line leaves it to hear Unavailable; starts that land are discarded."""
        self.closed = True
        self._line.room_changed()

    async def _get(self, mode: str, waiting: Optional[WaitNotice]) -> Sandbox:
        if self.closed:
            raise Unavailable(SHUT_DOWN)
        await self._line.wait_for_room(lambda: self._room_for(mode), waiting)
        if self.closed:
            raise Unavailable(SHUT_DOWN)
        sandbox = self._pool.take(mode)
        if sandbox is None:
            if waiting is not None:
                waiting("starting", 0)
            sandbox = await (self._refill_for(mode) if self._pool.spare(mode) > 0 else self._start_cold(mode))
        if self.closed:  # shut down while it was on its way
            await self._discard(sandbox)
            raise Unavailable(SHUT_DOWN)
        return sandbox

    def _room_for(self, mode: str) -> bool:
        # Closed counts as room: the line lets everyone go, to be told Unavailable.
        return (self.closed or self._pool.ready_count(mode) > 0 or self._pool.spare(mode) > 0
                or self._has_room())

    async def _refill_for(self, mode: str) -> Sandbox:
        try:
            return await asyncio.wait_for(self._pool.wait_for_refill(mode), self._seconds)
        except asyncio.TimeoutError:
            raise Unavailable(f"no {mode} sandbox was ready within {self._seconds:g}s") from None

    async def _start_cold(self, mode: str) -> Sandbox:
        self.starting += 1
        try:
            return await self._start(mode)
        except asyncio.CancelledError:
            if self.closed and not _being_cancelled():  # stopped by close(), not by our caller
                raise Unavailable(SHUT_DOWN) from None
            raise
        finally:
            self.starting -= 1
            self._on_start_ended()


def _being_cancelled() -> bool:
    """Whether our own task was asked to stop (Task.cancelling is Python 3.11+; 3.10 cannot tell)."""
    task = asyncio.current_task()
    return bool(task is not None and getattr(task, "cancelling", lambda: 0)())

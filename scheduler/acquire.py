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
import dataclasses
from typing import Awaitable, Callable, Dict, Optional

from sandbox.modes import MODES
from scheduler.admission import AdmissionLine
from scheduler.errors import Busy, SchedulerError, Unavailable
from scheduler.interface import Sandbox, WaitNotice
from scheduler.pool import WarmPool

COUNTERS = ("acquired_warm", "acquired_cold", "busy", "unavailable")
SHUT_DOWN = "the scheduler is shutting down"


@dataclasses.dataclass
class Acquirer:
    pool: WarmPool
    line: AdmissionLine
    has_room: Callable[[], bool]                     # for one more sandbox
    start: Callable[[str], Awaitable[Sandbox]]       # a cold start, within its own bound
    discard: Callable[[Sandbox], Awaitable[None]]
    seconds: float                                   # a session waits at most this
    on_start_ended: Callable[[], None]
    starting: int = 0                                # cold starts in flight
    counts: Dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    closed: bool = False

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
        self.line.room_changed()

    async def _get(self, mode: str, waiting: Optional[WaitNotice]) -> Sandbox:
        if self.closed:
            raise Unavailable(SHUT_DOWN)
        await self.line.wait_for_room(lambda: self._room_for(mode), waiting)
        if self.closed:
            raise Unavailable(SHUT_DOWN)
        sandbox = self.pool.take(mode)
        if sandbox is None:
            if waiting is not None:
                waiting("starting", 0)
            sandbox = await (self._refill_for(mode) if self.pool.spare(mode) > 0 else self._start_cold(mode))
        if self.closed:  # shut down while it was on its way
            await self.discard(sandbox)
            raise Unavailable(SHUT_DOWN)
        return sandbox

    def _room_for(self, mode: str) -> bool:
        # Closed counts as room: the line lets everyone go, to be told Unavailable.
        return (self.closed or self.pool.ready_count(mode) > 0 or self.pool.spare(mode) > 0
                or self.has_room())

    async def _refill_for(self, mode: str) -> Sandbox:
        try:
            return await asyncio.wait_for(self.pool.wait_for_refill(mode), self.seconds)
        except asyncio.TimeoutError:
            raise Unavailable(f"no {mode} sandbox was ready within {self.seconds:g}s") from None

    async def _start_cold(self, mode: str) -> Sandbox:
        self.starting += 1
        try:
            return await self.start(mode)
        except asyncio.CancelledError:
            if self.closed and not _being_cancelled():  # stopped by close(), not by our caller
                raise Unavailable(SHUT_DOWN) from None
            raise
        finally:
            self.starting -= 1
            self.on_start_ended()


def _being_cancelled() -> bool:
    """Whether our own task was asked to stop (Task.cancelling is Python 3.11+; 3.10 cannot tell)."""
    task = asyncio.current_task()
    return bool(task is not None and getattr(task, "cancelling", lambda: 0)())

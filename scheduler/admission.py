"""Admission: a bounded, first-come-first-served line for sandboxes when capacity is full.

A session that finds no pooled sandbox and no room for a new one waits here instead of
getting ``busy`` at once; its client is told it is queued (and where) while it waits.
Only a full line, or no room within the wait limit, answers ``busy``.
"""
from __future__ import annotations

import asyncio
from typing import Callable, List, Optional

from scheduler.errors import Busy
from scheduler.interface import WaitNotice


class AdmissionLine:
    def __init__(self, limit: int, seconds: float) -> None:
        self._limit = limit
        self._seconds = seconds
        self._waiting: List[object] = []
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._waiting)

    async def wait_for_room(self, has_room: Callable[[], bool], waiting: Optional[WaitNotice]) -> None:
        """Return once ``has_room()`` and every earlier waiter has gone; Busy if that takes
        longer than the wait limit or the line is full."""
        if has_room() and not self._waiting:
            return
        if len(self._waiting) >= self._limit:
            raise Busy(f"{len(self._waiting)} sessions already wait for a sandbox")
        me = object()
        self._waiting.append(me)
        loop = asyncio.get_running_loop()   # its clock, as the timeouts below use
        deadline = loop.time() + self._seconds
        told = -1
        try:
            while True:
                self._changed.clear()  # before the look, so a change during it is not lost
                if self._waiting[0] is me and has_room():
                    return
                position = self._waiting.index(me) + 1
                if waiting is not None and position != told:
                    waiting("queued", position)
                    told = position
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise Busy(f"no room for a sandbox within {self._seconds}s")
                try:  # a look each second too: a pool refill landing frees room without a word
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
                except asyncio.TimeoutError:
                    pass
        finally:
            self._waiting.remove(me)
            self.room_changed()

    def room_changed(self) -> None:
        """Capacity freed (a sandbox destroyed) or the line moved: waiters look again."""
        self._changed.set()

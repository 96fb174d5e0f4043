"""Warm pools: a few ready sandboxes per mode, refilled in the background.

Scheduler-agnostic: it is given how to make and destroy a sandbox, so the local
and the Nomad scheduler share it.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Awaitable, Callable, Deque, Dict, Optional, Set

from common.logs import get_logger
from scheduler.interface import Sandbox

log = get_logger("pyplay.pool")
RETRY_SECONDS = 1.0


class WarmPool:
    def __init__(self, sizes: Dict[str, int], make: Callable[[str], Awaitable[Sandbox]],
                 destroy: Callable[[Sandbox], Awaitable[None]],
                 may_grow: Callable[[], bool] = lambda: True, refill_delay: float = 0.0) -> None:
        self._sizes = {mode: size for mode, size in sizes.items() if size > 0}
        self._make = make
        self._destroy = destroy
        self._may_grow = may_grow
        self._refill_delay = refill_delay
        self._ready: Dict[str, Deque[Sandbox]] = {mode: deque() for mode in self._sizes}
        self._filling: Dict[str, int] = {mode: 0 for mode in self._sizes}
        self._tasks: Set[asyncio.Task] = set()
        self._closed = False
        self.failures = 0

    def start(self) -> None:
        for mode in self._sizes:
            self.refill(mode, delay=0.0)

    def take(self, mode: str) -> Optional[Sandbox]:
        """A pooled sandbox whose agent is still there, or None."""
        ready = self._ready.get(mode)
        while ready:
            sandbox = ready.popleft()
            self.refill(mode, delay=self._refill_delay)
            if not sandbox.agent.closed:
                return sandbox
            self._spawn(self._destroy(sandbox))
        return None

    def forget(self, sandbox: Sandbox) -> bool:
        """Drop a pooled sandbox that died; True if it was pooled."""
        ready = self._ready.get(sandbox.mode)
        if ready is not None and sandbox in ready:
            ready.remove(sandbox)
            self.refill(sandbox.mode)
            return True
        return False

    def refill(self, mode: str, delay: float = 0.0) -> None:
        if self._closed or mode not in self._sizes:
            return
        missing = self._sizes[mode] - len(self._ready[mode]) - self._filling[mode]
        for _ in range(max(0, missing)):
            if not self._may_grow():
                return
            self._filling[mode] += 1
            self._spawn(self._fill_one(mode, delay))

    async def _fill_one(self, mode: str, delay: float) -> None:
        # On a small machine a booting sandbox competes for CPU with the run that was just
        # handed out; a short delay lets that run print first.
        if delay:
            await asyncio.sleep(delay)
        try:
            sandbox = await self._make(mode)
        except Exception as error:  # noqa: BLE001 - a failed refill must not kill the pool
            self.failures += 1
            log.warning("pool_refill_failed", mode=mode, error=str(error))
            self._filling[mode] -= 1
            await asyncio.sleep(RETRY_SECONDS)
            self.refill(mode)
            return
        self._filling[mode] -= 1
        if self._closed:
            await self._destroy(sandbox)
            return
        sandbox.warm = True
        self._ready[mode].append(sandbox)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def ready_count(self, mode: str) -> int:
        return len(self._ready.get(mode, ()))

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        pooled = [sandbox for ready in self._ready.values() for sandbox in ready]
        for ready in self._ready.values():
            ready.clear()
        await asyncio.gather(*(self._destroy(sandbox) for sandbox in pooled), return_exceptions=True)

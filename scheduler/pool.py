"""Warm pools: a few ready sandboxes per mode, refilled in the background.

Both schedulers use this one pool.  It is told how to make, destroy and health-check a
sandbox, and when there is room to start one; it does no I/O of its own.  What it adds to
a list of ready sandboxes:

* waiters: an acquire that finds the pool empty while a refill is on its way may wait
  for that refill (``spare`` / ``wait_for_refill``) instead of starting one of its own;
* backoff: after a failed refill the mode's refills pause, doubling up to a cap, so a
  broken cluster or image is not hammered;
* dropping: pooled sandboxes that died, or that the health check calls unusable, are
  destroyed and replaced before anyone is handed them;
* a refill delay after each take, so the run just handed out is not slowed by the
  replacement booting beside it on a small machine.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Awaitable, Callable, Deque, Dict, List, Mapping, Optional, Set, Tuple

from common.logs import get_logger
from scheduler.errors import Unavailable
from scheduler.interface import Sandbox

log = get_logger("pyplay.pool")
FIRST_BACKOFF_SECONDS = 1.0

Make = Callable[[str], Awaitable[Sandbox]]
Destroy = Callable[[Sandbox], Awaitable[None]]
# Why a pooled sandbox must not be handed out, or "" when it may.
Unusable = Callable[[Sandbox], Awaitable[str]]


async def _always_usable(sandbox: Sandbox) -> str:
    return ""


class WarmPool:
    def __init__(self, sizes: Mapping[str, int], make: Make, destroy: Destroy, *,
                 room: Callable[[], bool] = lambda: True, unusable: Unusable = _always_usable,
                 on_change: Callable[[], None] = lambda: None,
                 refill_delay: float = 0.0, backoff_max: float = 60.0) -> None:
        """``room()`` is asked before each refill starts; ``on_change()`` is told when a
        refill has ended (a sandbox joined the pool or a start slot came free)."""
        self._sizes = {mode: size for mode, size in sizes.items() if size > 0}
        self._make, self._destroy, self._unusable = make, destroy, unusable
        self._room, self._on_change = room, on_change
        self._refill_delay, self._backoff_max = refill_delay, backoff_max
        self._ready: Dict[str, Deque[Sandbox]] = {mode: deque() for mode in self._sizes}
        self._refilling: Dict[str, int] = dict.fromkeys(self._sizes, 0)
        self._waiters: Dict[str, Deque[asyncio.Future[Sandbox]]] = {mode: deque() for mode in self._sizes}
        self._backoff: Dict[str, Tuple[float, float]] = {}        # mode -> (until, last delay)
        self._timers: Dict[str, asyncio.TimerHandle] = {}
        self._fills: Set[asyncio.Task[None]] = set()
        self._ending: Set[asyncio.Task[None]] = set()
        self._closed = False
        self.failures = 0

    # -- what is there ------------------------------------------------------------------------
    def ready_count(self, mode: str) -> int:
        return len(self._ready.get(mode, ()))

    def ready_total(self) -> int:
        return sum(len(ready) for ready in self._ready.values())

    def refilling_total(self) -> int:
        return sum(self._refilling.values())

    def spare(self, mode: str) -> int:
        """Refills of ``mode`` on their way that no waiting acquire has laid claim to yet."""
        waiting = sum(1 for future in self._waiters.get(mode, ()) if not future.done())
        return self._refilling.get(mode, 0) - waiting

    def wants(self, mode: str) -> bool:
        """True while one more sandbox of ``mode`` would be kept."""
        return self._missing(mode) > 0

    # -- handing out --------------------------------------------------------------------------
    def take(self, mode: str) -> Optional[Sandbox]:
        """A pooled sandbox whose agent is still there, or None."""
        ready = self._ready.get(mode)
        while ready:
            sandbox = ready.popleft()
            self._refill_later(mode, self._refill_delay)
            if not sandbox.agent.closed:
                sandbox.warm = True
                return sandbox
            self._end(sandbox)
        return None

    async def wait_for_refill(self, mode: str) -> Sandbox:
        """The next refill of ``mode`` to land; for use when ``spare(mode)`` is positive."""
        future: asyncio.Future[Sandbox] = asyncio.get_running_loop().create_future()
        self._waiters[mode].append(future)
        self.refill(mode)  # the refill this waiter claims no longer fills the pool
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._put_back(future.result())  # delivered just as the waiter gave up
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters[mode].remove(future)

    def add(self, sandbox: Sandbox) -> None:
        """A ready sandbox: to the longest-waiting acquire, else into the pool."""
        if self._closed:
            self._end(sandbox)
            return
        for future in self._waiters.get(sandbox.mode, ()):
            if not future.done():
                future.set_result(sandbox)
                return
        self._ready[sandbox.mode].append(sandbox)

    def _put_back(self, sandbox: Sandbox) -> None:
        if self._closed:
            self._end(sandbox)
        else:
            self._ready[sandbox.mode].appendleft(sandbox)

    # -- dropping -----------------------------------------------------------------------------
    async def drop_unusable(self) -> None:
        """Pooled sandboxes that died, or that the health check calls unusable, are replaced."""
        for sandbox in [sandbox for ready in self._ready.values() for sandbox in ready]:
            why = "its connection closed" if sandbox.agent.closed else await self._unusable(sandbox)
            ready = self._ready[sandbox.mode]
            if why and sandbox in ready:  # it may have been handed out while we asked
                ready.remove(sandbox)
                log.warning("pooled_sandbox_dropped", sandbox=sandbox.id, mode=sandbox.mode, reason=why)
                self._end(sandbox)
                self.refill(sandbox.mode)

    def _end(self, sandbox: Sandbox) -> None:
        sandbox.agent.close()
        self._spawn(self._ending, self._destroy(sandbox))

    # -- refilling ----------------------------------------------------------------------------
    def start(self) -> None:
        self.refill_all()

    def refill_all(self) -> None:
        for mode in self._sizes:
            self.refill(mode)

    def refill(self, mode: str) -> None:
        """Start the refills ``mode`` is missing, as far as there is room."""
        if self._closed or mode not in self._sizes:
            return
        backing_off = self._backoff.get(mode, (0.0, 0.0))[0] - self._now()
        if backing_off > 0:
            self._refill_later(mode, backing_off)
            return
        for _ in range(self._missing(mode)):
            if not self._room():
                return
            self._refilling[mode] += 1
            self._spawn(self._fills, self._fill(mode))

    def _missing(self, mode: str) -> int:
        return self._sizes.get(mode, 0) - self.ready_count(mode) - self.spare(mode)

    async def _fill(self, mode: str) -> None:
        try:
            sandbox = await self._make(mode)
        except Exception as error:  # noqa: BLE001 - a failed refill backs off; it must not kill the pool
            self._fill_failed(mode, error)
        else:
            self._backoff.pop(mode, None)
            self.add(sandbox)
        finally:
            self._refilling[mode] -= 1
            self.refill_all()  # a start slot came free
            self._on_change()

    def _fill_failed(self, mode: str, error: Exception) -> None:
        self.failures += 1
        delay = min(self._backoff_max, max(FIRST_BACKOFF_SECONDS, 2 * self._backoff.get(mode, (0.0, 0.0))[1]))
        self._backoff[mode] = (self._now() + delay, delay)
        log.warning("pool_refill_failed", mode=mode, error=str(error), retry_in=delay)
        for future in self._waiters[mode]:  # the longest waiter for it hears why
            if not future.done():
                future.set_exception(Unavailable(str(error)))
                return

    def _refill_later(self, mode: str, delay: float) -> None:
        """One timer per mode; an earlier one already set serves."""
        if delay <= 0:
            self.refill(mode)
            return
        loop = asyncio.get_running_loop()
        timer = self._timers.get(mode)
        if timer is not None:
            if timer.when() <= loop.time() + delay:
                return
            timer.cancel()
        self._timers[mode] = loop.call_later(delay, self._timer_fired, mode)

    def _timer_fired(self, mode: str) -> None:
        self._timers.pop(mode, None)
        self.refill(mode)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _spawn(self, group: Set[asyncio.Task[None]], coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        group.add(task)
        task.add_done_callback(group.discard)

    # -- the end ------------------------------------------------------------------------------
    async def close(self) -> None:
        """Stop refilling, send waiters away Unavailable, destroy every pooled sandbox."""
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        for task in list(self._fills):
            task.cancel()
        await asyncio.gather(*self._fills, return_exceptions=True)
        for waiters in self._waiters.values():
            for future in waiters:
                if not future.done():
                    future.set_exception(Unavailable("the scheduler is shutting down"))
        pooled: List[Sandbox] = [sandbox for ready in self._ready.values() for sandbox in ready]
        for ready in self._ready.values():
            ready.clear()
        for sandbox in pooled:
            self._end(sandbox)
        while self._ending:  # a destroy may be followed by another (a late refill landing)
            await asyncio.gather(*list(self._ending), return_exceptions=True)

"""The sandbox a session owns: taken once, reset in place between runs, replaced when the
agent cannot vouch for it, and never handed to another session.

Lifecycle of one session's sandbox::

    prepare / first run ──► acquire (pool, or cold; queued at capacity)
    run ends (EXIT)      ──► the agent resets in place and says READY ──► next run is warm
                         └─► a limit tripped, a crash, a mode change, N runs or M minutes,
                             or PYPLAY_SANDBOX_PER=run ──► released; the next run acquires

A session that ends while its run goes on (a dropped socket, waiting for a resume) leaves
the lease open for the run; whoever resumes the run owns the lease from then on.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, Optional, Set

from common.config import Config
from common.logs import get_logger
from scheduler.errors import AgentGone, Unavailable
from scheduler.interface import Sandbox, Scheduler, WaitNotice

log = get_logger("pyplay.lease")
COUNTERS = ("sandbox_runs_reused", "sandbox_replaced", "sandbox_resets_failed", "sandbox_idle_released")


class SessionSandbox:
    def __init__(self, config: Config, scheduler: Scheduler, counters: Dict[str, int], owner: object) -> None:
        self.config = config
        self.scheduler = scheduler
        self.counters = counters
        self.owner = owner
        self._sandbox: Optional[Sandbox] = None
        self._taken_at = 0.0
        self._runs = 0
        self._resetting: Optional[asyncio.Task[bool]] = None
        self._in_use = False
        self._lock = asyncio.Lock()
        self._closed = False
        self._idle_timer: Optional[asyncio.TimerHandle] = None
        self._releases: Set[asyncio.Task[None]] = set()

    @property
    def runs(self) -> int:
        """Runs the current sandbox has served before this one."""
        return self._runs

    async def take(self, mode: str, waiting: Optional[WaitNotice] = None) -> Sandbox:
        """The session's sandbox for ``mode``, ready to claim: its own if it is warm again
        (waiting for its reset to finish), else a new one."""
        async with self._lock:
            sandbox = self._sandbox
            if sandbox is not None and sandbox.mode == mode and await self._ready_again(sandbox):
                if self._runs:
                    self.counters["sandbox_runs_reused"] += 1
                return sandbox
            if sandbox is not None:
                self._retire("mode changed" if sandbox.mode != mode else "reset failed")
            sandbox = await self.scheduler.acquire(mode, waiting)
            if self._closed:
                self._spawn_release(sandbox)
                raise Unavailable("the session ended while its sandbox was starting")
            self._sandbox, self._taken_at, self._runs, self._resetting = sandbox, time.monotonic(), 0, None
            self._start_idle_timer()
            return sandbox

    def begin_run(self, sandbox: Sandbox) -> None:
        self._in_use = sandbox is self._sandbox
        self._cancel_idle_timer()

    def run_ended(self, sandbox: Sandbox, result: Dict[str, Any]) -> None:
        """The run's EXIT was read (or its link broke): keep the sandbox for the next run
        while the agent resets it, or let it go."""
        if sandbox is not self._sandbox:
            self._spawn_release(sandbox)
            return
        self._in_use = False
        self._runs += 1
        why = self._why_not_reuse(sandbox, result)
        if why is not None:
            self._retire(why)
        else:
            self._resetting = asyncio.ensure_future(self._until_ready(sandbox))
            self._start_idle_timer()

    def _why_not_reuse(self, sandbox: Sandbox, result: Dict[str, Any]) -> Optional[str]:
        if self._closed:
            return "session ended"
        if self.config.sandbox_per == "run":
            return "a sandbox per run"
        if not result.get("reusable") or not sandbox.can_reset:
            return f"the run ended with {result.get('reason')} {result.get('limit') or ''}".strip()
        if self._runs >= self.config.sandbox_max_runs:
            return f"{self._runs} runs"
        if time.monotonic() - self._taken_at > self.config.sandbox_max_age_seconds:
            return "old"
        return None

    async def _until_ready(self, sandbox: Sandbox) -> bool:
        try:
            return await sandbox.agent.reset(self.config.reset_seconds)
        except AgentGone as error:
            log.warning("reset_failed", sandbox=sandbox.id, error=str(error))
            self.counters["sandbox_resets_failed"] += 1
            return False

    async def _ready_again(self, sandbox: Sandbox) -> bool:
        resetting = self._resetting
        if resetting is not None:
            try:
                ready = await asyncio.shield(resetting)
            except asyncio.CancelledError:
                if not resetting.cancelled():
                    raise  # it is the caller that is being cancelled
                return False
            self._resetting = None
            if not ready:
                return False
        return not sandbox.agent.closed

    def adopt(self, owner: object) -> None:
        """A resume moved the session's run (and so this sandbox) to another socket."""
        self.owner = owner
        self._closed = False

    def close(self, owner: object) -> None:
        """The owning session ended: release now, or when its last run ends."""
        if owner is not self.owner:
            return  # another socket resumed this lease since
        self._closed = True
        if not self._in_use and self._sandbox is not None:
            self._retire("session ended")

    def _start_idle_timer(self) -> None:
        """A tab left open all night must not hold a sandbox: give it back after a while
        without runs; the next Run (or prepare) takes a new one."""
        self._cancel_idle_timer()
        self._idle_timer = asyncio.get_running_loop().call_later(self.config.sandbox_idle_seconds, self._idle)

    def _idle(self) -> None:
        if not self._in_use:
            self._retire("idle")

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _retire(self, why: str) -> None:
        self._cancel_idle_timer()
        sandbox, self._sandbox = self._sandbox, None
        resetting, self._resetting = self._resetting, None
        if resetting is not None:
            resetting.cancel()
        if sandbox is not None:
            if why == "idle":
                self.counters["sandbox_idle_released"] += 1
            elif why != "session ended":
                self.counters["sandbox_replaced"] += 1
            log.info("sandbox_retired", sandbox=sandbox.id, why=why, runs=self._runs)
            self._spawn_release(sandbox)

    def _spawn_release(self, sandbox: Sandbox) -> None:
        task = asyncio.ensure_future(self.scheduler.release(sandbox))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

"""NomadScheduler: sandboxes as dispatched Nomad batch jobs, found through Consul.

One dispatched child serves one session (many runs: its agent resets it in place between
them), so dispatches happen per session, not per run.  Nomad dispatch takes seconds, so
warm pools carry the load.  The parts, wired here:

    acquire ──► Acquirer (scheduler/acquire.py): WarmPool, AdmissionLine, cold starts
    starting and ending one sandbox ──► SandboxFactory (factory.py)
    orphans, failed purges, pooled sandboxes gone bad ──► Sweeper (sweeper.py)
    every API call ──► Cluster (cluster.py), off the event loop

Capacity: ``max_dispatching`` starts in flight (pool refills and cold starts together) and
``max_sandboxes`` live (pooled, in use and starting).  Past either, acquire() waits in the
bounded admission line (scheduler/admission.py) and answers Busy only when that line is
full or no room came in time.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Dict, Mapping, Optional

from common.config import Config
from common.logs import get_logger
from sandbox.modes import MODES
from scheduler.acquire import Acquirer
from scheduler.admission import AdmissionLine
from scheduler.interface import Sandbox, Scheduler, WaitNotice
from scheduler.nomad.api import NomadAPI
from scheduler.nomad.cluster import Cluster
from scheduler.nomad.consul import ConsulClient
from scheduler.nomad.factory import SandboxFactory
from scheduler.nomad.settings import NomadSettings
from scheduler.nomad.sweeper import Sweeper
from scheduler.pool import WarmPool

log = get_logger("pyplay.nomad")
SHUT_DOWN = "the Nomad scheduler is shut down"


class NomadScheduler(Scheduler):
    def __init__(self, config: Config, settings: Optional[NomadSettings] = None, *,
                 nomad_api: Optional[NomadAPI] = None, consul: Optional[ConsulClient] = None) -> None:
        self._config = config
        self._settings = settings or NomadSettings.from_env()
        self._cluster = Cluster(self._settings, nomad_api, consul)
        self._factory = SandboxFactory(self._settings, self._cluster, max_unpurged=4 * config.max_sandboxes)
        self._line = AdmissionLine(config.queue_limit, config.acquire_seconds)
        # No refill delay: a replacement boots on another machine, not beside the run handed out.
        self._pool = WarmPool(dict(config.pool_sizes), self._refill, self._factory.discard,
                              room=self._refill_room, unusable=self._factory.unusable, on_change=self._kick,
                              backoff_max=self._settings.refill_backoff_max_seconds)
        self._acquirer = Acquirer(self._pool, self._line, has_room=self._has_room, start=self._start_cold,
                                  discard=self._factory.discard, seconds=config.acquire_seconds,
                                  on_start_ended=self._kick)
        self._sweeper = Sweeper(self._settings, self._cluster, self._factory, self._pool)
        self._in_use: Dict[str, Sandbox] = {}
        self._wake = asyncio.Event()
        self._upkeep: Optional[asyncio.Task[None]] = None
        self._closed = False

    @classmethod
    def from_config(cls, config: Config, environ: Optional[Mapping[str, str]] = None) -> NomadScheduler:
        return cls(config, NomadSettings.from_env(environ))

    # ------------------------------------------------------------------ interface

    async def start(self) -> None:
        await self._sweeper.start()
        self._pool.start()   # after the sweep: adopted orphans fill the pool first
        self._upkeep = asyncio.get_running_loop().create_task(self._maintain())

    async def acquire(self, mode: str, waiting: Optional[WaitNotice] = None) -> Sandbox:
        sandbox = await self._acquirer.acquire(mode, waiting)
        self._in_use[sandbox.id] = sandbox
        return sandbox

    async def release(self, sandbox: Sandbox) -> None:
        sandbox.agent.close()
        if self._in_use.pop(sandbox.id, None) is None:
            return
        await self._factory.discard(sandbox)
        self._kick()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._acquirer.close()
        if self._upkeep is not None:
            self._upkeep.cancel()
            await asyncio.gather(self._upkeep, return_exceptions=True)
        await self._sweeper.close()
        await self._pool.close()
        doomed, self._in_use = list(self._in_use.values()), {}
        await asyncio.gather(*(self._factory.discard(sandbox) for sandbox in doomed))
        await self._factory.close()
        await self._cluster.close()

    def stats(self) -> Dict[str, float]:
        out: Dict[str, float] = {f"pool_ready_{mode}": float(self._pool.ready_count(mode)) for mode in MODES}
        out.update(sandboxes_live=float(self._live()), in_use=float(len(self._in_use)),
                   dispatching=float(self._dispatching()), unpurged=float(len(self._factory.unpurged)),
                   admission_waiting=float(len(self._line)))
        for counts in (self._acquirer.counts, self._factory.counts, self._sweeper.counts):
            out.update({name: float(count) for name, count in counts.items()})
        return out

    def ready_problem(self) -> Optional[str]:
        if self._closed:
            return SHUT_DOWN
        if self._sweeper.problem:
            return self._sweeper.problem
        if self._pool.ready_total():
            return None
        if self._live() >= self._config.max_sandboxes:
            return f"at capacity: {self._live()} sandboxes live"
        if self._dispatching() >= self._settings.max_dispatching:
            return f"at capacity: {self._dispatching()} sandbox starts in flight"
        return None

    # ------------------------------------------------------------------ capacity

    def _dispatching(self) -> int:
        return self._pool.refilling_total() + self._acquirer.starting

    def _live(self) -> int:
        return self._pool.ready_total() + len(self._in_use) + self._dispatching()

    def _has_room(self, starts_kept_free: int = 0) -> bool:
        return (self._dispatching() < self._settings.max_dispatching - starts_kept_free
                and self._live() < self._config.max_sandboxes)

    def _refill_room(self) -> bool:
        # Refills leave one start free, so a student of another mode is not refused; nor do
        # they start while sessions wait in line (the room is theirs) or while the parent
        # job cannot be dispatched.
        reserve = 1 if self._settings.max_dispatching > 1 else 0
        return self._sweeper.problem is None and not len(self._line) and self._has_room(reserve)

    async def _refill(self, mode: str) -> Sandbox:
        return await self._factory.make(mode, "warm", self._settings.start_seconds)

    async def _start_cold(self, mode: str) -> Sandbox:
        return await self._factory.make(mode, "cold", min(self._settings.start_seconds, self._config.acquire_seconds))

    # ------------------------------------------------------------------ upkeep

    def _kick(self) -> None:
        """Something changed (a start ended, a sandbox went): upkeep and the line look again."""
        self._wake.set()
        self._line.room_changed()

    async def _maintain(self) -> None:
        # Not `while True`: a cancel that meets a wake-up can be swallowed by wait_for.
        while not self._closed:
            try:
                await self._sweeper.upkeep()
                if self._sweeper.problem is None:
                    self._pool.refill_all()
            except Exception:  # noqa: BLE001 - upkeep must outlive any one failure
                log.exception("nomad_upkeep_failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.maintain_seconds)
            self._wake.clear()

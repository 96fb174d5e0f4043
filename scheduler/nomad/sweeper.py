"""What must not be left lying in the cluster: children of ours from before a restart,
purges that failed, strays, and pooled sandboxes that went bad.

At start-up (and until it succeeds) the sweeper checks the parameterized job and sweeps
orphans: children carrying our owner meta are adopted into the pool (``orphans=adopt``,
when healthy and unclaimed) or purged.  Afterwards, each upkeep round retries failed
purges and has the pool drop sandboxes that died, were replaced or sit on a leaving node,
each at most once per ``maintain_seconds``; and once per ``sweep_seconds`` it purges
strays, children older than ``stray_seconds`` that nobody tracks:

* ours, but the factory never heard of them: a dispatch whose answer was lost twice, or
  the loser of Nomad's idempotency race (a retry checked against a snapshot taken before
  the first request's Raft apply makes a second child);
* owned by an allocation of the control job (``control_job``) that no longer runs: a
  replica scaled away, replaced, or lost with its node.  Owners are
  ``<control job>/<allocation id>`` (jobspecs/pyplay.nomad.hcl), so this needs no
  guessing about names.

A child's meta never changes, so its owner is read once and remembered.
"""
from __future__ import annotations

import asyncio
import time
from typing import Dict, Optional, Set

from common.logs import get_logger
from sandbox.modes import MODES
from scheduler.errors import ClusterAPIError
from scheduler.nomad.api import ChildJob
from scheduler.nomad.cluster import Cluster
from scheduler.nomad.factory import SandboxFactory
from scheduler.nomad.settings import NomadSettings
from scheduler.pool import WarmPool

log = get_logger("pyplay.nomad")
COUNTERS = ("orphans_purged", "orphans_adopted", "strays_purged")


class Sweeper:
    def __init__(self, settings: NomadSettings, cluster: Cluster, factory: SandboxFactory, pool: WarmPool) -> None:
        self._settings = settings
        self._cluster = cluster
        self._factory = factory
        self._pool = pool
        self.problem: Optional[str] = None      # why sandboxes cannot be dispatched now
        self.counts: Dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._orphans_done = False
        self._last_run: Dict[str, float] = {}
        self._owners: Dict[str, str] = {}        # child job id -> its owner meta (immutable)
        # Its own task: the first sweep of a big cluster reads many children's meta, and
        # refills must not wait for it.
        self._stray_sweep: Optional[asyncio.Task[None]] = None

    async def start(self) -> None:
        """Check the parent job; once it can be dispatched, sweep the orphans (once)."""
        await self._check_parent()
        if self.problem is None and not self._orphans_done:
            await self._sweep_orphans()

    async def upkeep(self) -> None:
        if (self.problem is not None or not self._orphans_done) and self._due("parent"):
            await self.start()
        if self.problem is not None:
            return
        if self._factory.unpurged and self._due("purges"):
            for job_id in list(self._factory.unpurged):
                await self._factory.purge(job_id)
        if self._due("pooled"):
            await self._pool.drop_unusable()
        sweeping = self._stray_sweep is not None and not self._stray_sweep.done()
        if self._orphans_done and not sweeping and self._due("strays", self._settings.sweep_seconds):
            self._stray_sweep = asyncio.get_running_loop().create_task(self._sweep_strays())

    async def close(self) -> None:
        if self._stray_sweep is not None:
            self._stray_sweep.cancel()
            await asyncio.gather(self._stray_sweep, return_exceptions=True)

    def _due(self, what: str, every: float = 0.0) -> bool:
        """True at most once per ``every`` (maintain_seconds) for each kind of periodic work."""
        now = time.monotonic()
        if now - self._last_run.get(what, -1e9) < (every or self._settings.maintain_seconds):
            return False
        self._last_run[what] = now
        return True

    async def _check_parent(self) -> None:
        try:
            problem = await self._cluster.call(self._cluster.nomad.parent_problem, self._settings.job)
        except ClusterAPIError as error:
            problem = f"cannot reach Nomad at {self._settings.nomad_addr}: {error}"
        if problem and problem != self.problem:
            log.warning("nomad_not_ready", problem=problem)
        elif self.problem and not problem:
            log.info("nomad_ready_again")
        self.problem = problem

    async def _sweep_orphans(self) -> None:
        try:
            for child in await self._cluster.call(self._cluster.nomad.children, self._settings.job):
                await self._settle_orphan(child.id, child.status)
        except ClusterAPIError as error:
            log.warning("nomad_orphan_sweep_failed", error=str(error))
            return
        self._orphans_done = True
        log.info("nomad_orphan_sweep", purged=self.counts["orphans_purged"], adopted=self.counts["orphans_adopted"])

    async def _settle_orphan(self, job_id: str, status: str) -> None:
        meta = await self._cluster.call(self._cluster.nomad.job_meta, job_id)
        if meta is None or meta.get("owner") != self._settings.owner:
            return
        mode = meta.get("mode", "")
        if self._may_adopt(mode, status):
            sandbox = await self._factory.adopt(job_id, mode)
            if sandbox is not None:
                self._pool.add(sandbox)
                self.counts["orphans_adopted"] += 1
                return
        await self._factory.purge(job_id)
        self.counts["orphans_purged"] += 1

    def _may_adopt(self, mode: str, status: str) -> bool:
        return (self._settings.orphans == "adopt" and status == "running" and mode in MODES
                and self._pool.wants(mode))

    # ------------------------------------------------------------------ strays

    async def _sweep_strays(self) -> None:
        nomad, job = self._cluster.nomad, self._settings.control_job
        try:
            children = await self._cluster.call(nomad.children, self._settings.job)
            running = await self._cluster.call(nomad.running_allocations, job) if job else None
            for child in children:
                if await self._is_stray(child, running):
                    log.warning("nomad_stray_purged", job=child.id, owner=self._owners.get(child.id))
                    await self._factory.purge(child.id)
                    self.counts["strays_purged"] += 1
        except ClusterAPIError as error:
            log.warning("nomad_stray_sweep_failed", error=str(error))
            return
        listed = {child.id for child in children}
        for gone in set(self._owners) - listed:
            del self._owners[gone]

    async def _is_stray(self, child: ChildJob, running: Optional[Set[str]]) -> bool:
        if child.id in self._factory.jobs:
            return False
        if time.time_ns() - child.submitted_ns < self._settings.stray_seconds * 1e9:
            return False     # its dispatch may still be on its way back to its owner
        owner = self._owners.get(child.id)
        if owner is None:
            meta = await self._cluster.call(self._cluster.nomad.job_meta, child.id)
            if meta is None:
                return False
            owner = self._owners[child.id] = meta.get("owner", "")
        if owner == self._settings.owner:
            return True
        prefix = f"{self._settings.control_job}/"
        if running is None or not self._settings.control_job or not owner.startswith(prefix):
            return False
        return owner[len(prefix):] not in running

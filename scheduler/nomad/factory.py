"""Making and ending Nomad sandboxes: one sandbox is one dispatched child of the
parameterized job in jobspecs/sandbox.nomad.hcl.

Starting one: dispatch with an idempotency token, wait (within a bound) for its allocation
to run and its Consul check to pass, connect to the agent and read its HELLO; a child that
fails on the way is purged and another dispatched, a few times.  Ending one: stop and
purge the child, since dispatched children outlive their parent otherwise; a purge that
fails is remembered for the sweeper to retry.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from common.logs import get_logger
from sandbox.modes import has_display
from scheduler.agent_client import WireAgentClient, open_endpoint
from scheduler.errors import AgentGone, ClusterAPIError, Unavailable
from scheduler.interface import Sandbox, Streams
from scheduler.nomad.cluster import Cluster
from scheduler.nomad.consul import ServiceInstance
from scheduler.nomad.settings import NomadSettings

log = get_logger("pyplay.nomad")

# The sandbox job's Consul service carries this tag (see jobspecs/sandbox.nomad.hcl), so
# one allocation's instance can be asked for by name.
ALLOC_TAG = "alloc:{alloc_id}"
COUNTERS = ("sandboxes_created", "dispatches", "dispatch_failures", "start_failures", "purged", "purge_failures")


class _StartFailed(Exception):
    """This sandbox will not come up (its allocation failed, its agent is silent): try another."""


@dataclasses.dataclass
class _Progress:
    note: str = "dispatching"


class SandboxFactory:
    def __init__(self, settings: NomadSettings, cluster: Cluster, *, max_unpurged: int) -> None:
        self._settings = settings
        self._cluster = cluster
        self._max_unpurged = max_unpurged
        self.counts: Dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.unpurged: Dict[str, None] = {}                      # insertion-ordered set
        self._starts: Set[asyncio.Task[Any]] = set()
        self._cleanups: Set[asyncio.Task[Any]] = set()         # purges that must finish
        self._dispatch_calls: Set[asyncio.Future[Any]] = set()

    # ------------------------------------------------------------------ starting

    async def make(self, mode: str, pool: str, bound: float) -> Sandbox:
        """A sandbox that said HELLO, within ``bound`` seconds, else Unavailable.

        Runs as a task of our own, so close() can stop it; ``pool`` (warm or cold) goes
        into the dispatch meta for operators."""
        return await _spawn(self._starts, self._launch(mode, pool, bound))

    async def _launch(self, mode: str, pool: str, bound: float) -> Sandbox:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + bound
        created = time.time()
        failures: List[str] = []
        for attempt in range(1, self._settings.dispatch_attempts + 1):
            job_id = await self._dispatch(mode, pool)
            progress = _Progress("dispatched")
            try:
                sandbox = await asyncio.wait_for(self._bring_up(job_id, mode, created, progress),
                                                 deadline - loop.time())
            except _StartFailed as failure:
                self._start_failed(job_id, mode, attempt, str(failure), failures)
                if loop.time() >= deadline:
                    break
                continue
            except asyncio.TimeoutError:
                self._start_failed(job_id, mode, attempt, f"not ready in time ({progress.note})", failures)
                break
            except BaseException:
                self.purge_soon(job_id)
                raise
            self.counts["sandboxes_created"] += 1
            log.info("nomad_sandbox_ready", job=job_id, mode=mode, pool=pool, attempt=attempt,
                     seconds=round(sandbox.ready_at - created, 3))
            return sandbox
        raise Unavailable(f"no {mode} sandbox within {bound:g}s: " + "; ".join(failures))

    def _start_failed(self, job_id: str, mode: str, attempt: int, why: str, failures: List[str]) -> None:
        self.counts["start_failures"] += 1
        failures.append(f"{job_id}: {why}")
        log.warning("nomad_sandbox_start_failed", job=job_id, mode=mode, attempt=attempt, reason=why)
        self.purge_soon(job_id)

    async def _dispatch(self, mode: str, pool: str) -> str:
        meta = {"mode": mode, "pool": pool, "owner": self._settings.owner}
        token = uuid.uuid4().hex
        for attempt in (1, 2):
            try:
                job_id = await self._dispatch_call(meta, token)
            except ClusterAPIError as error:
                # No answer: Nomad may have made the child.  The same token makes the retry
                # return that child rather than a second one.
                if error.transient and attempt == 1:
                    continue
                self.counts["dispatch_failures"] += 1
                raise Unavailable(f"dispatching {self._settings.job} failed: {error}") from None
            self.counts["dispatches"] += 1
            return job_id
        raise AssertionError("unreachable")

    async def _dispatch_call(self, meta: Dict[str, str], token: str) -> str:
        future = self._cluster.submit(self._cluster.nomad.dispatch, self._settings.job, meta, token)
        self._dispatch_calls.add(future)
        future.add_done_callback(self._dispatch_calls.discard)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(self._purge_if_dispatched)
            raise

    def _purge_if_dispatched(self, future: asyncio.Future[str]) -> None:
        if not future.cancelled() and future.exception() is None:
            self.purge_soon(future.result())

    async def adopt(self, job_id: str, mode: str) -> Optional[Sandbox]:
        """A child dispatched before a restart, if it is healthy now and its agent still
        says HELLO (so nobody has claimed it); else None."""
        progress = _Progress("adopting")
        try:
            return await asyncio.wait_for(self._bring_up(job_id, mode, time.time(), progress),
                                          self._settings.connect_seconds)
        except (_StartFailed, asyncio.TimeoutError) as error:
            log.info("nomad_orphan_not_adoptable", job=job_id, reason=str(error) or progress.note)
            return None

    async def _bring_up(self, job_id: str, mode: str, created: float, progress: _Progress) -> Sandbox:
        instance = await self._wait_healthy(job_id, progress)
        endpoint = instance.endpoint()
        progress.note = f"connecting to the agent at {endpoint[1]}"
        try:
            agent = await WireAgentClient.connect(endpoint, self._settings.connect_seconds)
        except (OSError, asyncio.TimeoutError, AgentGone) as error:
            raise _StartFailed(f"the agent at {endpoint[1]} did not say hello ({error!r})") from None
        try:
            if agent.hello.get("mode", mode) != mode:
                raise _StartFailed(f"the agent is a {agent.hello.get('mode')} sandbox, not {mode}")
            return Sandbox(id=job_id, mode=mode, agent=agent, created_at=created, ready_at=time.time(),
                           display=_display_opener(instance, mode))
        except BaseException:
            agent.close()
            raise

    async def _wait_healthy(self, job_id: str, progress: _Progress) -> ServiceInstance:
        """Poll Nomad and Consul until the child's allocation runs with passing checks."""
        while True:
            try:
                instance = await self._healthy_instance(job_id, progress)
            except ClusterAPIError as error:
                progress.note = f"cluster API: {error}"
                instance = None
            if instance is not None:
                return instance
            await asyncio.sleep(self._settings.poll_seconds)

    async def _healthy_instance(self, job_id: str, progress: _Progress) -> Optional[ServiceInstance]:
        allocations = await self._cluster.call(self._cluster.nomad.allocations, job_id)
        if not allocations:
            progress.note = "no allocation placed yet (no client with room?)"
            return None
        allocation = allocations[-1]
        if allocation.terminal:
            raise _StartFailed(f"allocation {allocation.id} {allocation.status}: {allocation.why}")
        if allocation.status != "running":
            progress.note = f"allocation {allocation.id} {allocation.status}"
            return None
        tag = ALLOC_TAG.format(alloc_id=allocation.id)
        instances = await self._cluster.call(self._cluster.consul.instances, self._settings.service, tag)
        healthy = [instance for instance in instances if instance.passing]
        states = ", ".join(instance.status for instance in instances) or "not registered yet"
        progress.note = f"allocation {allocation.id} running; Consul health: {states}"
        return healthy[0] if healthy else None

    # ------------------------------------------------------------------ a pooled sandbox's health

    async def unusable(self, sandbox: Sandbox) -> str:
        """Why a pooled sandbox must not be handed out, or "" when it may.

        A drain gives running batch allocations until its deadline; a pooled sandbox
        claimed just before that deadline would be cut off mid-run, so it goes now."""
        nomad = self._cluster.nomad
        try:
            allocations = await self._cluster.call(nomad.allocations, sandbox.id)
            if not allocations or allocations[-1].terminal or allocations[-1].status != "running":
                return "its allocation is not running"
            if await self._cluster.call(nomad.migrating, allocations[-1].id):
                return "its node is draining"
        except ClusterAPIError:
            return ""   # unknown is not dead; the next round asks again
        return ""

    # ------------------------------------------------------------------ ending

    async def discard(self, sandbox: Sandbox) -> None:
        """End a sandbox; shielded, so a cancelled caller does not leave the child running."""
        sandbox.agent.close()
        await asyncio.shield(self.purge_soon(sandbox.id))

    def purge_soon(self, job_id: str) -> asyncio.Task[None]:
        """A purge that runs to its end whatever happens to the caller; close() waits for it."""
        return _spawn(self._cleanups, self.purge(job_id))

    async def purge(self, job_id: str) -> None:
        try:
            await self._cluster.call(self._cluster.nomad.purge, job_id)
        except ClusterAPIError as error:
            self.counts["purge_failures"] += 1
            self._remember_unpurged(job_id)
            log.warning("nomad_purge_failed", job=job_id, error=str(error))
            return
        self.unpurged.pop(job_id, None)
        self.counts["purged"] += 1

    def _remember_unpurged(self, job_id: str) -> None:
        self.unpurged[job_id] = None
        while len(self.unpurged) > self._max_unpurged:
            dropped = next(iter(self.unpurged))
            del self.unpurged[dropped]
            log.error("nomad_purge_given_up", job=dropped, hint="the next start-up sweep removes it")

    async def close(self) -> None:
        """Stop the starts in flight, then see every purge through (the cluster is still up)."""
        for task in list(self._starts):
            task.cancel()
        await asyncio.gather(*list(self._starts), return_exceptions=True)
        # Dispatches whose callers were cancelled finish on their own (bounded by the API
        # timeout); their done-callbacks queue the purge of whatever they created.
        await asyncio.gather(*list(self._dispatch_calls), return_exceptions=True)
        await asyncio.sleep(0)
        while self._cleanups:
            await asyncio.gather(*list(self._cleanups), return_exceptions=True)


def _spawn(group: Set[asyncio.Task[Any]], coroutine: Any) -> asyncio.Task[Any]:
    task = asyncio.get_running_loop().create_task(coroutine)
    group.add(task)
    task.add_done_callback(group.discard)
    return task


def _display_opener(instance: ServiceInstance, mode: str) -> Optional[Callable[[], Awaitable[Streams]]]:
    if not has_display(mode):
        return None
    port = str(instance.meta.get("vnc_port", ""))
    if not port.isdigit():
        raise _StartFailed(f"the sandbox's Consul service has no vnc_port meta ({instance.meta!r})")
    endpoint = instance.endpoint(int(port))
    return lambda: open_endpoint(endpoint)

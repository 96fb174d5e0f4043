"""Making and ending Nomad sandboxes: one sandbox is one dispatched child of the
parameterized job in jobspecs/sandbox.nomad.hcl.

Starting one: dispatch with an idempotency token, wait (within a bound, on a blocking
query) for its allocation to run and its Consul check to pass, connect to the agent and
read its HELLO; a child that fails on the way is purged and another dispatched, a few
times.  Ending one: stop and purge the child, since dispatched children outlive their
parent otherwise; a purge that fails is remembered for the sweeper to retry.

A sandbox is bound to the first allocation of its child.  Nomad replaces a lost
allocation whatever the job's reschedule policy says; the replacement is a fresh agent
nobody connected to, so a sandbox whose allocation was replaced (or is lost, unknown or
stopping) is unusable, never "healthy again".  Every child this factory made and has
not purged is in ``jobs``: the sweeper purges children of ours that are not.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Tuple

from common.logs import get_logger
from sandbox.modes import has_display
from scheduler.agent_client import WireAgentClient, open_endpoint
from scheduler.errors import AgentGone, ClusterAPIError, Unavailable
from scheduler.interface import Sandbox, Streams
from scheduler.nomad.api import AllocationState, NodeState
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


@dataclasses.dataclass(frozen=True)
class Placement:
    """The one allocation a sandbox is, and the node it is on."""
    alloc_id: str
    node_id: str


class SandboxFactory:
    def __init__(self, settings: NomadSettings, cluster: Cluster, *, max_unpurged: int) -> None:
        self._settings = settings
        self._cluster = cluster
        self._max_unpurged = max_unpurged
        self.counts: Dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.unpurged: Dict[str, None] = {}                      # insertion-ordered set
        self.jobs: Set[str] = set()                              # made (or adopted), not purged yet
        self.placements: Dict[str, Placement] = {}               # job id -> its bound allocation
        self._nodes: Dict[str, Tuple[float, NodeState]] = {}     # node id -> (read at, state)
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
                # return that child, unless the first request is still being applied (Nomad
                # checks the token on a snapshot before its Raft apply): then a second child
                # is made, and the sweeper purges the one we were never told of.
                if error.transient and attempt == 1:
                    continue
                self.counts["dispatch_failures"] += 1
                raise Unavailable(f"dispatching {self._settings.job} failed: {error}") from None
            self.counts["dispatches"] += 1
            self.jobs.add(job_id)
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
        self.jobs.add(job_id)
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
            agent = await WireAgentClient.connect(endpoint, self._settings.connect_seconds,
                                                  self._settings.agent_keepalive_seconds)
        except (OSError, asyncio.TimeoutError, AgentGone) as error:
            raise _StartFailed(f"the agent at {endpoint[1]} did not say hello ({error!r})") from None
        try:
            if agent.hello.get("mode", mode) != mode:
                raise _StartFailed(f"the agent is a {agent.hello.get('mode')} sandbox, not {mode}")
            keepalive = self._settings.agent_keepalive_seconds
            return Sandbox(id=job_id, mode=mode, agent=agent, created_at=created, ready_at=time.time(),
                           display=_port_opener(instance, has_display(mode), "vnc_port", keepalive),
                           audio=_port_opener(instance, mode == "pygame", "audio_port", keepalive))
        except BaseException:
            agent.close()
            raise

    async def _wait_healthy(self, job_id: str, progress: _Progress) -> ServiceInstance:
        """Wait until the child's allocation runs with passing checks.  Every look at Nomad
        after the first is a blocking query: while the allocation is placed and started it
        waits up to block_seconds for a change; while Consul's check is awaited its wait
        (poll_seconds) is the pause between two looks at Consul, cut short if the
        allocation fails meanwhile."""
        index, wait = 0, self._settings.block_seconds
        while True:
            try:
                allocations, index = await self._cluster.call(
                    self._cluster.nomad.allocations, job_id, index, wait)
                allocation = self._bound(job_id, allocations, progress)
                wait = self._settings.block_seconds
                if allocation is not None and allocation.status == "running":
                    instance = await self._passing_instance(allocation, progress)
                    if instance is not None:
                        return instance
                    wait = self._settings.poll_seconds
            except ClusterAPIError as error:
                progress.note = f"cluster API: {error}"
                index = 0
                await asyncio.sleep(self._settings.poll_seconds)

    def _bound(self, job_id: str, allocations: List[AllocationState],
               progress: _Progress) -> Optional[AllocationState]:
        """The sandbox's own allocation (the first one placed), never a replacement."""
        if not allocations:
            progress.note = "no allocation placed yet (no client with room?)"
            return None
        placement = self.placements.get(job_id)
        if placement is None:
            first = allocations[0]
            placement = self.placements[job_id] = Placement(first.id, first.node_id)
        problem = placement_problem(placement, allocations)
        if problem:
            raise _StartFailed(problem)
        allocation = next(a for a in allocations if a.id == placement.alloc_id)
        progress.note = f"allocation {allocation.id} {allocation.status}"
        return allocation

    async def _passing_instance(self, allocation: AllocationState, progress: _Progress) -> Optional[ServiceInstance]:
        tag = ALLOC_TAG.format(alloc_id=allocation.id)
        instances = await self._cluster.call(self._cluster.consul.instances, self._settings.service, tag)
        healthy = [instance for instance in instances if instance.passing]
        states = ", ".join(instance.status for instance in instances) or "not registered yet"
        progress.note = f"allocation {allocation.id} running; Consul health: {states}"
        return healthy[0] if healthy else None

    # ------------------------------------------------------------------ a pooled sandbox's health

    async def unusable(self, sandbox: Sandbox) -> str:
        """Why a pooled sandbox must not be handed out, or "" when it may.

        Its allocation must still be the one it was bound to, running.  Its node must not
        be leaving: a drain (an operator's, or the autoscaler's scale-in) leaves batch
        allocations alone until its deadline and then kills them, so a pooled sandbox
        claimed on a draining node would be cut off mid-run; it goes now instead."""
        placement = self.placements.get(sandbox.id)
        if placement is None:
            return "it has no allocation"
        try:
            allocations, _ = await self._cluster.call(self._cluster.nomad.allocations, sandbox.id)
            problem = placement_problem(placement, allocations)
            mine = [a for a in allocations if a.id == placement.alloc_id]
            if not problem and mine[0].status != "running":
                problem = f"its allocation is {mine[0].status}"
            if problem:
                return problem
            node = await self._node(placement.node_id)
        except ClusterAPIError:
            return ""   # unknown is not dead; the next round asks again
        return node.leaving

    async def _node(self, node_id: str) -> NodeState:
        """The node's state, read at most once per node_cache_seconds for all its sandboxes."""
        now = time.monotonic()
        cached = self._nodes.get(node_id)
        if cached is not None and now - cached[0] < self._settings.node_cache_seconds:
            return cached[1]
        state = await self._cluster.call(self._cluster.nomad.node, node_id)
        stale = [key for key, (at, _) in self._nodes.items() if now - at >= self._settings.node_cache_seconds]
        for key in stale:
            del self._nodes[key]
        self._nodes[node_id] = (now, state)
        return state

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
        self.jobs.discard(job_id)
        self.placements.pop(job_id, None)
        self.counts["purged"] += 1

    def _remember_unpurged(self, job_id: str) -> None:
        self.unpurged[job_id] = None
        while len(self.unpurged) > self._max_unpurged:
            dropped = next(iter(self.unpurged))
            del self.unpurged[dropped]
            self.jobs.discard(dropped)
            self.placements.pop(dropped, None)
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


def placement_problem(placement: Placement, allocations: List[AllocationState]) -> str:
    """Why ``allocations`` (of one child, oldest first) say the sandbox is gone, or ""."""
    mine = [allocation for allocation in allocations if allocation.id == placement.alloc_id]
    if not mine:
        return f"its allocation {placement.alloc_id} is gone"
    if mine[0].terminal:
        return f"its allocation {mine[0].id} is {mine[0].status} (desired {mine[0].desired}): {mine[0].why}"
    newer = [allocation.id for allocation in allocations if allocation.create_index > mine[0].create_index]
    if newer:
        return f"Nomad replaced its allocation {mine[0].id} with {newer[0]}"
    return ""


def _port_opener(instance: ServiceInstance, wanted: bool, meta_key: str,
                 keepalive_seconds: float) -> Optional[Callable[[], Awaitable[Streams]]]:
    """Opens the allocation's port named in the service's meta (the display's, the sound's)."""
    if not wanted:
        return None
    port = str(instance.meta.get(meta_key, ""))
    if not port.isdigit():
        raise _StartFailed(f"the sandbox's Consul service has no {meta_key} meta ({instance.meta!r})")
    endpoint = instance.endpoint(int(port))
    return lambda: open_endpoint(endpoint, keepalive_seconds)

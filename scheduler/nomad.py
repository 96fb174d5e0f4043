"""NomadScheduler: sandboxes as dispatched Nomad batch jobs, found through Consul.

One sandbox is one dispatched child of the parameterized job in jobspecs/sandbox.nomad.hcl.
Starting one: dispatch with an idempotency token, wait (within a bound) for its allocation
to run and its Consul check to pass, connect to the agent and read its HELLO.  Ending one:
stop and purge the child, since dispatched children outlive their parent otherwise.

One dispatched child serves one session (many runs: its agent resets it in place between
them), so dispatches happen per session, not per run.  Nomad dispatch takes seconds, so
warm pools carry the load: acquire() takes a pooled sandbox, else waits for a refill
already on its way, else dispatches one itself.  At capacity (the dispatch cap or
max_sandboxes) it waits in the bounded admission line (scheduler/admission.py), and
answers Busy only when that line is full or no room came in time.
python-nomad and the Consul client block; every call runs on a bounded executor of our
own, never on the event loop.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import dataclasses
import functools
import os
import time
import uuid
from typing import Any, Awaitable, Callable, Deque, Dict, List, Mapping, Optional, Set, Tuple, TypeVar, Union

from common.config import Config, ConfigError, values_from_env
from common.logs import get_logger
from sandbox.modes import MODES, has_display
from scheduler.admission import AdmissionLine
from scheduler.agent_client import WireAgentClient, open_endpoint
from scheduler.consul import ConsulClient, ServiceInstance, consul_base_url
from scheduler.errors import AgentGone, Busy, ClusterAPIError, SandboxFailed, Unavailable
from scheduler.interface import Sandbox, Scheduler, Streams, WaitNotice
from scheduler.nomad_client import NomadAPI

log = get_logger("pyplay.nomad")
T = TypeVar("T")

# The sandbox job's Consul service carries this tag (see jobspecs/sandbox.nomad.hcl), so
# one allocation's instance can be asked for by name.
ALLOC_TAG = "alloc:{alloc_id}"
# Counters in /metrics; names shared with LocalScheduler where the meaning is the same.
COUNTERS = ("sandboxes_created", "acquired_warm", "acquired_cold", "dispatches", "dispatch_failures", "start_failures",
            "unavailable", "busy", "purged", "purge_failures", "orphans_purged", "orphans_adopted")

SETTINGS_PREFIX = "PYPLAY_NOMAD_"
# Settings operators already know by the names the nomad and consul CLIs read.
STANDARD_ENV = {
    "nomad_addr": "NOMAD_ADDR", "nomad_token": "NOMAD_TOKEN",
    "nomad_namespace": "NOMAD_NAMESPACE", "nomad_region": "NOMAD_REGION",
    "nomad_ca_cert": "NOMAD_CACERT", "nomad_client_cert": "NOMAD_CLIENT_CERT",
    "nomad_client_key": "NOMAD_CLIENT_KEY",
    "consul_addr": "CONSUL_HTTP_ADDR", "consul_token": "CONSUL_HTTP_TOKEN",
    "consul_ssl": "CONSUL_HTTP_SSL", "consul_ca_cert": "CONSUL_CACERT",
    "consul_client_cert": "CONSUL_CLIENT_CERT", "consul_client_key": "CONSUL_CLIENT_KEY",
}


@dataclasses.dataclass(frozen=True)
class NomadSettings:
    """Everything NomadScheduler needs beyond Config.  Read by ``from_env``."""

    nomad_addr: str = "http://127.0.0.1:4646"
    nomad_token: str = ""
    nomad_namespace: str = ""
    nomad_region: str = ""
    nomad_ca_cert: str = ""
    nomad_client_cert: str = ""
    nomad_client_key: str = ""
    consul_addr: str = "127.0.0.1:8500"       # host:port or a URL, as the consul CLI reads it
    consul_token: str = ""
    consul_ssl: bool = False                  # https when consul_addr has no scheme
    consul_ca_cert: str = ""
    consul_client_cert: str = ""
    consul_client_key: str = ""
    tls_verify: bool = True                   # certificates are checked unless this is false
    job: str = "pyplay-sandbox"               # the parameterized job dispatched per sandbox
    service: str = "pyplay-sandbox"           # its Consul service
    owner: str = "pyplay"                     # dispatch meta telling whose children they are
    orphans: str = "purge"                    # at start-up: purge | adopt (healthy, unclaimed)
    max_dispatching: int = 8                  # starts in flight; past this acquire() waits in line
    start_seconds: float = 60.0               # dispatch to HELLO, for pool refills
    dispatch_attempts: int = 3                # allocations that fail are retried this often
    poll_seconds: float = 0.5
    connect_seconds: float = 10.0             # TCP connect + HELLO from the agent
    api_timeout_seconds: float = 10.0
    api_threads: int = 8                      # the executor running blocking API calls
    maintain_seconds: float = 5.0             # pool upkeep when nothing wakes it sooner
    refill_backoff_max_seconds: float = 60.0

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: Any) -> "NomadSettings":
        environ = os.environ if environ is None else environ
        values = values_from_env(cls, environ, lambda name: STANDARD_ENV.get(name, SETTINGS_PREFIX + name.upper()))
        values.update(overrides)
        return cls(**values).validated()

    def validated(self) -> "NomadSettings":
        if self.orphans not in ("purge", "adopt"):
            raise ConfigError(f"{SETTINGS_PREFIX}ORPHANS must be purge or adopt, not {self.orphans!r}")
        for name in ("max_dispatching", "dispatch_attempts", "api_threads", "start_seconds",
                     "poll_seconds", "connect_seconds", "api_timeout_seconds", "maintain_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{SETTINGS_PREFIX}{name.upper()} must be positive")
        return self

    def nomad_api(self) -> NomadAPI:
        return NomadAPI(address=self.nomad_addr, token=self.nomad_token,
                        namespace=self.nomad_namespace, region=self.nomad_region,
                        verify=_verify(self.tls_verify, self.nomad_ca_cert),
                        cert=_cert(self.nomad_client_cert, self.nomad_client_key),
                        timeout=self.api_timeout_seconds)

    def consul_client(self) -> ConsulClient:
        return ConsulClient(address=consul_base_url(self.consul_addr, self.consul_ssl),
                            token=self.consul_token,
                            verify=_verify(self.tls_verify, self.consul_ca_cert),
                            cert=_cert(self.consul_client_cert, self.consul_client_key),
                            timeout=self.api_timeout_seconds)


def _verify(enabled: bool, ca_cert: str) -> Union[bool, str]:
    return (ca_cert or True) if enabled else False


def _cert(cert: str, key: str) -> Tuple[str, ...]:
    return (cert, key) if cert and key else ()


class _StartFailed(Exception):
    """This sandbox will not come up (its allocation failed, its agent is silent): try another."""


@dataclasses.dataclass
class _Progress:
    note: str = "dispatching"


class NomadScheduler(Scheduler):
    def __init__(self, config: Config, settings: Optional[NomadSettings] = None, *,
                 nomad_api: Optional[NomadAPI] = None, consul: Optional[ConsulClient] = None) -> None:
        self._config = config
        self._settings = settings or NomadSettings.from_env()
        self._nomad = nomad_api or self._settings.nomad_api()
        self._consul = consul or self._settings.consul_client()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self._settings.api_threads, thread_name_prefix="pyplay-nomad")
        self._pools: Dict[str, Deque[Sandbox]] = {mode: collections.deque() for mode in MODES}
        self._waiters: Dict[str, Deque["asyncio.Future[Sandbox]"]] = {m: collections.deque() for m in MODES}
        self._refilling: Dict[str, int] = dict.fromkeys(MODES, 0)
        self._backoff: Dict[str, Tuple[float, float]] = {}      # mode -> (until, last delay)
        self._in_use: Dict[str, Sandbox] = {}
        self._dispatching = 0
        self._line = AdmissionLine(config.queue_limit, config.acquire_seconds)
        self._unpurged: Dict[str, None] = {}                     # insertion-ordered set
        self._workers: Set["asyncio.Task[Any]"] = set()          # upkeep and refills
        self._cleanups: Set["asyncio.Task[Any]"] = set()         # purges that must finish
        self._dispatch_calls: Set["asyncio.Future[Any]"] = set()
        self._last_run: Dict[str, float] = {}
        self._wake = asyncio.Event()
        self._counts: Dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._problem: Optional[str] = None
        self._orphans_done = False
        self._closed = False
        self._executor_down = False

    @classmethod
    def from_config(cls, config: Config, environ: Optional[Mapping[str, str]] = None) -> "NomadScheduler":
        return cls(config, NomadSettings.from_env(environ))

    # ------------------------------------------------------------------ interface

    async def start(self) -> None:
        await self._check_parent()
        if self._problem is None:
            await self._sweep_orphans()
        self._spawn(self._workers, self._maintain())

    async def acquire(self, mode: str, waiting: Optional[WaitNotice] = None) -> Sandbox:
        if mode not in MODES:
            raise SandboxFailed(f"unknown mode {mode!r}")
        if self._closed:
            raise Unavailable("the Nomad scheduler is shut down")
        try:
            await self._line.wait_for_room(lambda: self._has_room(mode), waiting)
        except Busy:
            self._counts["busy"] += 1
            raise
        if self._closed:
            raise Unavailable("the Nomad scheduler is shut down")
        sandbox = self._take_pooled(mode)
        if sandbox is None:
            if waiting is not None:
                waiting("starting", 0)
            if self._spare_refills(mode) > 0:
                sandbox = await self._wait_for_refill(mode)
            else:
                sandbox = await self._start_counted(mode)
        if self._closed:   # shut down while this start was on its way
            sandbox.agent.close()
            await asyncio.shield(self._spawn(self._cleanups, self._purge(sandbox.id)))
            raise Unavailable("the Nomad scheduler is shut down")
        self._counts["acquired_warm" if sandbox.warm else "acquired_cold"] += 1
        self._in_use[sandbox.id] = sandbox
        self._kick()
        return sandbox

    async def release(self, sandbox: Sandbox) -> None:
        sandbox.agent.close()
        if self._in_use.pop(sandbox.id, None) is None:
            return
        # Shielded: a cancelled caller must not leave the child job running.
        await asyncio.shield(self._spawn(self._cleanups, self._purge(sandbox.id)))
        self._kick()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._line.room_changed()   # whoever waits in line leaves it, to hear Unavailable
        await self._cancel_workers()
        for mode, waiters in self._waiters.items():
            for future in waiters:
                if not future.done():
                    future.set_exception(Unavailable("the Nomad scheduler is shut down"))
        doomed = [s for pool in self._pools.values() for s in pool] + list(self._in_use.values())
        for pool in self._pools.values():
            pool.clear()
        self._in_use.clear()
        for sandbox in doomed:
            sandbox.agent.close()
            self._spawn(self._cleanups, self._purge(sandbox.id))
        while self._cleanups:
            await asyncio.gather(*list(self._cleanups), return_exceptions=True)
        self._executor_down = True
        self._nomad.close()
        self._consul.close()
        # Off the loop: a call still in flight may take up to the API timeout to return.
        await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(self._executor.shutdown, wait=True))

    def stats(self) -> Dict[str, float]:
        out: Dict[str, float] = {f"pool_ready_{mode}": float(len(pool)) for mode, pool in self._pools.items()}
        out.update(sandboxes_live=float(self._live()), in_use=float(len(self._in_use)),
                   dispatching=float(self._dispatching), unpurged=float(len(self._unpurged)),
                   admission_waiting=float(len(self._line)))
        out.update({name: float(count) for name, count in self._counts.items()})
        return out

    def ready_problem(self) -> Optional[str]:
        if self._closed:
            return "the Nomad scheduler is shut down"
        if self._problem:
            return self._problem
        if any(self._pools.values()):
            return None
        if self._live() >= self._config.max_sandboxes:
            return f"at capacity: {self._live()} sandboxes live"
        if self._dispatching >= self._settings.max_dispatching:
            return f"at capacity: {self._dispatching} sandbox starts in flight"
        return None

    # ------------------------------------------------------------------ acquiring

    def _take_pooled(self, mode: str) -> Optional[Sandbox]:
        pool = self._pools[mode]
        while pool:
            sandbox = pool.popleft()
            if not sandbox.agent.closed:
                sandbox.warm = True
                return sandbox
            self._spawn(self._cleanups, self._purge(sandbox.id))
        return None

    def _spare_refills(self, mode: str) -> int:
        """Refills on their way that no waiting acquire has laid claim to yet."""
        waiting = sum(1 for future in self._waiters[mode] if not future.done())
        return self._refilling[mode] - waiting

    async def _wait_for_refill(self, mode: str) -> Sandbox:
        future: "asyncio.Future[Sandbox]" = asyncio.get_running_loop().create_future()
        self._waiters[mode].append(future)
        try:
            return await asyncio.wait_for(future, self._config.acquire_seconds)
        except asyncio.TimeoutError:
            self._counts["unavailable"] += 1
            raise Unavailable(f"no {mode} sandbox was ready within {self._config.acquire_seconds:g}s") from None
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._pools[mode].appendleft(future.result())   # delivered as we were cancelled
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters[mode].remove(future)

    def _has_room(self, mode: str) -> bool:
        """A pooled sandbox, a refill nobody has claimed, or room to dispatch (or shut down)."""
        return (self._closed or bool(self._pools[mode]) or self._spare_refills(mode) > 0
                or (self._dispatching < self._settings.max_dispatching
                    and self._live() < self._config.max_sandboxes))

    def _live(self) -> int:
        return sum(len(pool) for pool in self._pools.values()) + len(self._in_use) + self._dispatching

    async def _start_counted(self, mode: str) -> Sandbox:
        """A cold start for one acquire.  Run as our own task, so close() can stop it."""
        bound = min(self._settings.start_seconds, self._config.acquire_seconds)
        self._dispatching += 1
        launch = self._spawn(self._workers, self._launch(mode, bound, pool="cold"))
        try:
            return await launch
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._closed and not (current and getattr(current, "cancelling", lambda: 0)()):
                raise Unavailable("the Nomad scheduler is shut down") from None
            raise
        finally:
            self._dispatching -= 1
            self._kick()

    # ------------------------------------------------------------------ starting one sandbox

    async def _launch(self, mode: str, bound: float, pool: str) -> Sandbox:
        """Dispatch until one sandbox says HELLO; failed allocations are retried, all within ``bound``."""
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
                self._spawn(self._cleanups, self._purge(job_id))
                raise
            self._counts["sandboxes_created"] += 1
            log.info("nomad_sandbox_ready", job=job_id, mode=mode, pool=pool, attempt=attempt,
                     seconds=round(sandbox.ready_at - created, 3))
            return sandbox
        self._counts["unavailable"] += 1
        raise Unavailable(f"no {mode} sandbox within {bound:g}s: " + "; ".join(failures))

    def _start_failed(self, job_id: str, mode: str, attempt: int, why: str, failures: List[str]) -> None:
        self._counts["start_failures"] += 1
        failures.append(f"{job_id}: {why}")
        log.warning("nomad_sandbox_start_failed", job=job_id, mode=mode, attempt=attempt, reason=why)
        self._spawn(self._cleanups, self._purge(job_id))

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
                self._counts["dispatch_failures"] += 1
                raise Unavailable(f"dispatching {self._settings.job} failed: {error}") from None
            self._counts["dispatches"] += 1
            return job_id
        raise AssertionError("unreachable")

    async def _dispatch_call(self, meta: Dict[str, str], token: str) -> str:
        call = functools.partial(self._nomad.dispatch, self._settings.job, meta, token)
        future = asyncio.get_running_loop().run_in_executor(self._executor, call)
        self._dispatch_calls.add(future)
        future.add_done_callback(self._dispatch_calls.discard)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(self._purge_if_dispatched)
            raise

    def _purge_if_dispatched(self, future: "asyncio.Future[str]") -> None:
        if not future.cancelled() and future.exception() is None:
            self._spawn(self._cleanups, self._purge(future.result()))

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
        allocations = await self._call(self._nomad.allocations, job_id)
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
        instances = await self._call(self._consul.instances, self._settings.service, tag)
        healthy = [instance for instance in instances if instance.passing]
        states = ", ".join(instance.status for instance in instances) or "not registered yet"
        progress.note = f"allocation {allocation.id} running; Consul health: {states}"
        return healthy[0] if healthy else None

    # ------------------------------------------------------------------ ending sandboxes

    async def _purge(self, job_id: str) -> None:
        try:
            await self._call(self._nomad.purge, job_id)
        except ClusterAPIError as error:
            self._counts["purge_failures"] += 1
            self._remember_unpurged(job_id)
            log.warning("nomad_purge_failed", job=job_id, error=str(error))
            return
        self._unpurged.pop(job_id, None)
        self._counts["purged"] += 1

    def _remember_unpurged(self, job_id: str) -> None:
        self._unpurged[job_id] = None
        while len(self._unpurged) > 4 * self._config.max_sandboxes:
            dropped = next(iter(self._unpurged))
            del self._unpurged[dropped]
            log.error("nomad_purge_given_up", job=dropped, hint="the next start-up sweep removes it")

    # ------------------------------------------------------------------ start-up: leftovers

    async def _check_parent(self) -> None:
        try:
            problem = await self._call(self._nomad.parent_problem, self._settings.job)
        except ClusterAPIError as error:
            problem = f"cannot reach Nomad at {self._settings.nomad_addr}: {error}"
        if problem and problem != self._problem:
            log.warning("nomad_not_ready", problem=problem)
        elif self._problem and not problem:
            log.info("nomad_ready_again")
        self._problem = problem

    async def _sweep_orphans(self) -> None:
        """Children of ours from before a restart: adopt healthy, unclaimed ones or purge them."""
        try:
            for child in await self._call(self._nomad.children, self._settings.job):
                await self._settle_orphan(child.id, child.status)
        except ClusterAPIError as error:
            log.warning("nomad_orphan_sweep_failed", error=str(error))
            return
        self._orphans_done = True
        log.info("nomad_orphan_sweep", purged=self._counts["orphans_purged"],
                 adopted=self._counts["orphans_adopted"])

    async def _settle_orphan(self, job_id: str, status: str) -> None:
        meta = await self._call(self._nomad.job_meta, job_id)
        if meta is None or meta.get("owner") != self._settings.owner:
            return
        mode = meta.get("mode", "")
        if self._may_adopt(mode, status):
            sandbox = await self._adopt(job_id, mode)
            if sandbox is not None:
                self._pools[mode].append(sandbox)
                self._counts["orphans_adopted"] += 1
                return
        await self._purge(job_id)
        self._counts["orphans_purged"] += 1

    def _may_adopt(self, mode: str, status: str) -> bool:
        return (self._settings.orphans == "adopt" and status == "running" and mode in MODES
                and len(self._pools[mode]) < self._config.pool_size(mode))

    async def _adopt(self, job_id: str, mode: str) -> Optional[Sandbox]:
        """An orphan is adoptable if it is healthy now and its agent still says HELLO (unclaimed)."""
        progress = _Progress("adopting")
        try:
            return await asyncio.wait_for(self._bring_up(job_id, mode, time.time(), progress),
                                          self._settings.connect_seconds)
        except (_StartFailed, asyncio.TimeoutError) as error:
            log.info("nomad_orphan_not_adoptable", job=job_id, reason=str(error) or progress.note)
            return None

    # ------------------------------------------------------------------ pool upkeep

    async def _maintain(self) -> None:
        while not self._closed:
            try:
                await self._upkeep()
            except Exception:  # noqa: BLE001 - upkeep must outlive any one failure
                log.exception("nomad_upkeep_failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.maintain_seconds)
            self._wake.clear()

    async def _upkeep(self) -> None:
        if (self._problem is not None or not self._orphans_done) and self._due("parent"):
            await self._check_parent()
            if self._problem is None and not self._orphans_done:
                await self._sweep_orphans()
        if self._problem is not None:
            return
        if self._unpurged and self._due("purges"):
            for job_id in list(self._unpurged):
                await self._purge(job_id)
        if self._due("pooled"):
            await self._drop_dead_pooled()
        self._start_refills()

    def _due(self, what: str) -> bool:
        """True at most once per maintain_seconds for each kind of periodic work."""
        now = time.monotonic()
        if now - self._last_run.get(what, -1e9) < self._settings.maintain_seconds:
            return False
        self._last_run[what] = now
        return True

    async def _drop_dead_pooled(self) -> None:
        """Pooled sandboxes that died, or sit on a draining node, are replaced.

        A drain gives running batch allocations until its deadline; a pooled sandbox
        claimed just before that deadline would be cut off mid-run, so it goes now.
        """
        for mode, pool in self._pools.items():
            for sandbox in list(pool):
                why = "its connection closed" if sandbox.agent.closed else await self._unusable(sandbox.id)
                if why and sandbox in pool:
                    pool.remove(sandbox)
                    sandbox.agent.close()
                    self._line.room_changed()
                    log.warning("nomad_pooled_sandbox_dropped", job=sandbox.id, mode=mode, reason=why)
                    self._spawn(self._cleanups, self._purge(sandbox.id))

    async def _unusable(self, job_id: str) -> str:
        """Why a pooled sandbox must not be handed out, or "" when it may."""
        try:
            allocations = await self._call(self._nomad.allocations, job_id)
            if not allocations or allocations[-1].terminal or allocations[-1].status != "running":
                return "its allocation is not running"
            if await self._call(self._nomad.migrating, allocations[-1].id):
                return "its node is draining"
        except ClusterAPIError:
            return ""   # unknown is not dead; the next round asks again
        return ""

    def _start_refills(self) -> None:
        for mode in MODES:
            if self._backoff.get(mode, (0.0, 0.0))[0] > time.monotonic():
                continue
            missing = self._config.pool_size(mode) - len(self._pools[mode]) - self._spare_refills(mode)
            for _ in range(max(0, missing)):
                if not self._refill_room():
                    return
                self._refilling[mode] += 1
                self._dispatching += 1
                self._spawn(self._workers, self._refill(mode))

    def _refill_room(self) -> bool:
        # Refills leave one start free, so a student of another mode is not refused.
        reserve = 1 if self._settings.max_dispatching > 1 else 0
        # Nor do they start while sessions wait in line: the room is theirs.
        return (not self._closed and not len(self._line)
                and self._dispatching < self._settings.max_dispatching - reserve
                and self._live() < self._config.max_sandboxes)

    async def _refill(self, mode: str) -> None:
        try:
            sandbox = await self._launch(mode, self._settings.start_seconds, pool="warm")
        except Exception as error:  # noqa: BLE001 - a failed refill backs off, never kills upkeep
            self._refill_failed(mode, error)
        else:
            self._backoff.pop(mode, None)
            self._deliver(mode, sandbox)
        finally:
            self._refilling[mode] -= 1
            self._dispatching -= 1
            self._kick()

    def _refill_failed(self, mode: str, error: Exception) -> None:
        delay = min(self._settings.refill_backoff_max_seconds,
                    max(1.0, 2 * self._backoff.get(mode, (0.0, 0.0))[1]))
        self._backoff[mode] = (time.monotonic() + delay, delay)
        log.warning("nomad_pool_refill_failed", mode=mode, error=str(error), retry_in=delay)
        for future in self._waiters[mode]:
            if not future.done():
                future.set_exception(Unavailable(str(error)))
                return

    def _deliver(self, mode: str, sandbox: Sandbox) -> None:
        """A refilled sandbox goes to the longest-waiting acquire, else into the pool."""
        if self._closed:
            sandbox.agent.close()
            self._spawn(self._cleanups, self._purge(sandbox.id))
            return
        waiters = self._waiters[mode]
        while waiters:
            future = waiters.popleft()
            if not future.done():
                future.set_result(sandbox)
                return
        self._pools[mode].append(sandbox)

    # ------------------------------------------------------------------ plumbing

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor_down:
            raise ClusterAPIError("the Nomad scheduler is shut down")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def _spawn(self, group: Set["asyncio.Task[Any]"], coroutine: Any) -> "asyncio.Task[Any]":
        task = asyncio.get_running_loop().create_task(coroutine)
        group.add(task)
        task.add_done_callback(group.discard)
        return task

    def _kick(self) -> None:
        """Something changed (a start ended, a sandbox went): upkeep and the line look again."""
        self._wake.set()
        self._line.room_changed()

    async def _cancel_workers(self) -> None:
        for task in list(self._workers):
            task.cancel()
        await asyncio.gather(*list(self._workers), return_exceptions=True)
        # Dispatches whose callers were cancelled finish on their own (bounded by the API
        # timeout); their done-callbacks queue the purge of whatever they created.
        await asyncio.gather(*list(self._dispatch_calls), return_exceptions=True)
        await asyncio.sleep(0)


def _display_opener(instance: ServiceInstance, mode: str) -> Optional[Callable[[], Awaitable[Streams]]]:
    if not has_display(mode):
        return None
    port = str(instance.meta.get("vnc_port", ""))
    if not port.isdigit():
        raise _StartFailed(f"the sandbox's Consul service has no vnc_port meta ({instance.meta!r})")
    endpoint = instance.endpoint(int(port))
    return lambda: open_endpoint(endpoint)

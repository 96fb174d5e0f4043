"""LocalScheduler: gVisor sandboxes on this machine (the embedded default).

Each sandbox is `runsc run` on a bundle of its own under ``state_dir``; its agent
is reached through a unix socket in a host directory bind-mounted into the
sandbox (``--host-uds``), so the sandbox needs no network at all.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
import shutil
import time
from typing import Awaitable, Callable, Dict, List, Optional, Tuple

from common.config import REPO, Config
from common.logs import get_logger
from sandbox.modes import has_display
from scheduler import bundle
from scheduler.acquire import Acquirer
from scheduler.admission import AdmissionLine
from scheduler.agent_client import WireAgentClient, open_endpoint
from scheduler.errors import AgentGone, SandboxFailed, Unavailable
from scheduler.interface import Sandbox, Scheduler, Streams, WaitNotice
from scheduler.pool import WarmPool
from scheduler.runsc import sandbox_ids

log = get_logger("pyplay.local")
SOCKET_POLL_SECONDS = 0.002
AGENT_LOG_BYTES = 64 * 1024
DELETE_TRIES = 3
DELETE_WAIT_SECONDS = 2.0


@dataclasses.dataclass
class _Record:
    """What the host keeps of one sandbox: its runsc process and its directory."""

    id: str
    mode: str
    directory: str
    process: Optional[asyncio.subprocess.Process] = None
    sandbox: Optional[Sandbox] = None
    launching: Optional[asyncio.Future] = None
    destroying: Optional[asyncio.Future] = None


class LocalScheduler(Scheduler):
    def __init__(self, config: Config) -> None:
        self.config = config
        self._records: Dict[str, _Record] = {}
        self._starting = asyncio.Semaphore(config.max_starting)
        self._line = AdmissionLine(config.queue_limit, config.acquire_seconds)
        # Refills do not start while sessions wait in line: the room is theirs.
        self._pool = WarmPool(dict(config.pool_sizes), self._create, self.release,
                              room=lambda: not len(self._line) and self._has_room(), unusable=self._unusable,
                              on_change=self._line.room_changed, refill_delay=config.refill_delay_seconds)
        self._acquirer = Acquirer(self._pool, self._line, has_room=self._has_room, start=self._start_cold,
                                  discard=self.release, seconds=config.acquire_seconds,
                                  on_start_ended=self._line.room_changed)
        self._runsc = shutil.which(config.runsc) or config.runsc
        self._closed = False
        self.counters = {"sandboxes_created": 0, "sandboxes_failed": 0}

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        if self.config.unsafe_no_isolation:
            log.warning("UNSAFE_NO_ISOLATION", detail="test-only setting: programs run on the host")
        os.makedirs(self._sandboxes_dir, mode=0o700, exist_ok=True)
        os.makedirs(self.config.runsc_root, mode=0o700, exist_ok=True)
        await self.purge_orphans()
        self._pool.start()

    async def close(self) -> None:
        self._closed = True
        self._acquirer.close()
        await self._pool.close()
        while self._records:  # a cancelled refill may still be tearing its sandbox down
            await asyncio.gather(*(self._destroy(record) for record in list(self._records.values())),
                                 return_exceptions=True)

    async def purge_orphans(self) -> List[str]:
        """Delete sandboxes a previous process of ours left behind (crash, kill -9)."""
        orphans = await self.runsc_ids()
        for sandbox_id in orphans:
            await self._runsc_quiet("delete", "-force", sandbox_id)
        for name in os.listdir(self._sandboxes_dir):
            shutil.rmtree(os.path.join(self._sandboxes_dir, name), ignore_errors=True)
        if orphans:
            log.warning("orphans_purged", count=len(orphans))
        return orphans

    async def runsc_ids(self) -> List[str]:
        return sandbox_ids(await self._runsc_output("list", "-format=json"))

    # -- handing out sandboxes ----------------------------------------------------------------
    async def acquire(self, mode: str, waiting: Optional[WaitNotice] = None) -> Sandbox:
        return await self._acquirer.acquire(mode, waiting)

    async def _start_cold(self, mode: str) -> Sandbox:
        try:
            return await asyncio.wait_for(self._create(mode), self.config.acquire_seconds)
        except asyncio.TimeoutError:
            raise Unavailable(f"no {mode} sandbox within {self.config.acquire_seconds}s") from None

    def _has_room(self) -> bool:
        return len(self._records) < self.config.max_sandboxes

    async def release(self, sandbox: Sandbox) -> None:
        record = self._records.get(sandbox.id)
        sandbox.agent.close()
        if record is not None:
            await self._destroy(record)

    # -- making and destroying ----------------------------------------------------------------
    async def _create(self, mode: str) -> Sandbox:
        sandbox_id = "pyplay-" + secrets.token_hex(6)
        record = _Record(id=sandbox_id, mode=mode, directory=os.path.join(self._sandboxes_dir, sandbox_id))
        self._records[record.id] = record
        try:
            async with self._starting:
                created_at = time.monotonic()
                await self._launch(record)
                agent = await self._connect(record)
            record.sandbox = Sandbox(id=record.id, mode=mode, agent=agent, created_at=created_at,
                                     ready_at=time.monotonic(), display=self._display_opener(record),
                                     audio=self._audio_opener(record))
            self.counters["sandboxes_created"] += 1
            asyncio.ensure_future(self._watch(record))
            return record.sandbox
        except BaseException as error:
            self.counters["sandboxes_failed"] += 1
            await asyncio.shield(self._destroy(record))
            if isinstance(error, (OSError, AgentGone, asyncio.TimeoutError)):
                raise SandboxFailed(f"sandbox {record.id} did not start: {error}") from error
            raise

    async def _launch(self, record: _Record) -> None:
        socket_dir = os.path.join(record.directory, "sock")
        os.makedirs(socket_dir, mode=0o700)
        spec = bundle.spec(record.mode, self.config.sandbox_root, str(REPO / "sandbox"), socket_dir,
                           self.config.limits, self.config.sandbox_uid, skip_reset=self.config.unsafe_skip_reset)
        with open(os.path.join(record.directory, "config.json"), "w") as handle:
            json.dump(spec, handle)
        record.launching = asyncio.ensure_future(self._spawn_runsc(record))
        await asyncio.shield(record.launching)

    async def _spawn_runsc(self, record: _Record) -> None:
        command = [*self._runsc_flags(), "run", "--bundle", record.directory, record.id]
        environment = None
        if self.config.unsafe_no_isolation:
            command, environment = self._unsafe_host_agent(record)
        # 0600: gVisor lets any uid in the sandbox re-open the agent's stdout through /proc/1/fd/1.
        agent_log = os.fdopen(os.open(os.path.join(record.directory, "agent.log"),
                                      os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
        try:
            record.process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.DEVNULL, stdout=agent_log, stderr=agent_log,
                start_new_session=True, env=environment, cwd=str(REPO))
        finally:
            agent_log.close()

    def _unsafe_host_agent(self, record: _Record) -> Tuple[List[str], Dict[str, str]]:
        """TEST ONLY (sabotage check): the same agent, on the host, with the host's environment."""
        workspace = os.path.join(record.directory, "workspace")
        os.makedirs(workspace)
        root = self.config.sandbox_root
        site = os.path.join(root, "env", "lib", "python3.10", "site-packages")
        command = [os.path.join(root, "python", "bin", "python3.10"), "-m", "sandbox",
                   "--listen", "unix:" + os.path.join(record.directory, "sock", "agent.sock"),
                   "--mode", record.mode, "--workspace", workspace, "--uid", str(self.config.sandbox_uid),
                   "--unsafe-inherit-env", *(["--unsafe-skip-reset"] if self.config.unsafe_skip_reset else [])]
        for directory in (self.config.state_dir, self._sandboxes_dir, record.directory):
            os.chmod(directory, 0o711)  # the program's uid must reach its workspace
        return command, {**os.environ, "PYTHONPATH": f"{site}:{REPO}"}

    async def _connect(self, record: _Record) -> WireAgentClient:
        path = os.path.join(record.directory, "sock", "agent.sock")
        deadline = time.monotonic() + self.config.sandbox_start_seconds
        while True:  # the socket file appears at bind(), a moment before listen()
            process = record.process
            if process is None or process.returncode is not None:
                code = process.returncode if process is not None else "before it started"
                raise SandboxFailed(f"runsc exited with {code}: {self._agent_log(record)}")
            if time.monotonic() > deadline:
                raise SandboxFailed(f"agent did not listen within {self.config.sandbox_start_seconds}s")
            if os.path.exists(path):
                try:
                    return await WireAgentClient.connect(("unix", path), max(0.1, deadline - time.monotonic()))
                except (ConnectionRefusedError, FileNotFoundError):
                    pass
            await asyncio.sleep(SOCKET_POLL_SECONDS)

    def _display_opener(self, record: _Record) -> Optional[Callable[[], Awaitable[Streams]]]:
        if not has_display(record.mode):
            return None
        endpoint = ("unix", os.path.join(record.directory, "sock", "vnc.sock"))
        return lambda: open_endpoint(endpoint)

    def _audio_opener(self, record: _Record) -> Optional[Callable[[], Awaitable[Streams]]]:
        if record.mode != "pygame":
            return None
        endpoint = ("unix", os.path.join(record.directory, "sock", "audio.sock"))
        return lambda: open_endpoint(endpoint)

    async def _watch(self, record: _Record) -> None:
        """A pooled sandbox whose runsc exits is replaced at once; one in use is noticed by its run."""
        if record.process is not None:
            await record.process.wait()
        await self._pool.drop_unusable()

    async def _unusable(self, sandbox: Sandbox) -> str:
        record = self._records.get(sandbox.id)
        if record is None:
            return "it was destroyed"
        if record.process is not None and record.process.returncode is not None:
            return f"runsc exited with {record.process.returncode}: {self._agent_log(record)}"
        return ""

    async def _destroy(self, record: _Record) -> None:
        """Idempotent, and safe to call from a task being cancelled: the work runs to the end."""
        if record.destroying is None:
            record.destroying = asyncio.ensure_future(self._tear_down(record))
        await asyncio.shield(record.destroying)

    async def _tear_down(self, record: _Record) -> None:
        try:
            await self._stop_sandbox(record)
        finally:
            shutil.rmtree(record.directory, ignore_errors=True)
            self._records.pop(record.id, None)
            self._line.room_changed()
            self._pool.refill_all()  # at capacity the pool skipped its refills; room came back

    async def _stop_sandbox(self, record: _Record) -> None:
        if record.sandbox is not None:
            record.sandbox.agent.close()
        if record.launching is not None:  # `runsc run` may be starting: get its process first
            await asyncio.gather(record.launching, return_exceptions=True)
        process = record.process
        if process is None:
            await self._runsc_quiet("delete", "-force", record.id)
            return
        for _ in range(DELETE_TRIES):
            # A sandbox still booting may register itself after a delete: repeat until runsc is gone.
            await self._runsc_quiet("delete", "-force", record.id)
            try:
                await asyncio.wait_for(process.wait(), DELETE_WAIT_SECONDS)
                return
            except asyncio.TimeoutError:
                pass
        process.kill()
        await process.wait()
        await self._runsc_quiet("delete", "-force", record.id)

    # -- runsc --------------------------------------------------------------------------------
    def _runsc_flags(self) -> List[str]:
        flags = [self._runsc, "--root", self.config.runsc_root, "--network=none", "--host-uds=all"]
        if self.config.runsc_platform:
            flags.append("--platform=" + self.config.runsc_platform)
        return flags

    async def _runsc_output(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            *self._runsc_flags(), *args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        output, _ = await process.communicate()
        return output.decode(errors="replace")

    async def _runsc_quiet(self, *args: str) -> None:
        await self._runsc_output(*args)

    def _agent_log(self, record: _Record) -> str:
        try:
            with open(os.path.join(record.directory, "agent.log"), "rb") as handle:
                return handle.read(AGENT_LOG_BYTES).decode(errors="replace")[-2000:]
        except OSError:
            return ""

    @property
    def _sandboxes_dir(self) -> str:
        return os.path.join(self.config.state_dir, "sandboxes")

    # -- observability ------------------------------------------------------------------------
    def stats(self) -> Dict[str, float]:
        values: Dict[str, float] = {"sandboxes_live": len(self._records), "admission_waiting": len(self._line)}
        for mode, _ in self.config.pool_sizes:
            values[f"pool_ready_{mode}"] = self._pool.ready_count(mode)
        values.update(self.counters)
        values.update(self._acquirer.counts)
        values["pool_refill_failures"] = self._pool.failures
        return values

    def ready_problem(self) -> Optional[str]:
        if self._closed:
            return "shutting down"
        if len(self._records) >= self.config.max_sandboxes and not any(
                self._pool.ready_count(mode) for mode, _ in self.config.pool_sizes):
            return f"at capacity: {len(self._records)} sandboxes live"
        if not os.path.isdir(os.path.join(self.config.sandbox_root, "env")):
            return f"sandbox environment missing at {self.config.sandbox_root} (run `make sandbox-env`)"
        return None

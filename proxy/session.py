"""One IDE WebSocket: protocol v1 requests in, runs out.  Many runs, one after another,
all on the session's own sandbox (proxy/lease.py)."""
from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Union

from websockets.asyncio.client import ClientConnection

from common.config import Config
from common.logs import get_logger
from proxy import protocol
from proxy.errors import GONE_SENTENCE, PeerGone, ProtocolError, public_error
from proxy.forward import Forwarder, splice_to_peer
from proxy.lease import COUNTERS as LEASE_COUNTERS
from proxy.lease import SessionSandbox
from proxy.modes import detect_mode
from proxy.registry import RunRegistry
from proxy.replicas import made_up_replica_name, new_run_id, owner_of
from proxy.run import Attachment, Run
from sandbox.modes import AUTO
from sandbox.ratelimit import TokenBucket
from scheduler.errors import ClaimRefused, SchedulerError
from scheduler.interface import Scheduler

log = get_logger("pyplay.session")
STOP_WAIT_SECONDS = 5.0
STATUS_TEXT = {
    "queued": "Every sandbox is in use right now; you are number {position} in line. "
              "Your program starts as soon as one is free.",
    "starting": "Starting a fresh sandbox for your program...",
    "ready": "Ready to run.",
}


@dataclasses.dataclass
class Services:
    """What every session shares."""

    config: Config
    scheduler: Scheduler
    registry: RunRegistry
    replica: str = dataclasses.field(default_factory=made_up_replica_name)
    forwarder: Optional[Forwarder] = None      # None: a single replica, nothing to forward to
    draining: bool = False                     # not ready for new students; runs go on
    counters: Dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(LEASE_COUNTERS, 0))

    def owner_elsewhere(self, run_id: str) -> Optional[str]:
        """The replica that owns ``run_id`` when it is another one we can forward to."""
        owner = owner_of(run_id)
        return owner if owner not in (None, self.replica) and self.forwarder is not None else None


class Session:
    def __init__(self, services: Services, receive: Callable[[], Awaitable[Union[str, bytes, None]]],
                 send: Callable[[Any], Awaitable[None]], client: str) -> None:
        self.services = services
        self.config = services.config
        self._receive = receive
        self._send = send
        self.client = client
        self.run: Optional[Run] = None
        self._attachment: Optional[Attachment] = None
        self._peer: Optional[ClientConnection] = None   # set: this socket is spliced to the run's owner
        self.lease = SessionSandbox(self.config, services.scheduler, services.counters, owner=self)
        self._rate = TokenBucket(rate=self.config.messages_per_second, burst=self.config.messages_per_second)

    async def serve(self) -> None:
        try:
            while True:
                frame = await self._receive()
                if frame is None:
                    return
                await self.on_frame(frame)
                if self._peer is not None:
                    await splice_to_peer(self._receive, self._send, self._peer)
                    return
        finally:
            if self.run is not None and self._attachment is not None:
                self.run.detach(self._attachment)
            self.lease.close(self)

    async def on_frame(self, frame: Union[str, bytes]) -> None:
        if self._rate.take(1) > 0:
            await self.send_error("busy", "Too many messages at once; slow down a little.")
            return
        try:
            request = protocol.parse_client_message(frame, self.config.limits, self.config.max_message_bytes)
            await self.handle(request)
        except (ProtocolError, PeerGone, SchedulerError) as error:
            code, message = public_error(error)
            if isinstance(error, SchedulerError):
                log.warning("acquire_failed", client=self.client, code=code, error=str(error))
            await self.send_error(code, message)

    async def handle(self, request: protocol.Request) -> None:
        if isinstance(request, protocol.RunRequest):
            await self.start_run(request)
        elif isinstance(request, protocol.ResumeRequest):
            await self.resume(request)
        elif isinstance(request, protocol.PrepareRequest):
            await self.prepare(request.mode)
        elif self.run is None or self.run.finished.is_set():
            # Stop and resize race a program's end (the Stop button, a pane that grows when the
            # display hides): nothing to do, and nothing to tell.  Typing to no program is news.
            if isinstance(request, protocol.StdinRequest):
                raise ProtocolError("bad_request", "No program is running; press Run first.")
        elif isinstance(request, protocol.StdinRequest):
            await self.run.stdin(request.data)
        elif isinstance(request, protocol.ResizeRequest):
            await self.run.resize(request.cols, request.rows)
        elif isinstance(request, protocol.StopRequest):
            await self.run.stop()

    async def start_run(self, request: protocol.RunRequest) -> None:
        await self.stop_current()
        registry = self.services.registry
        if registry.count_for(self.client) >= self.config.max_runs_per_client:
            raise ProtocolError("busy", "You already have the most programs running at once; stop one first.")
        mode = detect_mode(request.entry, request.files) if request.mode == AUTO else request.mode
        requested_at = time.monotonic()
        sandbox = await self.lease.take(mode, self._tell_waiting(mode))
        run = Run(self.config, self.lease, sandbox, mode, self.client, new_run_id(self.services.replica))
        run.timings["acquire"] = time.monotonic() - requested_at
        self.lease.begin_run(sandbox)
        try:
            await run.start(request)
        except ClaimRefused as error:
            self.lease.run_ended(sandbox, error.result)
            raise
        except BaseException:
            self.lease.run_ended(sandbox, {})
            raise
        registry.add(run)
        self.run = run
        log.info("run_start", run=run.id, mode=mode, sandbox=sandbox.id, warm=sandbox.warm,
                 sandbox_runs=self.lease.runs, client=self.client,
                 files=len(request.files), **{f"{k}_ms": round(v * 1000, 1) for k, v in run.timings.items()})
        # A finished run stays resumable for the grace period, then the registry drops it.
        run.on_finished = lambda: asyncio.get_running_loop().call_later(
            self.config.resume_grace_seconds, registry.remove, run)
        await self._send_quietly(protocol.started_message(run.id, mode, sandbox.agent.hello.get("python", ""),
                                                          self.display_info(run), run.resume_token))
        # Even when the socket has just gone: a relayed run is abandoned after the grace
        # period and gives its sandbox back; one never begun would hold it for ever.
        self._attachment = run.begin(self._send)

    async def prepare(self, mode: str) -> None:
        """Get the session's sandbox ready for ``mode`` now, so Run finds it warm."""
        if self.run is not None and not self.run.finished.is_set():
            return  # the live run has the sandbox; the next Run will swap if the mode differs
        await self.lease.take(mode, self._tell_waiting(mode))
        await self._send_quietly(protocol.status_message("ready", mode, STATUS_TEXT["ready"]))

    def _tell_waiting(self, mode: str) -> Callable[[str, int], None]:
        def tell(state: str, position: int) -> None:
            text = STATUS_TEXT[state].format(position=position)
            asyncio.ensure_future(self._send_quietly(protocol.status_message(state, mode, text, position)))
        return tell

    async def _send_quietly(self, message: str) -> None:
        try:
            await self._send(message)
        except Exception:  # noqa: BLE001 - the socket is gone; nothing to tell
            pass

    def display_info(self, run: Run) -> Optional[dict]:
        if not run.display:
            return None
        ticket = self.services.registry.issue_ticket(run)
        info = {"url": f"/v1/runs/{run.id}/vnc?ticket={ticket}",
                "width": run.display.get("width"), "height": run.display.get("height")}
        if run.sandbox.audio is not None:
            info["audio"] = f"/v1/runs/{run.id}/audio?ticket={ticket}"
        return info

    async def stop_current(self) -> None:
        run = self.run
        if run is None or run.finished.is_set():
            return
        await run.stop()
        try:
            await asyncio.wait_for(run.finished.wait(), STOP_WAIT_SECONDS)
        except asyncio.TimeoutError:
            log.warning("stop_slow", run=run.id)
            run.cut_off()   # its sandbox is not reused (proxy/lease.py); the run ends now
            await asyncio.wait([asyncio.ensure_future(run.finished.wait())], timeout=STOP_WAIT_SECONDS)

    async def resume(self, request: protocol.ResumeRequest) -> None:
        owner = self.services.owner_elsewhere(request.run)
        if owner is not None:
            await self._forward_resume(owner, request)
            return
        run = self.services.registry.resume(request.run, request.token)
        if run is None or run.replay.since(request.offset) is None:
            raise ProtocolError("gone", GONE_SENTENCE)
        if self.run is not None and self.run is not run:
            await self.stop_current()
        # From here this socket is the run's client (paused until it has caught up), so the
        # old socket's teardown, however late it comes, detaches nothing.
        self.run, self._attachment = run, run.attach(self._send, request.offset)
        if run.lease is not self.lease and not run.finished.is_set():  # the live run's sandbox moves here
            self.lease.close(self)
            self.lease = run.lease
            self.lease.adopt(self)
        await self._send(protocol.resumed_message(run.id, self.display_info(run)))
        try:
            await run.catch_up(self._attachment)
        except LookupError:  # the program printed more than the replay keeps while we sent
            raise ProtocolError("gone", GONE_SENTENCE) from None

    async def _forward_resume(self, owner: str, request: protocol.ResumeRequest) -> None:
        """The run lives on another replica: from now on this socket is that replica's."""
        assert self.services.forwarder is not None
        await self.stop_current()
        peer = await self.services.forwarder.open(owner, "/v1/session", self.client)
        await peer.send(protocol.resume_request(request.run, request.token, request.offset))
        self.lease.close(self)
        self._peer = peer
        self.services.forwarder.counters["forwarded_resumes"] += 1
        log.info("resume_forwarded", run=request.run, owner=owner, client=self.client)

    async def send_error(self, code: str, message: str) -> None:
        await self._send_quietly(protocol.error_message(code, message))

"""One run: a claim on the session's sandbox, its output stream, and how it ended.

The run outlives its WebSocket for a grace period (resume).  Output is read from
the agent only while a client is attached and keeping up, so a slow or absent
browser slows the program down instead of filling the proxy's memory.  When the run
ends, the sandbox goes back to the session's lease (proxy/lease.py), which keeps it
for the next run while the agent resets it, or lets it go.

Sockets come and go (a drop, a resume on a new socket, the old socket's teardown
noticed only at its ping timeout), so each attach returns an ``Attachment``, and only
the current one can detach the run or receive its output.
"""
from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from typing import Any, Awaitable, Callable, Dict, Optional

from common.config import Config
from common.logs import get_logger
from proxy import protocol
from proxy.exit_messages import exit_text
from proxy.lease import SessionSandbox
from proxy.replay import ReplayBuffer
from scheduler.errors import AgentGone
from scheduler.interface import AgentClient, Claim, Exited, Output, Sandbox, WindowResized

log = get_logger("pyplay.run")
Send = Callable[[Any], Awaitable[None]]
START_SECONDS = 10.0
HOST_GRACE_SECONDS = 30.0   # the host's backstop beyond the agent's own wall-time limit


@dataclasses.dataclass(eq=False)
class Attachment:
    """One socket's hold on a run.  ``live`` once it has caught up and takes output as it comes."""

    send: Send
    sent_upto: int = 0       # replay offset this socket has been given
    live: bool = False
    # Done once another socket has taken the run over (see _send_unless_replaced).
    replaced: asyncio.Future[None] = dataclasses.field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class Run:
    def __init__(self, config: Config, lease: SessionSandbox, sandbox: Sandbox, mode: str,
                 client: str, run_id: str) -> None:
        self.id = run_id
        self.config = config
        self.lease = lease
        self.sandbox = sandbox
        self.mode = mode
        self.client = client
        self.resume_token = secrets.token_urlsafe(24)
        self.replay = ReplayBuffer(config.replay_bytes)
        self.started_at = time.monotonic()
        self.exit: Optional[Dict[str, Any]] = None
        self.finished = asyncio.Event()
        self.on_finished: Optional[Callable[[], Any]] = None
        self.display: Optional[Dict[str, Any]] = None
        # The program's window is up, or the run is over: a display viewer is greeted only
        # then, so its first frame is the program's own at the window's size (proxy/display.py).
        self.window_shown = asyncio.Event()
        self.timings: Dict[str, float] = {"sandbox_ready": sandbox.ready_at - sandbox.created_at}
        self._client: Optional[Attachment] = None
        self._relaying = asyncio.Event()     # a live client is attached, or nobody will come
        self._detach_timer: Optional[asyncio.TimerHandle] = None
        self._pump: Optional[asyncio.Task[None]] = None
        self._stop_requested = False   # a stop was asked for: a lost agent then reads as stopped
        self.silenced = asyncio.Event()  # Stop pressed or run over: its sound ends at once (proxy/audio.py)

    # -- start --------------------------------------------------------------------------------
    async def start(self, request: protocol.RunRequest) -> None:
        """Claim the sandbox for the program; raises ClaimRefused or AgentGone."""
        claim = Claim(request.entry, request.files, request.cols, request.rows, self.config.limits,
                      request.screen)
        self.display = await self.sandbox.agent.claim(claim, START_SECONDS)
        self.timings["claim"] = time.monotonic() - self.started_at

    def begin(self, send: Send) -> Attachment:
        """Attach the first client and start relaying output."""
        attachment = self.attach(send)
        self._go_live_now(attachment)
        self._pump = asyncio.ensure_future(self._relay())
        return attachment

    # -- attach / detach (resume) -------------------------------------------------------------
    def attach(self, send: Send, offset: int = 0) -> Attachment:
        """Make ``send`` the run's client, paused until ``catch_up``; the previous one is let go."""
        previous, self._client = self._client, Attachment(send, sent_upto=offset)
        if previous is not None and not previous.replaced.done():
            previous.replaced.set_result(None)
        self._relaying.clear()
        if self._detach_timer is not None:
            self._detach_timer.cancel()
            self._detach_timer = None
        return self._client

    async def catch_up(self, attachment: Attachment) -> None:
        """Send what the client missed, then go live.  No await between the last look at the
        replay and going live, so no byte falls between the two; the exit, if the run ended
        before, follows."""
        while attachment is self._client:
            missed = self.replay.since(attachment.sent_upto)
            if missed is None:
                raise LookupError("the output since that offset is no longer kept")
            if missed:
                attachment.sent_upto += len(missed)
                await attachment.send(missed)
                continue
            self._go_live_now(attachment)
            if self.finished.is_set() and self.exit is not None:
                await attachment.send(protocol.exit_message(self.id, **self.exit))
            return

    def _go_live_now(self, attachment: Attachment) -> None:
        attachment.live = True
        self._relaying.set()

    def detach(self, attachment: Attachment) -> None:
        """That client's socket dropped: if it is still the run's client, keep running,
        paused, for the grace period.  A socket replaced by a resume detaches nothing."""
        if attachment is not self._client:
            return
        self._client = None
        self._relaying.clear()
        if not self.finished.is_set() and self._detach_timer is None:
            loop = asyncio.get_running_loop()
            self._detach_timer = loop.call_later(self.config.resume_grace_seconds, self._abandon)

    @property
    def attached(self) -> bool:
        return self._client is not None

    def _abandon(self) -> None:
        """Nobody came back in time: stop the program and let the relay drain to the end."""
        self._relaying.set()
        asyncio.ensure_future(self.stop())

    # -- client commands ----------------------------------------------------------------------
    async def stdin(self, data: str) -> None:
        await self._to_agent(lambda agent: agent.stdin(data.encode("utf-8", "surrogatepass")))

    async def resize(self, cols: int, rows: int) -> None:
        await self._to_agent(lambda agent: agent.resize(cols, rows))

    async def stop(self) -> None:
        self._stop_requested = True
        self.silenced.set()
        await self._to_agent(lambda agent: agent.stop())

    def cut_off(self) -> None:
        """The agent did not end the program when asked: drop the connection, so the relay
        ends (as stopped) and the sandbox is released rather than reset."""
        self._stop_requested = True
        self.sandbox.agent.close()

    async def _to_agent(self, command: Callable[[AgentClient], Awaitable[None]]) -> None:
        if self.finished.is_set():
            return
        try:
            await command(self.sandbox.agent)
        except AgentGone:
            pass  # the relay notices and reports the exit

    # -- relay --------------------------------------------------------------------------------
    async def _relay(self) -> None:
        result: Dict[str, Any] = {"code": -1, "reason": "failed", "limit": None, "signal": None}
        deadline = self.config.limits.wall_seconds + HOST_GRACE_SECONDS
        try:
            result = await asyncio.wait_for(self._relay_events(), deadline)
        except asyncio.TimeoutError:
            result.update(reason="timeout", limit="wall")
        except AgentGone as error:
            if self._stop_requested:
                result.update(reason="stopped")
            log.warning("sandbox_lost", run=self.id, sandbox=self.sandbox.id, error=str(error))
        except Exception:  # noqa: BLE001 - whatever broke, the student gets an exit and the sandbox goes
            log.exception("relay_failed", run=self.id)
        # The lease first: whoever sees the run finished (a Run pressed at once, a resume) must
        # find its sandbox resetting already, or the next claim would beat the agent's READY.
        # This only starts the reset or the teardown; the student is not kept waiting for it.
        self.lease.run_ended(self.sandbox, result)
        await self._finish(result)

    async def _relay_events(self) -> Dict[str, Any]:
        agent = self.sandbox.agent
        while True:
            await self._relaying.wait()
            event = await agent.next_event()
            if isinstance(event, Output):
                self.timings.setdefault("first_output", time.monotonic() - self.started_at)
                self.replay.append(event.data)
                await self._deliver(event.data, output=True)
            elif isinstance(event, WindowResized):
                if self.display is not None:
                    self.display.update(width=event.width, height=event.height)
                await self._deliver(protocol.display_message(self.id, event.width, event.height))
                self.window_shown.set()
            elif isinstance(event, Exited):
                return event.result

    async def _deliver(self, message: Any, output: bool = False) -> None:
        client = self._client
        if client is None or not client.live:
            return  # detached or catching up: output is in the replay buffer for it
        if output:
            client.sent_upto = self.replay.end
        try:
            await _send_unless_replaced(client, message)
        except Exception:  # noqa: BLE001 - a dead socket means detach, not a dead run
            self.detach(client)

    async def _finish(self, result: Dict[str, Any]) -> None:
        reason = str(result["reason"]) if result.get("reason") in protocol.EXIT_REASONS else "failed"
        code = result["code"] if isinstance(result.get("code"), int) else -1
        message = exit_text(reason, code, result.get("limit"), result.get("signal"), self.config.limits)
        extra = {"limit": result["limit"]} if result.get("limit") else {}
        self.exit = {"code": code, "reason": reason, "message": message, **extra}
        self.timings["total"] = time.monotonic() - self.started_at
        log.info("run_end", run=self.id, mode=self.mode, sandbox=self.sandbox.id, reason=reason, code=code,
                 limit=result.get("limit"), output_bytes=self.replay.end,
                 **{f"{k}_ms": round(v * 1000, 1) for k, v in self.timings.items()})
        self.finished.set()
        self.window_shown.set()
        self.silenced.set()
        if self.on_finished is not None:
            self.on_finished()
        await self._deliver(protocol.exit_message(self.id, **self.exit))
        if self._detach_timer is not None:
            self._detach_timer.cancel()

    def summary(self) -> Dict[str, Any]:
        return {"run": self.id, "mode": self.mode, "sandbox": self.sandbox.id, "client": self.client,
                "seconds": round(time.monotonic() - self.started_at, 3), "attached": self.attached,
                "output_bytes": self.replay.end, "exit": self.exit}


async def _send_unless_replaced(client: Attachment, message: Any) -> None:
    """Send to ``client``, but stop waiting once another socket has resumed the run.

    A send to a vanished peer blocks while its buffers are full, until its ping timeout
    tens of seconds later; the relay must not wait that long to give the socket that
    resumed its output (which is in the replay buffer for it).  The stuck send is left to
    finish or fail on its own: cutting it off could leave half a frame on that socket."""
    sending = asyncio.ensure_future(client.send(message))
    await asyncio.wait((sending, client.replaced), return_when=asyncio.FIRST_COMPLETED)
    if sending.done():
        sending.result()  # raises what the send raised
    else:
        sending.add_done_callback(lambda task: task.cancelled() or task.exception())

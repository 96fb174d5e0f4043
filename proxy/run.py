"""One run: a claim on the session's sandbox, its output stream, and how it ended.

The run outlives its WebSocket for a grace period (resume).  Output is read from
the agent only while a client is attached and keeping up, so a slow or absent
browser slows the program down instead of filling the proxy's memory.  When the run
ends, the sandbox goes back to the session's lease (proxy/lease.py), which keeps it
for the next run while the agent resets it, or lets it go.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any, Awaitable, Callable, Dict, Optional

from proxy import protocol
from proxy.exit_messages import exit_text
from proxy.lease import SessionSandbox
from proxy.replay import ReplayBuffer
from sandbox import wire
from scheduler.agent_link import AgentLinkClosed
from scheduler.base import Sandbox
from scheduler.config import Config
from scheduler.logs import get_logger

log = get_logger("pyplay.run")
Send = Callable[[Any], Awaitable[None]]
START_SECONDS = 10.0
HOST_GRACE_SECONDS = 30.0   # the host's backstop beyond the agent's own wall-time limit


class RunFailed(Exception):
    """The sandbox would not take the claim; ``result`` is the agent's EXIT, if it sent one."""

    def __init__(self, message: str, result: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.result = result or {}


class Run:
    def __init__(self, config: Config, lease: SessionSandbox, sandbox: Sandbox, mode: str,
                 client: str) -> None:
        self.id = "r-" + secrets.token_urlsafe(9)
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
        self._send: Optional[Send] = None
        self._attached = asyncio.Event()
        self._detach_timer: Optional[asyncio.TimerHandle] = None
        self._pump: Optional[asyncio.Task] = None
        self.display: Optional[Dict[str, Any]] = None
        self.timings: Dict[str, float] = {"sandbox_ready": sandbox.ready_at - sandbox.created_at}

    # -- start --------------------------------------------------------------------------------
    async def start(self, request: protocol.RunRequest) -> None:
        claim = {"entry": request.entry, "files": protocol.wire_files(request.files),
                 "term": {"cols": request.cols, "rows": request.rows}, "limits": self.config.limits.to_wire()}
        try:
            await self.sandbox.link.send_json(wire.Kind.CLAIM, claim)
            frame = await asyncio.wait_for(self.sandbox.link.recv(), START_SECONDS)
        except (AgentLinkClosed, asyncio.TimeoutError) as error:
            raise RunFailed(f"sandbox {self.sandbox.id} did not start the program: {error}") from error
        if frame.kind == wire.Kind.EXIT:
            result = frame.json()
            raise RunFailed(result.get("detail") or "the files could not be written", result)
        if frame.kind != wire.Kind.STARTED:
            raise RunFailed(f"agent answered {frame.kind.name} to the claim")
        self.display = frame.json().get("display")
        self.timings["claim"] = time.monotonic() - self.started_at

    def begin(self, send: Send) -> None:
        """Attach the first client and start relaying output."""
        self.attach(send)
        self._pump = asyncio.ensure_future(self._relay())

    # -- attach / detach (resume) -------------------------------------------------------------
    def attach(self, send: Send) -> None:
        self._send = send
        self._attached.set()
        if self._detach_timer is not None:
            self._detach_timer.cancel()
            self._detach_timer = None

    def detach(self) -> None:
        """The client's socket dropped: keep running, paused, for the grace period."""
        self._send = None
        self._attached.clear()
        if not self.finished.is_set() and self._detach_timer is None:
            loop = asyncio.get_running_loop()
            self._detach_timer = loop.call_later(self.config.resume_grace_seconds, self._abandon)

    def _abandon(self) -> None:
        """Nobody came back in time: stop the program and let the relay drain to the end."""
        self._attached.set()
        asyncio.ensure_future(self.stop())

    # -- client commands ----------------------------------------------------------------------
    async def stdin(self, data: str) -> None:
        await self._to_agent(wire.Kind.STDIN, data.encode("utf-8", "surrogatepass"))

    async def resize(self, cols: int, rows: int) -> None:
        await self._to_agent(wire.Kind.RESIZE, json.dumps({"cols": cols, "rows": rows}).encode())

    async def stop(self) -> None:
        await self._to_agent(wire.Kind.STOP, b"{}")

    async def _to_agent(self, kind: wire.Kind, payload: bytes) -> None:
        if self.finished.is_set():
            return
        try:
            await self.sandbox.link.send(kind, payload)
        except AgentLinkClosed:
            pass  # the relay notices and reports the exit

    # -- relay --------------------------------------------------------------------------------
    async def _relay(self) -> None:
        result: Dict[str, Any] = {"code": -1, "reason": "failed", "limit": None, "signal": None}
        deadline = self.config.limits.wall_seconds + HOST_GRACE_SECONDS
        try:
            result = await asyncio.wait_for(self._relay_frames(), deadline)
        except asyncio.TimeoutError:
            result.update(reason="timeout", limit="wall")
        except AgentLinkClosed as error:
            log.warning("sandbox_lost", run=self.id, sandbox=self.sandbox.id, error=str(error))
        except Exception:  # noqa: BLE001 - whatever broke, the student gets an exit and the sandbox goes
            log.exception("relay_failed", run=self.id)
        try:
            await self._finish(result)  # tell the student first; a reset or teardown takes a moment
        finally:
            self.lease.run_ended(self.sandbox, result)

    async def _relay_frames(self) -> Dict[str, Any]:
        while True:
            await self._attached.wait()
            frame = await self.sandbox.link.recv()
            if frame.kind == wire.Kind.OUTPUT:
                self.timings.setdefault("first_output", time.monotonic() - self.started_at)
                self.replay.append(frame.payload)
                await self._deliver(frame.payload)
            elif frame.kind == wire.Kind.EXIT:
                return frame.json()
            elif frame.kind == wire.Kind.DISPLAY:
                size = frame.json()
                await self._deliver(protocol.display_message(self.id, size.get("width", 0), size.get("height", 0)))

    async def _deliver(self, message: Any) -> None:
        send = self._send
        if send is None:
            return  # detached: the bytes are in the replay buffer for the resume
        try:
            await send(message)
        except Exception:  # noqa: BLE001 - a dead socket means detach, not a dead run
            self.detach()

    async def _finish(self, result: Dict[str, Any]) -> None:
        reason = result.get("reason") if result.get("reason") in protocol.EXIT_REASONS else "failed"
        code = result.get("code") if isinstance(result.get("code"), int) else -1
        message = exit_text(reason, code, result.get("limit"), result.get("signal"), self.config.limits)
        extra = {"limit": result["limit"]} if result.get("limit") else {}
        self.exit = {"code": code, "reason": reason, "message": message, **extra}
        self.timings["total"] = time.monotonic() - self.started_at
        log.info("run_end", run=self.id, mode=self.mode, sandbox=self.sandbox.id, reason=reason, code=code,
                 limit=result.get("limit"), output_bytes=self.replay.end,
                 **{f"{k}_ms": round(v * 1000, 1) for k, v in self.timings.items()})
        self.finished.set()
        if self.on_finished is not None:
            self.on_finished()
        await self._deliver(protocol.exit_message(self.id, code, reason, message, **extra))
        if self._detach_timer is not None:
            self._detach_timer.cancel()

    def summary(self) -> Dict[str, Any]:
        return {"run": self.id, "mode": self.mode, "sandbox": self.sandbox.id, "client": self.client,
                "seconds": round(time.monotonic() - self.started_at, 3), "attached": self._attached.is_set(),
                "output_bytes": self.replay.end, "exit": self.exit}

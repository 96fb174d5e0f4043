"""Fake sandboxes: what listens behind the addresses the fake Consul hands out.

A fake sandbox is not the real agent (that runs in gVisor; see the LocalScheduler tests).
It speaks just enough of sandbox/wire.py, the way sandbox/agent.py does, for the
scheduler's and the session lease's side to be real: on every connection it sends HELLO
(with "reset": true); a connection that closes without a CLAIM is a health probe and
changes nothing.  The first connection to CLAIM owns the sandbox: each CLAIM is answered
with STARTED, a line of OUTPUT and EXIT (with "reusable", decided as the agent decides);
then, if reusable, READY {"runs": n} and the next CLAIM on the same connection; if not, the
connection closes and the sandbox takes no more runs.  Once claimed, later connections are
closed at once, without HELLO (a health check still finds the port open, but nobody can
claim the sandbox twice).  A program whose text has a line ``# fake exit: <reason> [<limit>]``
ends with that reason (and limit), e.g. "memory", which the real agent would report for a
program that ran out of memory.  Its "display" port sends an RFB version banner like Xvnc does.

All fake sandboxes live on one asyncio loop in a background thread, so the fake Nomad
(which starts them from its HTTP handler threads) does not depend on the test's loop.
Only 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import base64
import dataclasses
from typing import Any, Dict, List, Optional, Tuple

from sandbox import wire
from sandbox.agent import TRUSTED_LIMITS, UNTRUSTED_REASONS
from testkit.loop_host import LoopHost

RFB_BANNER = b"RFB 003.008\n"
AUDIO_PACKET = b"\x00\x03\xf8\xff\xfe"   # one framed Opus packet of silence, as sandbox/sound.py sends
FAKE_EXIT = "# fake exit:"
FAKE_PID = 1          # the agent is pid 1 of its sandbox


@dataclasses.dataclass
class FakeSandbox:
    mode: str
    silent: bool                      # accepts connections but never says HELLO
    pty_port: int = 0
    vnc_port: int = 0
    audio_port: int = 0
    claims: int = 0
    hellos: int = 0
    owner: Optional[asyncio.StreamWriter] = None   # the connection that claimed it
    ended: bool = False               # a run ended not reusable: the agent has exited
    servers: List[asyncio.base_events.Server] = dataclasses.field(default_factory=list)
    writers: List[asyncio.StreamWriter] = dataclasses.field(default_factory=list)
    tasks: List[asyncio.Task[None]] = dataclasses.field(default_factory=list)

    def _track(self, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        task = asyncio.current_task()
        if task is not None:
            self.tasks.append(task)

    async def serve_agent(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track(writer)
        try:
            if self.owner is not None or self.ended:
                return
            if self.silent:
                await reader.read()
                return
            self.hellos += 1
            writer.write(wire.encode_json(wire.Kind.HELLO, {
                "version": wire.VERSION, "python": "3.10.13", "mode": self.mode,
                "pid": FAKE_PID, "reset": True}))
            await writer.drain()
            decoder = wire.FrameDecoder()
            while not self.ended:
                claim = await self._read_claim(reader, decoder)
                if claim is None or self.owner not in (None, writer):
                    return
                self.owner = writer
                await self._run(claim, writer)
        except (ConnectionError, wire.WireError):
            pass
        finally:
            if self.owner is writer:
                self.ended = True           # its session went away: the real agent exits
            writer.close()

    async def _read_claim(self, reader: asyncio.StreamReader, decoder: wire.FrameDecoder) -> Optional[wire.Frame]:
        while True:
            data = await reader.read(65536)
            if not data:
                return None                 # a probe (Consul's TCP check) or a dropped host
            for frame in decoder.feed(data):
                if frame.kind == wire.Kind.CLAIM:
                    return frame            # STDIN, RESIZE, STOP between runs reach nothing

    async def _run(self, claim: wire.Frame, writer: asyncio.StreamWriter) -> None:
        self.claims += 1
        message = claim.json()
        entry = message.get("entry", "main.py")
        reason, limit = _scripted_exit(message, entry)
        reusable = reason not in UNTRUSTED_REASONS and limit in TRUSTED_LIMITS
        display = {"width": 800, "height": 600} if self.mode != "python" else None
        writer.write(wire.encode_json(wire.Kind.STARTED, {"display": display}))
        writer.write(wire.encode(wire.Kind.OUTPUT, f"fake sandbox ran {entry}\r\n".encode()))
        writer.write(wire.encode_json(wire.Kind.EXIT, {
            "code": 0 if reason == "exited" else -9 if reason == "memory" else 1, "reason": reason,
            "limit": limit, "signal": None, "seconds": 0.01, "reusable": reusable}))
        if reusable:
            writer.write(wire.encode_json(wire.Kind.READY, {"runs": self.claims}))
        else:
            self.ended = True               # the real agent exits: its sandbox is over
        await writer.drain()

    async def serve_vnc(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve_port(reader, writer, RFB_BANNER)

    async def serve_audio(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve_port(reader, writer, AUDIO_PACKET)

    async def _serve_port(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, greeting: bytes) -> None:
        """What a display or sound port sends first; then open until the other side leaves."""
        self._track(writer)
        try:
            writer.write(greeting)
            await writer.drain()
            await reader.read()
        except ConnectionError:
            pass
        finally:
            writer.close()


def _scripted_exit(claim: Dict[str, Any], entry: str) -> Tuple[str, Optional[str]]:
    """("exited", None), or what the entry file's ``# fake exit: <reason> [<limit>]`` line asks for."""
    for item in claim.get("files") or []:
        if item.get("path") != entry:
            continue
        for line in base64.b64decode(item.get("data", "")).decode(errors="replace").splitlines():
            if line.startswith(FAKE_EXIT):
                words = line[len(FAKE_EXIT):].split()
                if words:
                    return words[0], (words[1] if len(words) > 1 else None)
    return "exited", None


class FakeSandboxHost(LoopHost[FakeSandbox]):
    """Runs fake sandboxes on a private event loop in one thread."""

    def __init__(self) -> None:
        super().__init__("fake-sandbox-host")

    def launch(self, mode: str, *, silent: bool = False) -> FakeSandbox:
        """Start one fake sandbox; returns once both its ports listen.  Any thread."""
        sandbox = self.on_loop(self._launch(mode, silent), 5)
        self._add(sandbox.pty_port, sandbox)
        return sandbox

    def remove(self, sandbox: FakeSandbox) -> None:
        self._forget(sandbox.pty_port)
        self.on_loop(self._shut(sandbox), 5)

    async def _launch(self, mode: str, silent: bool) -> FakeSandbox:
        sandbox = FakeSandbox(mode, silent)
        agent = await asyncio.start_server(sandbox.serve_agent, "127.0.0.1", 0)
        vnc = await asyncio.start_server(sandbox.serve_vnc, "127.0.0.1", 0)
        audio = await asyncio.start_server(sandbox.serve_audio, "127.0.0.1", 0)
        sandbox.servers = [agent, vnc, audio]
        sandbox.pty_port = agent.sockets[0].getsockname()[1]
        sandbox.vnc_port = vnc.sockets[0].getsockname()[1]
        sandbox.audio_port = audio.sockets[0].getsockname()[1]
        return sandbox

    async def _shut(self, sandbox: FakeSandbox) -> None:
        for server in sandbox.servers:
            server.close()
        for writer in sandbox.writers:
            writer.close()
        for server in sandbox.servers:
            await server.wait_closed()
        # Let this sandbox's connection handlers see their sockets close and finish.
        pending = [task for task in sandbox.tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=1)

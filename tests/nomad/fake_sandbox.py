"""Fake sandboxes: what listens behind the addresses the fake Consul hands out.

A fake sandbox is not the real agent (that runs in gVisor; see the LocalScheduler tests).
It speaks just enough of sandbox/wire.py for the scheduler's side to be real: on every
connection it sends HELLO; a connection that closes without a CLAIM is a health probe and
changes nothing; after one CLAIM it answers STARTED, a line of OUTPUT and EXIT.  An agent
accepts exactly one claim: later connections are closed at once, without HELLO (so a
health check still finds the port open, but nobody can claim the sandbox twice).  Its "display" port sends an RFB version
banner like Xvnc does.

All fake sandboxes live on one asyncio loop in a background thread, so the fake Nomad
(which starts them from its HTTP handler threads) does not depend on the test's loop.
Only 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Dict, List, Optional

from sandbox import wire

RFB_BANNER = b"RFB 003.008\n"


@dataclasses.dataclass
class FakeSandbox:
    mode: str
    silent: bool                      # accepts connections but never says HELLO
    pty_port: int = 0
    vnc_port: int = 0
    claims: int = 0
    hellos: int = 0
    servers: List[asyncio.base_events.Server] = dataclasses.field(default_factory=list)
    writers: List[asyncio.StreamWriter] = dataclasses.field(default_factory=list)
    tasks: List["asyncio.Task[None]"] = dataclasses.field(default_factory=list)

    def _track(self, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        task = asyncio.current_task()
        if task is not None:
            self.tasks.append(task)

    async def serve_agent(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track(writer)
        try:
            if self.claims:
                return
            if self.silent:
                await reader.read()
                return
            self.hellos += 1
            writer.write(wire.encode_json(wire.Kind.HELLO, {
                "version": wire.VERSION, "python": "3.10.13", "mode": self.mode,
                "display": self.mode != "python"}))
            await writer.drain()
            claim = await self._read_claim(reader)
            if claim is not None:
                await self._run(claim, writer)
        except (ConnectionError, wire.WireError):
            pass
        finally:
            writer.close()

    async def _read_claim(self, reader: asyncio.StreamReader) -> Optional[wire.Frame]:
        decoder = wire.FrameDecoder()
        while True:
            data = await reader.read(65536)
            if not data:
                return None                 # a probe (Consul's TCP check) or a dropped host
            for frame in decoder.feed(data):
                if frame.kind == wire.Kind.CLAIM:
                    return frame

    async def _run(self, claim: wire.Frame, writer: asyncio.StreamWriter) -> None:
        self.claims += 1
        entry = claim.json().get("entry", "main.py")
        display = {"width": 800, "height": 600} if self.mode != "python" else None
        writer.write(wire.encode_json(wire.Kind.STARTED, {"display": display}))
        writer.write(wire.encode(wire.Kind.OUTPUT, f"fake sandbox ran {entry}\r\n".encode()))
        writer.write(wire.encode_json(wire.Kind.EXIT, {"code": 0, "reason": "exited", "message": ""}))
        await writer.drain()

    async def serve_vnc(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track(writer)
        try:
            writer.write(RFB_BANNER)
            await writer.drain()
            await reader.read()
        except ConnectionError:
            pass
        finally:
            writer.close()


class FakeSandboxHost:
    """Runs fake sandboxes on a private event loop in one thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-sandbox-host", daemon=True)
        self._sandboxes: Dict[int, FakeSandbox] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def launch(self, mode: str, *, silent: bool = False) -> FakeSandbox:
        """Start one fake sandbox; returns once both its ports listen.  Any thread."""
        sandbox = asyncio.run_coroutine_threadsafe(self._launch(mode, silent), self._loop).result(5)
        with self._lock:
            self._sandboxes[sandbox.pty_port] = sandbox
        return sandbox

    def remove(self, sandbox: FakeSandbox) -> None:
        with self._lock:
            self._sandboxes.pop(sandbox.pty_port, None)
        asyncio.run_coroutine_threadsafe(self._shut(sandbox), self._loop).result(5)

    def live(self) -> List[FakeSandbox]:
        with self._lock:
            return list(self._sandboxes.values())

    def stop(self) -> None:
        for sandbox in self.live():
            self.remove(sandbox)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _launch(self, mode: str, silent: bool) -> FakeSandbox:
        sandbox = FakeSandbox(mode, silent)
        agent = await asyncio.start_server(sandbox.serve_agent, "127.0.0.1", 0)
        vnc = await asyncio.start_server(sandbox.serve_vnc, "127.0.0.1", 0)
        sandbox.servers = [agent, vnc]
        sandbox.pty_port = agent.sockets[0].getsockname()[1]
        sandbox.vnc_port = vnc.sockets[0].getsockname()[1]
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

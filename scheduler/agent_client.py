"""The host's end of the agent wire protocol: a thin async wrapper over sandbox/wire.py.

Implements scheduler.interface.AgentClient for a real agent, reached over a unix socket
(local sandboxes) or TCP (Nomad).  Reading is pull-based, as the interface says: nothing
is read until an event is asked for.
"""
from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections import deque
from typing import Any, Deque, Dict, Optional, Tuple

from sandbox import wire
from scheduler.errors import AgentGone, ClaimRefused
from scheduler.interface import AgentClient, AgentEvent, Claim, Exited, Output, Streams, WindowResized

READ_CHUNK = 64 * 1024
Endpoint = Tuple[str, str]   # ("unix", path) or ("tcp", "host:port")


async def open_endpoint(endpoint: Endpoint, keepalive_seconds: float = 0.0) -> Streams:
    """A connection to the agent; over TCP with ``keepalive_seconds``, a peer whose host
    died without a FIN (a lost Nomad node) closes the connection within ~3x that time."""
    kind, address = endpoint
    if kind == "unix":
        return await asyncio.open_unix_connection(address)
    host, _, port = address.rpartition(":")
    reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
    sock = writer.get_extra_info("socket")
    if keepalive_seconds > 0 and sock is not None:
        keep_alive(sock, keepalive_seconds)
    return reader, writer


def keep_alive(sock: socket.socket, idle_seconds: float) -> None:
    """Probe an idle TCP connection after ``idle_seconds``, then every third of it, and
    give up after three unanswered probes."""
    idle = max(1, int(idle_seconds))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, idle // 3))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)


class WireAgentClient(AgentClient):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 max_frame: int = wire.DEFAULT_MAX_FRAME) -> None:
        self._reader = reader
        self._writer = writer
        self._decoder = wire.FrameDecoder(max_frame)
        self._frames: Deque[wire.Frame] = deque()
        self.hello: Dict[str, Any] = {}

    @classmethod
    async def connect(cls, endpoint: Endpoint, timeout: float, keepalive_seconds: float = 0.0) -> WireAgentClient:
        """Connect and wait for the agent's HELLO, within ``timeout`` seconds."""
        reader, writer = await asyncio.wait_for(open_endpoint(endpoint, keepalive_seconds), timeout)
        client = cls(reader, writer)
        try:
            frame = await asyncio.wait_for(client._recv(), timeout)
            if frame.kind != wire.Kind.HELLO:
                raise AgentGone(f"agent sent {frame.kind.name} before HELLO")
        except BaseException:
            client.close()
            raise
        client.hello = frame.json()
        return client

    # -- the interface --------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._writer.is_closing()

    async def claim(self, claim: Claim, timeout: float) -> Optional[Dict[str, Any]]:
        message = {"entry": claim.entry, "term": {"cols": claim.cols, "rows": claim.rows},
                   "files": [{"path": path, "data": base64.b64encode(data).decode("ascii")}
                             for path, data in claim.files],
                   "limits": claim.limits.to_wire()}
        if claim.screen is not None:
            message["screen"] = {"width": claim.screen[0], "height": claim.screen[1]}
        try:
            await self._send(wire.Kind.CLAIM, json.dumps(message).encode())
            frame = await asyncio.wait_for(self._recv(), timeout)
        except asyncio.TimeoutError:
            raise AgentGone(f"the agent did not answer the claim within {timeout:g}s") from None
        if frame.kind == wire.Kind.EXIT:
            result = frame.json()
            raise ClaimRefused(result.get("detail") or "the files could not be written", result)
        if frame.kind != wire.Kind.STARTED:
            raise AgentGone(f"agent answered {frame.kind.name} to the claim")
        display: Optional[Dict[str, Any]] = frame.json().get("display")
        return display

    async def next_event(self) -> AgentEvent:
        while True:
            frame = await self._recv()
            if frame.kind == wire.Kind.OUTPUT:
                return Output(frame.payload)
            if frame.kind == wire.Kind.EXIT:
                return Exited(frame.json())
            if frame.kind == wire.Kind.DISPLAY:
                size = frame.json()
                return WindowResized(int(size.get("width", 0)), int(size.get("height", 0)))

    async def stdin(self, data: bytes) -> None:
        await self._send(wire.Kind.STDIN, data)

    async def resize(self, cols: int, rows: int) -> None:
        await self._send(wire.Kind.RESIZE, json.dumps({"cols": cols, "rows": rows}).encode())

    async def stop(self) -> None:
        await self._send(wire.Kind.STOP, b"{}")

    async def reset(self, timeout: float) -> bool:
        try:
            frame = await asyncio.wait_for(self._recv(), timeout)
        except asyncio.TimeoutError:
            raise AgentGone(f"the agent was not ready again within {timeout:g}s") from None
        return frame.kind == wire.Kind.READY

    def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()

    # -- framing ----------------------------------------------------------------------------
    async def _recv(self) -> wire.Frame:
        while not self._frames:
            data = await self._reader.read(READ_CHUNK)
            if not data:
                raise AgentGone("agent closed the connection")
            try:
                self._frames.extend(self._decoder.feed(data))
            except wire.WireError as error:
                raise AgentGone(str(error)) from error
        return self._frames.popleft()

    async def _send(self, kind: wire.Kind, payload: bytes) -> None:
        if self._writer.is_closing():
            raise AgentGone("agent connection is closed")
        self._writer.write(wire.encode(kind, payload))
        try:
            await self._writer.drain()
        except (ConnectionError, RuntimeError) as error:
            raise AgentGone(str(error)) from error

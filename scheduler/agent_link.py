"""Host side of the agent wire protocol: a thin async wrapper over sandbox.wire.

Reading is pull-based: nothing is read from the agent until ``recv`` is called,
so a slow browser makes the agent's socket fill up, which makes the agent stop
reading the PTY, which blocks the student's print().  That is the end-to-end
flow control: no buffer in between grows without bound.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Deque, Dict, Tuple

from sandbox import wire

READ_CHUNK = 64 * 1024


class AgentLinkClosed(Exception):
    """The agent connection ended (sandbox exited or died)."""


class AgentLink:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 max_frame: int = wire.DEFAULT_MAX_FRAME) -> None:
        self._reader = reader
        self._writer = writer
        self._decoder = wire.FrameDecoder(max_frame)
        self._frames: Deque[wire.Frame] = deque()
        self.hello: Dict[str, Any] = {}

    @classmethod
    async def connect(cls, endpoint: Tuple[str, str], timeout: float) -> "AgentLink":
        """Connect and wait for the agent's HELLO, within ``timeout`` seconds."""
        from scheduler.base import open_endpoint

        reader, writer = await asyncio.wait_for(open_endpoint(endpoint), timeout)
        link = cls(reader, writer)
        try:
            frame = await asyncio.wait_for(link.recv(), timeout)
        except BaseException:
            link.close()
            raise
        if frame.kind != wire.Kind.HELLO:
            link.close()
            raise AgentLinkClosed(f"agent sent {frame.kind.name} before HELLO")
        link.hello = frame.json()
        return link

    async def recv(self) -> wire.Frame:
        while not self._frames:
            data = await self._reader.read(READ_CHUNK)
            if not data:
                raise AgentLinkClosed("agent closed the connection")
            try:
                self._frames.extend(self._decoder.feed(data))
            except wire.WireError as error:
                raise AgentLinkClosed(str(error)) from error
        return self._frames.popleft()

    async def send(self, kind: wire.Kind, payload: bytes) -> None:
        if self._writer.is_closing():
            raise AgentLinkClosed("agent connection is closed")
        self._writer.write(wire.encode(kind, payload))
        try:
            await self._writer.drain()
        except (ConnectionError, RuntimeError) as error:
            raise AgentLinkClosed(str(error)) from error

    async def send_json(self, kind: wire.Kind, obj: Any) -> None:
        await self.send(kind, wire.encode_json(kind, obj)[wire.HEADER.size:])

    def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()

    @property
    def closed(self) -> bool:
        return self._writer.is_closing()

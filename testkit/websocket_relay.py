"""A plain WebSocket-to-RFB relay on loopback, doing websockify's job for a unix-socket Xvnc:
the display WebSocket's framing without the service (tests and the display benchmark)."""
from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

import websockets

from proxy.relay import until_either_ends

READ_CHUNK = 64 * 1024


@contextlib.asynccontextmanager
async def websocket_relay(socket_path: str) -> AsyncIterator[str]:
    """Serve the relay while the block runs; yields its ws:// URL."""
    async def relay(connection) -> None:
        reader, writer = await asyncio.open_unix_connection(socket_path)

        async def to_display() -> None:
            async for message in connection:
                writer.write(message)
                await writer.drain()

        async def to_client() -> None:
            while data := await reader.read(READ_CHUNK):
                await connection.send(data)

        try:
            await until_either_ends(to_display(), to_client())
        finally:
            writer.close()

    async with websockets.serve(relay, "127.0.0.1", 0, subprotocols=["binary"], max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/"

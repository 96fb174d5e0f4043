"""Two-way relays: both directions awaited, so the slower side slows the other and no
buffer in between grows (the flow control every relay here relies on)."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Optional, Union

Message = Union[str, bytes]
Receive = Callable[[], Awaitable[Optional[Message]]]   # None: that side closed
Send = Callable[[Message], Awaitable[Any]]


async def until_either_ends(*directions: Awaitable[object]) -> None:
    """Run both directions of a relay until one ends or fails; the other is then cancelled
    and awaited (Xvnc keeps its end open after a viewer leaves, and vice versa)."""
    tasks = [asyncio.ensure_future(direction) for direction in directions]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def pump(receive: Receive, send: Send) -> None:
    """One direction: each message is passed on before the next is read."""
    while True:
        message = await receive()
        if message is None:
            return
        await send(message)


async def splice(receive_a: Receive, send_a: Send, receive_b: Receive, send_b: Send) -> None:
    """Relay two message sockets to each other until either closes."""
    await until_either_ends(pump(receive_a, send_b), pump(receive_b, send_a))


class ByteReader:
    """Exact reads over a socket whose messages carry a byte stream (RFB over a WebSocket)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.buffer = bytearray()   # read past the last exact read: the caller passes it on

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            message = await self._receive()
            if message is None:
                raise EOFError("the other side closed")
            self.buffer += message.encode() if isinstance(message, str) else message
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

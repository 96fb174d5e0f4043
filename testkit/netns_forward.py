"""Publishes a port of a container that has no network but its own loopback, on 127.0.0.1.

Docker publishes ports through a bridge network; a sandbox container here has none (network
"none": only its own loopback, so a student's program reaches nothing).  So, as docker-proxy
would, the fake Nomad client listens on 127.0.0.1 and joins every connection to the
container's loopback port, through a socket made inside the container's network namespace.
No address outside loopback is ever used.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading
from typing import List, Optional

CLONE_NEWNET = 0x40000000
CHUNK = 65536


class NamespaceError(OSError):
    """The container's network namespace could not be entered."""


def _socket_in(netns: str) -> socket.socket:
    """A TCP socket of the namespace ``netns``.  setns(CLONE_NEWNET) changes only the calling
    thread, so a short-lived thread makes it: whatever happens, no thread of ours stays there."""
    made: List[socket.socket] = []
    failed: List[BaseException] = []

    def make() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        try:
            fd = os.open(netns, os.O_RDONLY)
        except OSError as error:
            failed.append(NamespaceError(f"{netns}: {error}"))
            return
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                failed.append(NamespaceError(ctypes.get_errno(), f"setns {netns}"))
                return
            made.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        finally:
            os.close(fd)

    thread = threading.Thread(target=make, name="fake-netns-socket")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return made[0]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class PortForward:
    """127.0.0.1:<port> → the container's 127.0.0.1:<target>, on the caller's event loop."""

    def __init__(self, netns: str, target: int) -> None:
        self.netns = netns
        self.target = target
        self.port = 0
        self._server: Optional[asyncio.base_events.Server] = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._join, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _join(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        try:
            inner = _socket_in(self.netns)
            inner.setblocking(False)
            try:
                await asyncio.get_running_loop().sock_connect(inner, ("127.0.0.1", self.target))
            except OSError:
                inner.close()
                raise
            inner_reader, inner_writer = await asyncio.open_connection(sock=inner)
            self._writers.add(inner_writer)
            try:
                await asyncio.gather(_pipe(reader, inner_writer), _pipe(inner_reader, writer))
            finally:
                self._writers.discard(inner_writer)
        except OSError:
            pass                            # nothing listens there (yet): the client sees a close
        finally:
            writer.close()
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)

    async def close(self) -> None:
        """Stop listening and close every joined connection (both ends), as a removed
        container's published port does."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
        if self._server is not None:
            await self._server.wait_closed()

"""The baseline for display benchmarks: a host Xvnc and the sandbox's own Python and pygame."""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from typing import AsyncIterator, Dict, Iterator, Tuple

from sandbox import display
from tests.service import REPO


@contextlib.contextmanager
def native_xvnc(width: int, height: int) -> Iterator[Tuple[str, Dict[str, str]]]:
    """(RFB unix socket path, environment for a native pygame program on it)."""
    directory = tempfile.mkdtemp(prefix="pyplay-bench-")
    socket_path = os.path.join(directory, "vnc.sock")
    xvnc = display.start_xvnc(None, width, height, socket_path)
    try:
        display.wait_ready(xvnc)
        site = os.path.join(REPO, "build", "sandbox", "env", "lib", "python3.10", "site-packages")
        yield socket_path, display.program_environment(
            xvnc.display, {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": site})
    finally:
        display.stop_xvnc(xvnc)
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.asynccontextmanager
async def websocket_relay(socket_path: str) -> AsyncIterator[str]:
    """A plain WebSocket-to-RFB relay on loopback, doing websockify's job: yields its URL."""
    import websockets

    async def relay(connection) -> None:
        reader, writer = await asyncio.open_unix_connection(socket_path)

        async def to_display() -> None:
            async for message in connection:
                writer.write(message)
                await writer.drain()

        async def to_client() -> None:
            while data := await reader.read(64 * 1024):
                await connection.send(data)

        tasks = [asyncio.ensure_future(to_display()), asyncio.ensure_future(to_client())]
        try:  # either side ending ends both: Xvnc keeps its end open after the client leaves
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            writer.close()

    async with websockets.serve(relay, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/"

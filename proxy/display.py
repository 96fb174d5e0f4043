"""The display WebSocket: raw RFB bytes between noVNC and the sandbox's Xvnc.

Both directions are awaited writes, so a slow browser slows Xvnc's updates
(RFB is request-driven) instead of queueing frames in the proxy.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable

from common.logs import get_logger
from scheduler.errors import SandboxFailed

log = get_logger("pyplay.display")
READ_CHUNK = 64 * 1024


async def relay_display(ws: Any, run: Any) -> None:
    try:
        reader, writer = await run.sandbox.open_display()
    except (OSError, SandboxFailed) as error:
        log.warning("display_unreachable", run=run.id, sandbox=run.sandbox.id, error=str(error))
        await ws.close(code=1011, reason="display not available")
        return

    async def browser_to_display() -> None:
        while True:
            data = await ws.recv()
            if data is None:
                return
            writer.write(data if isinstance(data, (bytes, bytearray)) else data.encode())
            await writer.drain()

    async def display_to_browser() -> None:
        while True:
            data = await reader.read(READ_CHUNK)
            if not data:
                return
            await ws.send(data)

    try:
        await until_either_ends(browser_to_display(), display_to_browser())
    finally:
        writer.close()


async def until_either_ends(*directions: Awaitable[None]) -> None:
    """Run both directions of a relay until one ends or fails; the other is then cancelled
    and awaited (Xvnc keeps its end open after a viewer leaves, and vice versa)."""
    tasks = [asyncio.ensure_future(direction) for direction in directions]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

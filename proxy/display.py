"""The display WebSocket: raw RFB bytes between noVNC and the sandbox's RFB server.

Both directions are awaited writes (proxy/relay.py), so a slow browser slows Xvnc's
updates (RFB is request-driven) instead of queueing frames in the proxy.
"""
from __future__ import annotations

from typing import Any, Optional

from common.logs import get_logger
from proxy.relay import Message, splice
from proxy.run import Run
from scheduler.errors import SandboxFailed

log = get_logger("pyplay.display")
READ_CHUNK = 64 * 1024


async def relay_display(ws: Any, run: Run) -> None:
    try:
        reader, writer = await run.sandbox.open_display()
    except (OSError, SandboxFailed) as error:
        log.warning("display_unreachable", run=run.id, sandbox=run.sandbox.id, error=str(error))
        await ws.close(code=1011, reason="display not available")
        return

    async def from_display() -> Optional[Message]:
        return await reader.read(READ_CHUNK) or None

    async def to_display(data: Message) -> None:
        writer.write(data.encode() if isinstance(data, str) else data)
        await writer.drain()

    try:
        await splice(ws.recv, ws.send, from_display, to_display)
    finally:
        writer.close()

"""The display WebSocket: RFB between noVNC and the sandbox's Xvnc.

The relay joins Xvnc itself and greets the browser with what Xvnc said (proxy/rfb.py says
why: a desktop resize must never find a viewer mid-handshake).  After that both
directions are raw bytes and awaited writes (proxy/relay.py), so a slow browser slows
Xvnc's updates (RFB is request-driven) instead of queueing frames in the proxy.
"""
from __future__ import annotations

import asyncio
from typing import Any, Optional, Tuple

from common.logs import get_logger
from proxy import rfb
from proxy.relay import ByteReader, Message, splice
from proxy.run import Run
from scheduler.errors import SandboxFailed

log = get_logger("pyplay.display")
READ_CHUNK = 64 * 1024
HANDSHAKE_SECONDS = 10.0
JOIN_ATTEMPTS = 3


async def _join_display(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """Handshake with Xvnc as a shared viewer that follows resizes; its ServerInit."""
    rfb.check_version(await reader.readexactly(12))
    writer.write(rfb.VERSION)
    (count,) = await reader.readexactly(1)
    rfb.check_security_types(await reader.readexactly(count))
    writer.write(bytes([rfb.SECURITY_NONE]))
    if await reader.readexactly(4) != rfb.SECURITY_OK:
        raise rfb.RFBError("the display refused security type None")
    writer.write(rfb.SHARED)
    header = await reader.readexactly(rfb.SERVER_INIT_HEADER)
    server_init = header + await reader.readexactly(rfb.name_length(header))
    writer.write(rfb.announce_desktop_size())
    await writer.drain()
    return server_init


async def _open_and_join(run: Run) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """A joined connection to the display.  Xvnc can still drop the relay itself in the
    moment between its ServerInit and our SetEncodings; the viewer has not been greeted
    yet, so joining again is invisible to it."""
    attempt = 1
    while True:
        reader, writer = await run.sandbox.open_display()
        try:
            return reader, writer, await asyncio.wait_for(_join_display(reader, writer), HANDSHAKE_SECONDS)
        except BaseException as error:
            writer.close()   # on every path: a failed join must not hold a connection to Xvnc
            dropped = isinstance(error, (asyncio.IncompleteReadError, ConnectionError))
            if not dropped or attempt == JOIN_ATTEMPTS:
                raise
            log.info("display_join_again", run=run.id, attempt=attempt)
            attempt += 1


async def _greet_viewer(ws: Any, viewer: ByteReader, server_init: bytes) -> None:
    """The server's side of the handshake, to the browser, with Xvnc's ServerInit."""
    await ws.send(rfb.VERSION)
    minor = rfb.check_version(await viewer.read_exactly(12))
    await ws.send(rfb.offer_security(minor))
    if minor >= 7 and (await viewer.read_exactly(1))[0] != rfb.SECURITY_NONE:
        raise rfb.RFBError("the viewer chose a security type that was not offered")
    if minor >= 8:
        await ws.send(rfb.SECURITY_OK)
    await viewer.read_exactly(1)  # ClientInit: every viewer shares this display
    await ws.send(server_init)


async def relay_display(ws: Any, run: Run) -> None:
    # Until the program's window is up the desktop is blank and about to be resized: a
    # viewer waits in the handshake (noVNC shows "connecting") and then starts with the
    # window's size and content.  The wait ends with the run at the latest.
    await run.window_shown.wait()
    try:
        reader, writer, server_init = await _open_and_join(run)
    except (OSError, SandboxFailed, rfb.RFBError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
        log.warning("display_unreachable", run=run.id, sandbox=run.sandbox.id, error=str(error) or repr(error))
        await ws.close(code=1011, reason="display not available")
        return
    viewer = ByteReader(ws.recv)
    try:
        await asyncio.wait_for(_greet_viewer(ws, viewer, server_init), HANDSHAKE_SECONDS)
        if viewer.buffer:  # the viewer's first messages, read along with its ClientInit
            writer.write(bytes(viewer.buffer))
    except (rfb.RFBError, asyncio.TimeoutError, ConnectionError, EOFError) as error:
        log.warning("display_viewer_handshake_failed", run=run.id, error=str(error) or type(error).__name__)
        writer.close()
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

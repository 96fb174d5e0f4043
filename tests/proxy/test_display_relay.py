"""The display relay's own RFB handshake (proxy/display.py) against a scripted RFB server on
a unix socket: no gVisor, no Xvnc.  The real-Xvnc behaviour is tests/e2e's."""
from __future__ import annotations

import asyncio
import struct
from typing import List, Optional, Union

from proxy import rfb
from proxy.display import JOIN_ATTEMPTS, relay_display

SERVER_INIT = struct.pack(">HH16sI", 320, 240, b"\x00" * 16, 4) + b"test"


class ScriptedXvnc:
    """Answers the handshake; the first ``drops`` connections close right after ServerInit,
    as Xvnc does when the desktop resizes before the viewer's SetEncodings."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.connections = 0
        self.after_init: List[bytes] = []   # what a kept connection received after ClientInit

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.write(rfb.VERSION)
        await reader.readexactly(12)
        writer.write(b"\x01\x01")
        await reader.readexactly(1)
        writer.write(rfb.SECURITY_OK)
        await reader.readexactly(1)
        writer.write(SERVER_INIT)
        await writer.drain()
        if self.connections <= self.drops:
            writer.close()
            return
        self.after_init.append(await reader.readexactly(8))   # the relay's SetEncodings
        self.after_init.append(await reader.readexactly(4))   # the viewer's first bytes, relayed
        writer.close()


class Viewer:
    """The browser's end of the display WebSocket: a 3.8 viewer that sends ``extra`` after ClientInit."""

    def __init__(self, extra: bytes) -> None:
        self.inbox: asyncio.Queue[Optional[bytes]] = asyncio.Queue()
        for message in (b"RFB 003.008\n", b"\x01", b"\x01" + extra):
            self.inbox.put_nowait(message)
        self.received = bytearray()
        self.closed: Optional[int] = None

    async def recv(self) -> Optional[Union[str, bytes]]:
        return await self.inbox.get()

    async def send(self, data: bytes) -> None:
        self.received += data

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = code
        self.inbox.put_nowait(None)


class Run:
    def __init__(self, path: str, window_shown: bool = True) -> None:
        self.id = "r-test-1"
        self.sandbox = self
        self._path = path
        self.window_shown = asyncio.Event()
        if window_shown:
            self.window_shown.set()

    async def open_display(self):
        return await asyncio.open_unix_connection(self._path)


async def _relay(tmp_path, drops: int) -> tuple:
    xvnc = ScriptedXvnc(drops)
    path = str(tmp_path / "vnc.sock")
    server = await asyncio.start_unix_server(xvnc.serve, path)
    viewer = Viewer(extra=b"\x03\x00\x00\x00")
    try:
        relaying = asyncio.ensure_future(relay_display(viewer, Run(path)))  # type: ignore[arg-type]
        await asyncio.wait_for(relaying, 10)
    finally:
        server.close()
        await server.wait_closed()
    return xvnc, viewer


async def test_a_join_dropped_by_a_resize_is_made_again_unseen_by_the_viewer(tmp_path) -> None:
    xvnc, viewer = await _relay(tmp_path, drops=JOIN_ATTEMPTS - 1)
    assert xvnc.connections == JOIN_ATTEMPTS
    assert xvnc.after_init == [rfb.announce_desktop_size(), b"\x03\x00\x00\x00"], \
        "DesktopSize announced first, then the viewer's own bytes"
    assert bytes(viewer.received) == rfb.VERSION + b"\x01\x01" + rfb.SECURITY_OK + SERVER_INIT
    assert viewer.closed is None


async def test_a_display_that_keeps_dropping_the_join_closes_the_viewer_socket(tmp_path) -> None:
    xvnc, viewer = await _relay(tmp_path, drops=JOIN_ATTEMPTS)
    assert xvnc.connections == JOIN_ATTEMPTS, "a bounded number of tries"
    assert viewer.closed == 1011 and viewer.received == b"", "the viewer is told, never half-greeted"


async def test_a_viewer_is_greeted_only_once_the_programs_window_is_up(tmp_path) -> None:
    xvnc = ScriptedXvnc(drops=0)
    path = str(tmp_path / "vnc.sock")
    server = await asyncio.start_unix_server(xvnc.serve, path)
    viewer, run = Viewer(extra=b"\x03\x00\x00\x00"), Run(path, window_shown=False)
    try:
        relaying = asyncio.ensure_future(relay_display(viewer, run))  # type: ignore[arg-type]
        await asyncio.sleep(0.2)
        assert xvnc.connections == 0 and viewer.received == b"", "nothing before the window"
        run.window_shown.set()
        await asyncio.wait_for(relaying, 10)
    finally:
        server.close()
        await server.wait_closed()
    assert bytes(viewer.received) == rfb.VERSION + b"\x01\x01" + rfb.SECURITY_OK + SERVER_INIT

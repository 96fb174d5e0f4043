"""A fake IDE WebSocket, in memory: the two callables a Session is given, and the browser's end.

``receive`` and ``send`` behave like Sanic's ``ws.recv`` / ``ws.send`` as proxy/session.py
uses them: ``receive`` returns the next text frame, None once the browser closed the
socket, or raises when the connection broke; ``send`` takes text (JSON) or bytes.  The test
plays the browser: it queues frames with ``send_json``, reads what the session sent with
``expect``/``expect_output``, and decides how the socket fails: a clean close, a broken
connection, sends that raise (a dead peer noticed at last) or sends that block (a slow or
vanished peer whose buffers are full).
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, List, Optional, Union

from testkit.changes import Changes

Frame = Union[dict, bytes]   # what the browser got: a decoded JSON text frame, or binary output


class SocketBroken(ConnectionError):
    """The fake connection is gone (what a real socket raises is a ConnectionError too)."""


class FakeSocket:
    def __init__(self, name: str = "socket") -> None:
        self.name = name
        self.frames: List[Frame] = []            # everything the session sent, in order
        self._read = 0                           # frames the test has consumed with next()
        self._incoming: asyncio.Queue[Union[str, bytes, None, BaseException]] = asyncio.Queue()
        self._sends_open = asyncio.Event()
        self._sends_open.set()
        self._send_error: Optional[BaseException] = None
        self._sends_before_hold: Optional[int] = None   # hold_sends(after=n): sends left to pass
        self.blocked_sends = 0                   # sends waiting at a held gate
        self.changes = Changes()

    # -- the session's side (pass these to Session) ----------------------------------------------
    async def receive(self) -> Union[str, bytes, None]:
        item = await self._incoming.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def send(self, message: Any) -> None:
        if not isinstance(message, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"a WebSocket sends text or bytes, not {type(message).__name__}")
        while True:
            if self._send_error is not None:
                raise self._send_error
            if self._sends_before_hold is not None:
                if self._sends_before_hold == 0:
                    self._sends_before_hold = None
                    self._sends_open.clear()
                else:
                    self._sends_before_hold -= 1
            if self._sends_open.is_set():
                break
            self.blocked_sends += 1
            self.changes.fire()
            try:
                await self._sends_open.wait()
            finally:
                self.blocked_sends -= 1
        self.frames.append(json.loads(message) if isinstance(message, str) else bytes(message))
        self.changes.fire()

    # -- the browser's side: sending -------------------------------------------------------------
    def send_json(self, **message: Any) -> None:
        self.send_frame(json.dumps(message))

    def send_frame(self, frame: Union[str, bytes]) -> None:
        self._incoming.put_nowait(frame)

    def close(self) -> None:
        """The browser closed the tab: ``receive`` returns None, sends fail from now on."""
        self._incoming.put_nowait(None)
        self.fail_sends()

    def break_connection(self) -> None:
        """The connection broke (noticed at a ping timeout): ``receive`` raises, sends fail."""
        self._incoming.put_nowait(SocketBroken(f"{self.name}: connection lost"))
        self.fail_sends()

    def fail_sends(self) -> None:
        """The peer is gone and the server has noticed on its side: every send raises,
        including one blocked now.  ``receive`` still waits, as for a silent drop."""
        if self._send_error is None:
            self._send_error = SocketBroken(f"{self.name}: send on a dead connection")
        self._sends_open.set()  # wakes blocked sends, which then raise
        self.changes.fire()

    def hold_sends(self, after: int = 0) -> None:
        """Sends block (the browser stopped reading; buffers are full), from now on or
        once ``after`` more sends have gone through."""
        if after:
            self._sends_before_hold = after
        else:
            self._sends_open.clear()

    def release_sends(self) -> None:
        self._sends_before_hold = None
        self._sends_open.set()

    async def until_send_blocked(self) -> None:
        await self.changes.until(lambda: self.blocked_sends > 0)

    # -- the browser's side: reading -------------------------------------------------------------
    @property
    def output(self) -> bytes:
        """Every byte of terminal output received so far, read or not."""
        return b"".join(frame for frame in self.frames if isinstance(frame, bytes))

    def messages(self, kind: Optional[str] = None) -> List[dict]:
        """Every JSON message received so far (of type ``kind``), read or not."""
        return [frame for frame in self.frames if isinstance(frame, dict) and kind in (None, frame.get("type"))]

    def unread(self) -> List[Frame]:
        return self.frames[self._read:]

    async def next(self) -> Frame:
        await self.changes.until(lambda: len(self.frames) > self._read)
        frame = self.frames[self._read]
        self._read += 1
        return frame

    async def expect(self, kind: str, **fields: Any) -> dict:
        """The next frame is a JSON message of type ``kind`` with these fields."""
        frame = await self.next()
        assert isinstance(frame, dict) and frame.get("type") == kind, \
            f"{self.name}: expected a {kind!r} message, got {frame!r}"
        for name, value in fields.items():
            assert frame.get(name) == value, f"{self.name}: {kind}.{name} is {frame.get(name)!r}, not {value!r}"
        return frame

    async def expect_output(self, data: bytes) -> None:
        """The next frames are binary and together exactly ``data``."""
        got = b""
        while len(got) < len(data):
            frame = await self.next()
            assert isinstance(frame, bytes), f"{self.name}: expected output {data[len(got):]!r}, got {frame!r}"
            got += frame
        assert got == data, f"{self.name}: expected output {data!r}, got {got!r}"

"""A small asyncio RFB 3.8 client for tests: no dependencies beyond the standard library
(and ``websockets`` only when connecting through a display WebSocket).

It speaks what a viewer needs to check a display: security type None, 32-bit
little-endian true colour, the Raw and CopyRect encodings and the DesktopSize /
ExtendedDesktopSize pseudo-encodings. A background task keeps one incremental
update request outstanding (continuous updates, like noVNC) and applies every
update to ``framebuffer``; ``wait_for`` waits until a predicate on it holds.

    client = await RFBClient.open_unix(path)
    await client.wait_for(lambda c: c.pixel(10, 10) == (255, 0, 0), timeout=5)
"""
from __future__ import annotations

import asyncio
import struct
import zlib
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple

from proxy.relay import ByteReader

RAW, COPY_RECT = 0, 1
DESKTOP_SIZE, EXTENDED_DESKTOP_SIZE, CURSOR = -223, -308, -239
# The Cursor pseudo-encoding keeps the pointer out of the framebuffer, as in noVNC.
ENCODINGS = (RAW, COPY_RECT, DESKTOP_SIZE, EXTENDED_DESKTOP_SIZE, CURSOR)
MAX_SIDE = 8192            # refuse absurd sizes rather than allocate gigabytes
MAX_TEXT = 1 << 20         # longest server string (name, cut text, failure reason)

# X keysyms tests commonly need (see X11/keysymdef.h).
KEY_LEFT, KEY_UP, KEY_RIGHT, KEY_DOWN = 0xFF51, 0xFF52, 0xFF53, 0xFF54
KEY_RETURN, KEY_ESCAPE, KEY_BACKSPACE, KEY_TAB = 0xFF0D, 0xFF1B, 0xFF08, 0xFF09
KEY_SPACE = 0x20


class RFBError(Exception):
    """The server broke the protocol, refused us, or a wait timed out."""


class Transport(Protocol):
    async def read_exactly(self, n: int) -> bytes: ...
    async def write(self, data: bytes) -> None: ...
    async def close(self) -> None: ...


class StreamTransport:
    """RFB over an asyncio (reader, writer) pair: a unix or TCP socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def read_exactly(self, n: int) -> bytes:
        try:
            return await self.reader.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise RFBError(f"the RFB connection closed: {exc!r}") from exc

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


class WebSocketTransport:
    """RFB over a WebSocket whose binary frames carry raw RFB bytes (noVNC's framing)."""

    def __init__(self, websocket: Any) -> None:
        self.websocket = websocket
        self._reader = ByteReader(self._receive)

    async def _receive(self) -> bytes:
        try:
            message = await self.websocket.recv()
        except Exception as exc:  # websockets' ConnectionClosed family
            raise RFBError(f"the display WebSocket closed: {exc}") from exc
        if isinstance(message, str):
            raise RFBError("the display WebSocket sent a text frame")
        return message

    async def read_exactly(self, n: int) -> bytes:
        return await self._reader.read_exactly(n)

    async def write(self, data: bytes) -> None:
        await self.websocket.send(data)

    async def close(self) -> None:
        await self.websocket.close()


# --- client messages (pure encoders) ---------------------------------------------

PIXEL_FORMAT_32 = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)


def set_pixel_format_message() -> bytes:
    return struct.pack(">B3x", 0) + PIXEL_FORMAT_32


def set_encodings_message(encodings: Tuple[int, ...] = ENCODINGS) -> bytes:
    return struct.pack(f">BxH{len(encodings)}i", 2, len(encodings), *encodings)


def update_request_message(incremental: bool, x: int, y: int, w: int, h: int) -> bytes:
    return struct.pack(">BBHHHH", 3, int(incremental), x, y, w, h)


def key_event_message(down: bool, keysym: int) -> bytes:
    return struct.pack(">BBxxI", 4, int(down), keysym)


def pointer_event_message(buttons: int, x: int, y: int) -> bytes:
    return struct.pack(">BBHH", 5, buttons, x, y)


def png_bytes(width: int, height: int, rgb_rows: List[bytes]) -> bytes:
    """An 8-bit RGB PNG (filter 0 on every row)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"".join(b"\x00" + row for row in rgb_rows), 6)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# --- the client --------------------------------------------------------------------

Predicate = Callable[["RFBClient"], bool]


class RFBClient:
    """One RFB session. Create with ``open_unix``, ``open_websocket`` or ``open``."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.width = self.height = 0
        self.name = ""
        self.server_pixel_format = b""
        self.framebuffer = bytearray()
        self.updates = 0               # complete FramebufferUpdate messages applied
        self.resizes = 0               # DesktopSize / ExtendedDesktopSize rects seen
        self.bytes_received = 0
        self.bells = 0
        self.rects: Dict[int, int] = {}   # encoding -> rectangles received
        self.cut_text = b""
        self._changed = asyncio.Condition()
        self._reader: Optional[asyncio.Task[None]] = None
        self._failure: Optional[BaseException] = None
        self._in_update = False

    # opening --------------------------------------------------------------------

    @classmethod
    async def open(cls, transport: Transport, continuous: bool = True) -> RFBClient:
        client = cls(transport)
        await client.handshake()
        if continuous:
            client.start_reading()
        return client

    @classmethod
    async def open_unix(cls, path: str, continuous: bool = True) -> RFBClient:
        reader, writer = await asyncio.open_unix_connection(path)
        return await cls.open(StreamTransport(reader, writer), continuous)

    @classmethod
    async def open_streams(cls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           continuous: bool = True) -> RFBClient:
        return await cls.open(StreamTransport(reader, writer), continuous)

    @classmethod
    async def open_websocket(cls, url: str, continuous: bool = True, **connect_kwargs: Any) -> RFBClient:
        import websockets  # only the WebSocket path needs it
        websocket = await websockets.connect(url, subprotocols=["binary"],
                                             max_size=None, **connect_kwargs)
        return await cls.open(WebSocketTransport(websocket), continuous)

    async def _read(self, n: int) -> bytes:
        data = await self.transport.read_exactly(n)
        self.bytes_received += n
        return data

    async def _read_text(self) -> bytes:
        (length,) = struct.unpack(">I", await self._read(4))
        if length > MAX_TEXT:
            raise RFBError(f"server string of {length} bytes is too long")
        return await self._read(length)

    async def handshake(self) -> None:
        version = await self._read(12)
        if not version.startswith(b"RFB 003."):
            raise RFBError(f"not an RFB server: {version!r}")
        await self.transport.write(b"RFB 003.008\n")
        (count,) = struct.unpack(">B", await self._read(1))
        if count == 0:
            raise RFBError("server refused: " + (await self._read_text()).decode(errors="replace"))
        types = await self._read(count)
        if 1 not in types:
            raise RFBError(f"server does not offer security type None: {list(types)}")
        await self.transport.write(b"\x01")
        (result,) = struct.unpack(">I", await self._read(4))
        if result != 0:
            raise RFBError("security failed: " + (await self._read_text()).decode(errors="replace"))
        await self.transport.write(b"\x01")  # ClientInit: shared
        width, height = struct.unpack(">HH", await self._read(4))
        self.server_pixel_format = await self._read(16)
        self.name = (await self._read_text()).decode(errors="replace")
        self._resize(width, height)
        await self.transport.write(set_pixel_format_message() + set_encodings_message())

    def _resize(self, width: int, height: int) -> None:
        if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
            raise RFBError(f"unreasonable framebuffer size {width}x{height}")
        if (width, height) == (self.width, self.height):
            return       # a layout update at the same size keeps the pixels (TigerVNC sends many)
        self.width, self.height = width, height
        self.framebuffer = bytearray(width * height * 4)

    # server messages ------------------------------------------------------------

    async def read_message(self) -> int:
        """Read and apply one server message; returns its type."""
        (kind,) = struct.unpack(">B", await self._read(1))
        if kind == 0:
            await self._read_update()
        elif kind == 1:
            _, count = struct.unpack(">xHH", await self._read(5))
            await self._read(6 * count)        # colour map: unused in true colour
        elif kind == 2:
            self.bells += 1
        elif kind == 3:
            await self._read(3)
            self.cut_text = await self._read_text()
        else:
            raise RFBError(f"unknown server message type {kind}")
        return kind

    async def _read_update(self) -> None:
        (count,) = struct.unpack(">xH", await self._read(3))
        self._in_update = True          # predicates must not see half an update
        try:
            for _ in range(count):
                x, y, w, h, encoding = struct.unpack(">HHHHi", await self._read(12))
                await self._read_rect(x, y, w, h, encoding)
                self.rects[encoding] = self.rects.get(encoding, 0) + 1
        finally:
            self._in_update = False
        self.updates += 1

    async def _read_rect(self, x: int, y: int, w: int, h: int, encoding: int) -> None:
        if encoding == DESKTOP_SIZE:
            self._resize(w, h)
            self.resizes += 1
        elif encoding == EXTENDED_DESKTOP_SIZE:
            (screens,) = struct.unpack(">B3x", await self._read(4))
            await self._read(16 * screens)
            if y == 0:                          # status 0: the new size applies
                self._resize(w, h)
                self.resizes += 1
        elif encoding == CURSOR:
            await self._read(w * h * 4 + (w + 7) // 8 * h)   # shape + mask: not drawn
        elif encoding == RAW:
            self._check_rect(x, y, w, h)
            self._put_raw(x, y, w, h, await self._read(w * h * 4))
        elif encoding == COPY_RECT:
            src_x, src_y = struct.unpack(">HH", await self._read(4))
            self._check_rect(x, y, w, h)
            self._check_rect(src_x, src_y, w, h)
            self._copy_rect(src_x, src_y, x, y, w, h)
        else:
            raise RFBError(f"server used encoding {encoding}, which we did not ask for")

    def _check_rect(self, x: int, y: int, w: int, h: int) -> None:
        if x + w > self.width or y + h > self.height:
            raise RFBError(f"rect {w}x{h}+{x}+{y} outside the {self.width}x{self.height} framebuffer")

    def _put_raw(self, x: int, y: int, w: int, h: int, data: bytes) -> None:
        stride, row = self.width * 4, w * 4
        for line in range(h):
            start = (y + line) * stride + x * 4
            self.framebuffer[start:start + row] = data[line * row:(line + 1) * row]

    def _copy_rect(self, src_x: int, src_y: int, x: int, y: int, w: int, h: int) -> None:
        stride, row = self.width * 4, w * 4
        rows = [bytes(self.framebuffer[(src_y + i) * stride + src_x * 4:][:row]) for i in range(h)]
        for i, data in enumerate(rows):            # copied first: source and target may overlap
            start = (y + i) * stride + x * 4
            self.framebuffer[start:start + row] = data

    # continuous updates ------------------------------------------------------------

    def start_reading(self) -> None:
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read_forever())

    async def _read_forever(self) -> None:
        try:
            await self.request_update(incremental=False)
            while True:
                size = (self.width, self.height)
                if await self.read_message() == 0:
                    # Only a real size change needs a full request: TigerVNC answers every
                    # non-incremental request with a data-less layout update first.
                    await self.request_update(incremental=(self.width, self.height) == size)
                    async with self._changed:
                        self._changed.notify_all()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # surfaced to every waiter, not lost in the task
            self._failure = exc
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(self, predicate: Predicate, timeout: float, what: str = "") -> float:
        """Wait until ``predicate(self)`` holds after an update; returns seconds waited."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with self._changed:
            while self._in_update or not predicate(self):
                if self._failure is not None:
                    raise RFBError(f"RFB reader stopped: {self._failure!r}") from self._failure
                remaining = start + timeout - loop.time()
                if remaining <= 0:
                    raise RFBError(f"timed out after {timeout} s waiting for {what or predicate}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
        return loop.time() - start

    async def stays(self, predicate: Predicate, seconds: float, what: str = "") -> None:
        """Check that ``predicate(self)`` holds now and after every update for ``seconds``:
        an observation window ("nothing changes it"), not a wait for something to happen."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with self._changed:
            while True:
                if self._failure is not None:
                    raise RFBError(f"RFB reader stopped: {self._failure!r}") from self._failure
                if not self._in_update and not predicate(self):
                    raise RFBError(f"{what or predicate} stopped holding after {loop.time() - start:.2f} s")
                remaining = start + seconds - loop.time()
                if remaining <= 0:
                    return
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass

    async def wait_for_updates(self, count: int, timeout: float) -> float:
        """Wait until ``count`` more framebuffer updates have arrived."""
        target = self.updates + count
        return await self.wait_for(lambda c: c.updates >= target, timeout, f"{count} updates")

    # client messages --------------------------------------------------------------

    async def request_update(self, incremental: bool = True) -> None:
        await self.transport.write(update_request_message(incremental, 0, 0, self.width, self.height))

    async def key(self, keysym: int, down: bool) -> None:
        await self.transport.write(key_event_message(down, keysym))

    async def press(self, keysym: int) -> None:
        await self.transport.write(key_event_message(True, keysym) + key_event_message(False, keysym))

    async def type_text(self, text: str) -> None:
        for char in text:  # Latin-1 keysyms equal their code points
            await self.press(KEY_RETURN if char == "\n" else ord(char))

    async def pointer(self, buttons: int, x: int, y: int) -> None:
        await self.transport.write(pointer_event_message(buttons, x, y))

    async def click(self, x: int, y: int, button: int = 1) -> None:
        mask = 1 << (button - 1)
        await self.transport.write(pointer_event_message(0, x, y) + pointer_event_message(mask, x, y)
                                   + pointer_event_message(0, x, y))

    # looking at the framebuffer ------------------------------------------------------

    def pixel(self, x: int, y: int) -> Tuple[int, int, int]:
        i = (y * self.width + x) * 4
        blue, green, red = self.framebuffer[i:i + 3]
        return red, green, blue

    def count_colour(self, colour: Tuple[int, int, int], tolerance: int = 0,
                     region: Optional[Tuple[int, int, int, int]] = None) -> int:
        """Pixels within ``tolerance`` per channel of ``colour``, in ``region`` (x, y, w, h)."""
        x0, y0, w, h = region or (0, 0, self.width, self.height)
        red, green, blue = colour
        count = 0
        for y in range(y0, y0 + h):
            row = self.framebuffer[(y * self.width + x0) * 4:(y * self.width + x0 + w) * 4]
            for b, g, r in zip(row[0::4], row[1::4], row[2::4], strict=True):
                if abs(r - red) <= tolerance and abs(g - green) <= tolerance and abs(b - blue) <= tolerance:
                    count += 1
        return count

    def is_uniform(self, colour: Tuple[int, int, int]) -> bool:
        """True when every pixel is ``colour`` (the padding byte is ignored)."""
        red, green, blue = colour
        fb = self.framebuffer
        return bool(fb) and fb[0::4] == bytes([blue]) * (len(fb) // 4) \
            and fb[1::4] == bytes([green]) * (len(fb) // 4) and fb[2::4] == bytes([red]) * (len(fb) // 4)

    def rgb_rows(self) -> List[bytes]:
        stride, rows = self.width * 4, []
        for y in range(self.height):
            line = self.framebuffer[y * stride:(y + 1) * stride]
            rgb = bytearray(self.width * 3)
            rgb[0::3], rgb[1::3], rgb[2::3] = line[2::4], line[1::4], line[0::4]
            rows.append(bytes(rgb))
        return rows

    def save_png(self, path: str) -> None:
        with open(path, "wb") as out:
            out.write(png_bytes(self.width, self.height, self.rgb_rows()))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
        await self.transport.close()

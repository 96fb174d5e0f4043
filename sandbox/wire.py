"""The agent wire protocol: framing written once, without I/O.

Both ends use it: the agent inside the sandbox (Python 3.10, stdlib only) and the
host side that claims it (scheduler/agent_client.py).  The same bytes travel over a
unix socket locally and over TCP under Nomad, so one protocol serves both.

A frame is ``kind`` (1 byte) + ``length`` (4 bytes, big endian) + ``payload``.
Control frames carry UTF-8 JSON; OUTPUT and STDIN carry raw terminal bytes.
"""
from __future__ import annotations

import enum
import json
import struct
from typing import Any, List, NamedTuple

from sandbox.errors import WireError

VERSION = 1
HEADER = struct.Struct(">BI")
DEFAULT_MAX_FRAME = 32 * 1024 * 1024


class Kind(enum.IntEnum):
    # agent -> host
    HELLO = 1      # json: {"version", "python", "mode", "pid", "reset": true}
    STARTED = 2    # json: {"display": {"width", "height"} | null}
    OUTPUT = 3     # bytes from the PTY
    EXIT = 4       # json: {"code", "reason", "limit", "signal", "seconds", "reusable"}
    DISPLAY = 5    # json: {"width", "height"}: the program resized its window
    READY = 6      # json: {"runs"}: reset after a run and warm again; the next CLAIM may come
    # host -> agent
    CLAIM = 16     # json: {"entry", "files", "term", "limits"}
    STDIN = 17     # bytes for the PTY
    RESIZE = 18    # json: {"cols", "rows"}
    STOP = 19      # json: {}


class Frame(NamedTuple):
    kind: Kind
    payload: bytes

    def json(self) -> Any:
        return json.loads(self.payload.decode("utf-8"))


def encode(kind: Kind, payload: bytes) -> bytes:
    return HEADER.pack(int(kind), len(payload)) + payload


def encode_json(kind: Kind, obj: Any) -> bytes:
    return encode(kind, json.dumps(obj, separators=(",", ":")).encode("utf-8"))


class FrameDecoder:
    """Incremental decoder: feed bytes in, take whole frames out."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._buffer = bytearray()
        self._max_frame = max_frame

    def feed(self, data: bytes) -> List[Frame]:
        self._buffer += data
        frames: List[Frame] = []
        while len(self._buffer) >= HEADER.size:
            kind_value, length = HEADER.unpack_from(self._buffer)
            if length > self._max_frame:
                raise WireError(f"frame of {length} bytes is over the {self._max_frame} byte limit")
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            try:
                kind = Kind(kind_value)
            except ValueError:
                raise WireError(f"unknown frame kind {kind_value}") from None
            frames.append(Frame(kind, bytes(self._buffer[HEADER.size:end])))
            del self._buffer[:end]
        return frames

    @property
    def pending(self) -> int:
        return len(self._buffer)

"""The few RFB (VNC) messages the display relay speaks itself, written once without I/O.

Why the relay speaks any RFB at all: a display starts at one size and is resized to the
program's window a moment later, and TigerVNC disconnects a viewer that has finished the
handshake but not yet sent SetEncodings announcing it can follow a desktop resize.  A
browser connecting in that window got a dead display.  So the relay makes the connection
to Xvnc itself and announces DesktopSize at once (a resize is then queued as an update,
not a disconnect); then it greets the browser with the ServerInit it was given, and from
there relays raw bytes.  The browser's own SetEncodings replaces the relay's.
"""
from __future__ import annotations

import struct

from proxy.errors import ProxyError

VERSION = b"RFB 003.008\n"
SECURITY_NONE = 1
SECURITY_OK = b"\x00\x00\x00\x00"
SHARED = b"\x01"
DESKTOP_SIZE = -223
SERVER_INIT_HEADER = 24           # width, height, pixel format (16), name length
MAX_NAME = 1024


class RFBError(ProxyError):
    """The display server or the viewer broke the RFB handshake."""


def check_version(version: bytes) -> int:
    """The minor version of an RFB 3.x ProtocolVersion message."""
    if len(version) != 12 or not version.startswith(b"RFB 003.") or not version.endswith(b"\n"):
        raise RFBError(f"not an RFB 3.x version: {version[:12]!r}")
    try:
        return int(version[8:11])
    except ValueError:
        raise RFBError(f"not an RFB 3.x version: {version!r}") from None


def check_security_types(types: bytes) -> None:
    if SECURITY_NONE not in types:
        raise RFBError(f"the display offers no security type None: {list(types)}")


def name_length(header: bytes) -> int:
    """From the fixed part of a ServerInit: how long the desktop name that follows is."""
    (length,) = struct.unpack(">I", header[20:24])
    if length > MAX_NAME:
        raise RFBError(f"a desktop name of {length} bytes")
    return length


def announce_desktop_size() -> bytes:
    """SetEncodings with DesktopSize alone: until the viewer speaks, a resize is an update."""
    return struct.pack(">BxHi", 2, 1, DESKTOP_SIZE)


def offer_security(viewer_minor: int) -> bytes:
    """What the server says after the viewer's version: 3.7 and later choose from a list,
    3.3 is told the type."""
    return bytes([1, SECURITY_NONE]) if viewer_minor >= 7 else struct.pack(">I", SECURITY_NONE)

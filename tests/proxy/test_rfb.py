"""The relay's own RFB messages (proxy/rfb.py), without I/O."""
from __future__ import annotations

import struct

import pytest

from proxy import rfb


def test_versions_are_read_and_anything_else_is_refused() -> None:
    assert rfb.check_version(b"RFB 003.008\n") == 8
    assert rfb.check_version(b"RFB 003.003\n") == 3
    for junk in (b"HTTP/1.1 200", b"RFB 004.000\n", b"RFB 003.00x\n", b""):
        with pytest.raises(rfb.RFBError):
            rfb.check_version(junk)


def test_the_relay_announces_desktop_size_so_a_resize_is_an_update_not_a_disconnect() -> None:
    message = rfb.announce_desktop_size()
    kind, count, encoding = struct.unpack(">BxHi", message)
    assert (kind, count, encoding) == (2, 1, -223)


def test_security_is_offered_as_each_viewer_version_expects() -> None:
    assert rfb.offer_security(8) == b"\x01\x01"                  # a list of one: None
    assert rfb.offer_security(3) == struct.pack(">I", 1)         # 3.3: the server decides
    rfb.check_security_types(b"\x02\x01")
    with pytest.raises(rfb.RFBError):
        rfb.check_security_types(b"\x02")


def test_a_desktop_name_is_bounded() -> None:
    header = struct.pack(">HH16sI", 640, 480, b"\x00" * 16, 7)
    assert rfb.name_length(header) == 7
    with pytest.raises(rfb.RFBError):
        rfb.name_length(struct.pack(">HH16sI", 640, 480, b"\x00" * 16, 10 ** 9))

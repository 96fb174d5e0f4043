"""The test RFB client (testkit/rfb.py) against a real Xvnc on this machine."""
from __future__ import annotations

import asyncio
import json
import struct
import sys
import zlib

import pytest

from sandbox import display
from testkit.rfb import COPY_RECT, KEY_LEFT, RAW, RFBClient, RFBError
from testkit.waiting import until
from testkit.websocket_relay import websocket_relay

# A Tk window at the origin showing four coloured blocks, printing its events as JSON.
BLOCKS_TK = r"""
import json, sys, tkinter
root = tkinter.Tk()
root.geometry("400x300+0+0")
canvas = tkinter.Canvas(root, width=400, height=300, highlightthickness=0, bg="#102030")
canvas.pack()
canvas.create_rectangle(0, 0, 100, 100, fill="#ff0000", width=0)
canvas.create_rectangle(300, 0, 400, 100, fill="#00ff00", width=0)
canvas.create_rectangle(0, 200, 100, 300, fill="#0000ff", width=0)
canvas.create_rectangle(300, 200, 400, 300, fill="#ffffff", width=0)
def say(**kw): print(json.dumps(kw), flush=True)
canvas.bind("<Button>", lambda e: say(button=e.num, x=e.x, y=e.y))
root.bind_all("<KeyPress>", lambda e: say(key=e.keysym))
root.bind_all("<KeyRelease>", lambda e: say(release=e.keysym))
def moves(n=[0]):
    if n[0] < 20:
        n[0] += 1
        root.geometry(f"+{n[0] * 10}+{n[0] * 5}")
        root.after(30, moves)
    else:
        root.update_idletasks()
        say(moved=True)
if "move" in sys.argv: root.after(300, moves)
root.after(200, lambda: (canvas.focus_force(), say(ready=True)))
root.mainloop()
"""

BLOCKS = {(50, 50): (255, 0, 0), (350, 50): (0, 255, 0), (50, 250): (0, 0, 255),
          (350, 250): (255, 255, 255), (200, 150): (16, 32, 48)}


async def read_json(child, timeout: float = 15) -> dict:
    line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), timeout)
    assert line, "the X client exited"
    return json.loads(line)


def shows_blocks(client: RFBClient) -> bool:
    return all(client.pixel(x, y) == colour for (x, y), colour in BLOCKS.items())


async def test_server_init_reports_size_and_name(rfb: RFBClient) -> None:
    assert (rfb.width, rfb.height) == (800, 600)
    assert rfb.name == "pyplay"
    assert len(rfb.framebuffer) == 800 * 600 * 4


async def test_raw_updates_show_the_window_pixels(host_display, rfb: RFBClient) -> None:
    host_display.tk(BLOCKS_TK)
    await rfb.wait_for(shows_blocks, 15, "the four blocks")
    assert rfb.rects.get(RAW, 0) > 0
    assert rfb.count_colour((255, 0, 0)) == 100 * 100


def at_last_position(client: RFBClient) -> bool:
    """The window's top-left block where the last move put it (+200+100), and no further."""
    return client.pixel(200, 100) == (255, 0, 0) and client.pixel(199, 99) != (255, 0, 0) \
        and client.pixel(250, 150) == (255, 0, 0)


async def test_copyrect_updates_keep_the_framebuffer_exact(host_display, rfb: RFBClient) -> None:
    tk = host_display.spawn([sys.executable, "-c", BLOCKS_TK, "move"])
    assert await read_json(tk) == {"ready": True}
    assert await read_json(tk) == {"moved": True}
    await rfb.wait_for(at_last_position, 15, "the window at its last position")
    fresh = await RFBClient.open_unix(host_display.rfb_path)
    try:
        await fresh.wait_for(at_last_position, 10, "a full update of the moved window")
        assert rfb.rects.get(COPY_RECT, 0) > 0, "Xvnc sent no CopyRect for a window move"
        # Both viewers catch up with the last repaint; then the incremental copy must equal the full one.
        await until(lambda: rfb.framebuffer == fresh.framebuffer, 5,
                    "the framebuffer built from CopyRects to equal a fresh full update")
    finally:
        await fresh.close()


async def test_desktop_resize_reaches_the_client(host_display, rfb: RFBClient) -> None:
    host_display.tk(BLOCKS_TK)
    await rfb.wait_for(shows_blocks, 15, "the four blocks")
    display.resize_desktop(host_display.name, 400, 300)
    await rfb.wait_for(lambda c: (c.width, c.height) == (400, 300), 5, "the new size")
    await rfb.wait_for(shows_blocks, 5, "the blocks after the resize")
    display.resize_desktop(host_display.name, 1000, 700)
    await rfb.wait_for(lambda c: (c.width, c.height) == (1000, 700), 5, "the larger size")
    assert rfb.resizes >= 2


async def test_key_and_pointer_events_reach_the_x_client(host_display, rfb: RFBClient) -> None:
    tk = host_display.tk(BLOCKS_TK)
    assert await read_json(tk) == {"ready": True}
    await rfb.pointer(0, 150, 150)
    await rfb.press(ord("q"))
    await rfb.press(KEY_LEFT)
    await rfb.click(120, 80, button=1)
    await rfb.click(10, 290, button=3)
    seen = [await read_json(tk) for _ in range(6)]
    assert seen == [{"key": "q"}, {"release": "q"}, {"key": "Left"}, {"release": "Left"},
                    {"button": 1, "x": 120, "y": 80}, {"button": 3, "x": 10, "y": 290}]


async def test_websocket_transport_carries_raw_rfb(host_display) -> None:
    host_display.tk(BLOCKS_TK)
    async with websocket_relay(host_display.rfb_path) as url:  # RFB in binary frames, as the service sends
        client = await RFBClient.open_websocket(url)
        try:
            await client.wait_for(shows_blocks, 15, "the blocks over a WebSocket")
        finally:
            await client.close()


async def test_wait_for_fails_with_a_clear_message(rfb: RFBClient) -> None:
    with pytest.raises(RFBError, match="timed out after 0.2 s waiting for a purple screen"):
        await rfb.wait_for(lambda c: c.is_uniform((255, 0, 255)), 0.2, "a purple screen")


async def test_save_png_writes_the_framebuffer(host_display, rfb: RFBClient, tmp_path) -> None:
    host_display.tk(BLOCKS_TK)
    await rfb.wait_for(shows_blocks, 15, "the four blocks")
    path = tmp_path / "screen.png"
    rfb.save_png(str(path))
    width, height, rows = decode_png(path.read_bytes())
    assert (width, height) == (rfb.width, rfb.height)
    for (x, y), colour in BLOCKS.items():
        assert tuple(rows[y][x * 3:x * 3 + 3]) == colour


def decode_png(data: bytes):
    """Just enough PNG reading for what save_png writes (RGB, filter 0)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, {}
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        assert struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])[0] == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        offset += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = width * 3 + 1
    rows = [raw[y * stride + 1:(y + 1) * stride] for y in range(height)]
    assert all(raw[y * stride] == 0 for y in range(height))
    return width, height, rows

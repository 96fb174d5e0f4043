"""sandbox/display.py's window watcher against a real Xvnc on this machine (fast, no gVisor):
windows at the origin, desktop sized to them, pixels kept across resizes and after exit."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from sandbox import display
from sandbox.display import WINDOW_GAP, WindowBox, desktop_size_for, focus_target, main_window_places
from testkit.rfb import RAW, RFBClient
from tests.sandbox.display.host_python import REPO, pygame_site, python310_prefix

FILL_ONCE = """
import os, sys, time, pygame
screen = pygame.display.set_mode((320, 240))
screen.fill((200, 30, 90))
pygame.display.flip()
print("drawn", flush=True)
time.sleep(float(sys.argv[1]))        # no event loop, no redraw: a one-shot drawing
"""

TK_WINDOWS = r"""
import json, sys, tkinter
root = tkinter.Tk()
root.geometry("300x200+150+100")          # off the origin, as turtle's centring does
tkinter.Frame(root, bg="#00ff00", width=300, height=200).pack()
def say(**kw): print(json.dumps(kw), flush=True)
def dialog():
    top = tkinter.Toplevel(root, bg="#ff0000", width=100, height=100)
    top.transient(root)
    top.geometry("100x100+250+150")
    root.after(1500, top.destroy)
if "dialog" in sys.argv: root.after(1000, dialog)
root.after(300, lambda: say(ready=True))
root.mainloop()
"""

TK_DIALOG_ENTRY = r"""
import json, tkinter
root = tkinter.Tk()
root.geometry("300x200+0+0")
def say(**kw): print(json.dumps(kw), flush=True)
def ask():
    top = tkinter.Toplevel(root)
    top.transient(root)
    top.geometry("+260+180")             # sticks out: the desktop grows to show it
    entry = tkinter.Entry(top, width=10)
    entry.pack()
    entry.bind("<Return>", lambda e: say(typed=entry.get()))
    entry.focus_set()                    # what simpledialog does: no -force
    top.after(300, lambda: say(ready=True))
root.after(300, ask)
root.mainloop()
"""


def test_desktop_size_covers_managed_windows_only() -> None:
    windows = [WindowBox(0, 0, 320, 240), WindowBox(100, 200, 300, 100, transient=True),
               WindowBox(0, 0, 5000, 5000, override_redirect=True), WindowBox(0, 0, 1, 1)]
    assert desktop_size_for(windows) == (400, 300)
    assert desktop_size_for([WindowBox(0, 0, 4000, 10)]) == (1920, 32)
    assert desktop_size_for([WindowBox(0, 0, 1, 1)]) is None
    assert desktop_size_for([]) is None


def test_main_windows_are_placed_side_by_side_and_keep_their_place() -> None:
    main, dialog = WindowBox(256, 96, 512, 576, window=1), WindowBox(300, 300, 200, 100, transient=True, window=2)
    menu = WindowBox(10, 10, 50, 50, override_redirect=True, window=3)
    places = main_window_places([main, dialog, menu], {})
    assert places == {1: (0, 0)}                       # dialogs and menus stay where Tk put them
    second = WindowBox(500, 400, 300, 200, window=4)
    places = main_window_places([main, dialog, second], places)
    assert places == {1: (0, 0), 4: (512 + WINDOW_GAP, 0)}
    assert main_window_places([second], places) == {4: (512 + WINDOW_GAP, 0)}   # the first closed
    wide = WindowBox(0, 0, 1500, 300, window=5)
    assert main_window_places([main, second, wide], places)[5] == (0, 576 + WINDOW_GAP)  # a new row


def test_keys_go_to_the_topmost_managed_window() -> None:
    main, dialog = WindowBox(0, 0, 512, 576, window=1), WindowBox(130, 230, 246, 105, transient=True, window=2)
    tooltip = WindowBox(10, 10, 80, 20, override_redirect=True, window=3)
    assert focus_target([main, dialog, tooltip]) == dialog
    assert focus_target([main, tooltip]) == main
    assert focus_target([tooltip]) is None


def test_xvnc_arguments_serve_rfb_on_the_unix_socket_only() -> None:
    args = display.xvnc_arguments(3, 640, 480, "/run/pyplay/rfb", 9)
    assert args[1:6] == [":3", "-geometry", "640x480", "-depth", "24"]
    assert args[args.index("-rfbunixpath") + 1] == "/run/pyplay/rfb"
    assert args[args.index("-rfbport") + 1] == "-1"
    assert args[args.index("-SecurityTypes") + 1] == "None"
    assert args[args.index("-displayfd") + 1] == "9"


@pytest.fixture
def watcher(host_display):
    process = subprocess.Popen([sys.executable, "-m", "sandbox.display", "watch", host_display.name],
                               cwd=str(REPO), stdout=subprocess.PIPE, text=True)
    yield process
    process.terminate()
    process.wait(5)


async def next_size(watcher: subprocess.Popen, timeout: float = 10) -> tuple:
    line = await asyncio.wait_for(asyncio.to_thread(watcher.stdout.readline), timeout)
    assert line, "the watcher exited"
    size = json.loads(line)
    return size["width"], size["height"]


def pygame_program(host_display, seconds: float) -> subprocess.Popen:
    python = str(python310_prefix() / "bin" / "python3.10")
    env = display.program_environment(0, {"PYTHONPATH": str(pygame_site())})
    env.pop("DISPLAY")
    return host_display.spawn([python, "-c", FILL_ONCE, str(seconds)], **env)


async def test_main_window_is_moved_to_the_origin_and_sized_to(host_display, watcher, rfb: RFBClient) -> None:
    host_display.tk(TK_WINDOWS)
    assert await next_size(watcher) == (300, 200)
    await rfb.wait_for(lambda c: (c.width, c.height) == (300, 200) and c.is_uniform((0, 255, 0)), 10,
                       "a 300x200 green desktop")


async def test_a_dialog_stays_put_and_the_desktop_grows_to_show_it(host_display, watcher,
                                                                   rfb: RFBClient) -> None:
    host_display.spawn([sys.executable, "-c", TK_WINDOWS, "dialog"])
    assert await next_size(watcher) == (300, 200)
    assert await next_size(watcher) == (350, 250)
    await rfb.wait_for(lambda c: c.width == 350 and c.pixel(300, 200) == (255, 0, 0), 10, "the dialog")
    assert await next_size(watcher) == (300, 200)


async def test_a_one_shot_drawing_survives_the_resize(host_display, watcher, rfb: RFBClient) -> None:
    program = pygame_program(host_display, 30)
    assert await asyncio.to_thread(program.stdout.readline) != ""
    assert await next_size(watcher) == (320, 240)
    await rfb.wait_for(lambda c: c.width == 320 and c.is_uniform((200, 30, 90)), 10,
                       "the drawing after the desktop shrank")


async def test_the_last_frame_stays_after_the_program_exits(host_display, watcher, rfb: RFBClient) -> None:
    program = pygame_program(host_display, 1.0)
    await rfb.wait_for(lambda c: c.width == 320 and c.is_uniform((200, 30, 90)), 15, "the drawing")
    assert await asyncio.to_thread(program.wait, 10) == 0
    # An observation window: whatever the window's going away makes Xvnc send, the pixels stay.
    await rfb.stays(lambda c: c.is_uniform((200, 30, 90)), 0.5, "the last frame after the window went away")
    late = await RFBClient.open_unix(host_display.rfb_path)   # a viewer that (re)connects later
    try:
        await late.wait_for(lambda c: c.rects.get(RAW, 0) > 0, 5, "a full update")
        assert late.is_uniform((200, 30, 90))
    finally:
        await late.close()


async def test_keys_reach_a_dialog_while_the_pointer_is_elsewhere(host_display, watcher,
                                                                  rfb: RFBClient) -> None:
    tk = host_display.tk(TK_DIALOG_ENTRY)
    assert json.loads(await asyncio.wait_for(asyncio.to_thread(tk.stdout.readline), 15)) == {"ready": True}
    await rfb.wait_for(lambda c: c.width > 300 and c.height > 200, 10, "the desktop grown for the dialog")
    # Over neither window: X focus would follow it.  Xvnc handles one client's RFB messages in
    # order, so the pointer is there before the first key arrives.
    await rfb.pointer(0, rfb.width - 2, 2)
    await rfb.type_text("hi\n")
    line = await asyncio.wait_for(asyncio.to_thread(tk.stdout.readline), 10)
    assert json.loads(line) == {"typed": "hi"}


async def test_the_watcher_exits_when_xvnc_goes_away(host_display, watcher) -> None:
    display.stop_xvnc(host_display.xvnc)
    assert await asyncio.to_thread(watcher.wait, 5) is not None

"""pygame and turtle through the real service: Xvnc in gVisor, RFB over the display WebSocket."""
from __future__ import annotations

import asyncio

import pytest
import websockets

from testkit.rfb import COPY_RECT, KEY_SPACE, RAW, RFBClient
from tests.e2e.display_run import PYGAME_FILL, space_turns_the_fill_orange, start

KEY_A = 0x61


async def test_pygame_fill_gives_a_320x240_framebuffer_of_that_colour(display_service):
    run = await start(display_service, PYGAME_FILL)
    assert run.started["mode"] == "pygame" and run.started["display"]["url"].startswith("/v1/runs/")
    rfb = await run.rfb()
    try:
        await rfb.wait_for(lambda c: (c.width, c.height) == (320, 240) and c.is_uniform((30, 144, 255)), 30,
                           "a 320x240 blue desktop")
    finally:
        await rfb.close()
    assert (await run.stop())["reason"] == "stopped"


async def test_pygame_sees_held_keys_keydown_names_and_mouse_clicks(display_service):
    run = await start(display_service, PYGAME_FILL)
    rfb = await run.rfb()
    try:
        await space_turns_the_fill_orange(rfb)
        # An observation window: no key repeat or lost key state turns it blue while space is down.
        await rfb.stays(lambda c: c.is_uniform((255, 140, 0)), 0.3, "orange while space is still held")
        await rfb.key(KEY_SPACE, False)
        await rfb.wait_for(lambda c: c.is_uniform((30, 144, 255)), 10, "blue again after release")
        await rfb.press(KEY_A)
        await run.wait_output("KEYDOWN a")
        await rfb.click(100, 50)
        await run.wait_output("CLICK (100, 50)")
    finally:
        await rfb.close()
    exit_event = await run.stop()
    assert exit_event["reason"] == "stopped" and exit_event["code"] == 0  # QUIT first: a clean exit


TURTLE_SQUARE = """
import turtle
screen = turtle.Screen()
screen.setup(400, 400)
t = turtle.Turtle()
t.speed(0)
t.hideturtle()
t.pencolor('red')
t.pensize(5)
for _ in range(4):
    t.forward(100)
    t.left(90)
def clicked(x, y):
    print('CLICKED', round(x), round(y), flush=True)
def key_k():
    print('KEY k', flush=True)
screen.onclick(clicked)
screen.onkey(key_k, 'k')
screen.listen()
cv = screen.getcanvas()
cv.update()
# Where turtle's (0, 0) is on the desktop: canvas coordinate 0 seen from the root window.
print('ORIGIN', cv.winfo_rootx() - int(cv.canvasx(0)), cv.winfo_rooty() - int(cv.canvasy(0)), flush=True)
print('DRAWN', flush=True)
turtle.done()
"""


async def test_turtle_square_onclick_and_onkey(display_service):
    run = await start(display_service, TURTLE_SQUARE)
    assert run.started["mode"] == "turtle"
    rfb = await run.rfb()
    try:
        await run.wait_output("DRAWN")
        # The square's sides run from turtle's origin 100 px right and 100 px up.
        await rfb.wait_for(lambda c: c.width >= 400 and c.count_colour((255, 0, 0), 60) > 300, 20, "a red square")
        cx, cy = map(int, bytes(run.output).decode().split("ORIGIN ")[1].split()[:2])

        def red(x: int, y: int) -> bool:
            return rfb.count_colour((255, 0, 0), 60, (x - 3, y - 3, 7, 7)) > 0
        assert red(cx + 50, cy) and red(cx + 100, cy - 50) and red(cx + 50, cy - 100) and red(cx, cy - 50)
        assert not red(cx + 50, cy - 50)  # inside the square stays white
        await rfb.click(cx + 30, cy - 40)
        await run.wait_output("CLICKED")
        x, y = map(int, bytes(run.output).decode().split("CLICKED ")[1].split()[:2])
        assert abs(x - 30) <= 1 and abs(y - 40) <= 1, (x, y)
        await rfb.press(ord("k"))
        await run.wait_output("KEY k")
    finally:
        await rfb.close()
    assert (await run.stop())["reason"] == "stopped"


async def test_turtle_textinput_takes_typed_text(display_service):
    # The program says when a text field gets the keyboard focus: the dialog's entry, once the
    # desktop has focused the dialog.  Keys typed before that would go nowhere.
    program = ("import turtle\nturtle.setup(300, 200)\n"
               "focused = lambda event: print('FOCUS', event.widget.winfo_class(), flush=True)\n"
               "turtle.getcanvas().bind_all('<FocusIn>', focused)\n"
               "name = turtle.textinput('Name', 'Your name?')\nprint('NAME', name, flush=True)\n")
    run = await start(display_service, program)
    rfb = await run.rfb()
    try:
        # The dialog (Tk's grey, #d9d9d9) is up and has the keyboard focus.
        await rfb.wait_for(lambda c: c.count_colour((217, 217, 217), 2) > 5000, 20, "the textinput dialog")
        await run.wait_output("FOCUS Entry")
        await rfb.type_text("Ada\n")
        await run.wait_output("NAME Ada")
    finally:
        await rfb.close()
    assert (await asyncio.wait_for(run.exit, 15))["code"] == 0


async def test_display_ticket_is_per_run(display_service):
    run = await start(display_service, PYGAME_FILL)
    url = run.started["display"]["url"]
    wrong = url.split("ticket=")[0] + "ticket=guess"
    # The upgrade is accepted, then the socket is closed with 4404 before a byte of RFB:
    # the IDE's viewer hears "unknown run or expired ticket", not a network error.
    async with websockets.connect(f"ws://127.0.0.1:{display_service.port}{wrong}", subprotocols=["binary"]) as socket:
        with pytest.raises(websockets.exceptions.ConnectionClosedError) as refused:
            await socket.recv()
    assert (refused.value.rcvd.code, refused.value.rcvd.reason) == (4404, "unknown run or expired ticket")
    client = await RFBClient.open_websocket(f"ws://127.0.0.1:{display_service.port}{url}")  # the right one works
    try:
        await client.wait_for(lambda c: c.is_uniform((30, 144, 255)), 30, "the run's blue window")
    finally:
        await client.close()
    assert (await run.stop())["reason"] == "stopped"


async def _first_picture(rfb: RFBClient) -> None:
    """Ask for the whole screen and read until an update carries pixels (TigerVNC answers a
    full request with a data-less layout update first)."""
    await rfb.request_update(incremental=False)
    while rfb.rects.get(RAW, 0) + rfb.rects.get(COPY_RECT, 0) == 0:
        if await rfb.read_message() == 0:
            await rfb.request_update(incremental=True)


async def test_a_viewer_that_connects_at_once_starts_with_the_programs_window(display_service):
    run = await start(display_service, PYGAME_FILL)
    rfb = await asyncio.wait_for(RFBClient.open_websocket(
        f"ws://127.0.0.1:{display_service.port}{run.started['display']['url']}", continuous=False), 30)
    try:
        assert (rfb.width, rfb.height) == (320, 240), "greeted at the window's size, not the blank desktop's"
        sizes = [(e["width"], e["height"]) for e in run.events if e["type"] == "display"]
        assert sizes[:1] == [(320, 240)], f"the display message comes before the first frame: {run.events}"
        await asyncio.wait_for(_first_picture(rfb), 30)
        # The window itself, as the program left it so far: pygame's is black until its first
        # flip, as on a desktop.  The 1280x960 blank desktop is never shown.
        assert rfb.is_uniform((30, 144, 255)) or rfb.is_uniform((0, 0, 0)), rfb.pixel(0, 0)
        rfb.start_reading()
        await rfb.wait_for(lambda c: c.is_uniform((30, 144, 255)), 30, "the program's blue")
    finally:
        await rfb.close()
    assert (await run.stop())["reason"] == "stopped"


TURTLE_WINDOW_SIZE = "import turtle\nprint('window', turtle.window_width(), turtle.window_height(), flush=True)\n" \
                     "turtle.done()\n"


async def test_a_turtle_window_is_as_big_as_the_ides_display_pane(display_service):
    run = await start(display_service, TURTLE_WINDOW_SIZE, screen={"width": 800, "height": 500})
    await run.wait_output("window 800 500")
    assert (await run.stop())["reason"] == "stopped"
    run = await start(display_service, TURTLE_WINDOW_SIZE)
    await run.wait_output("window 640 720")       # no pane size: half and three quarters of 1280x960
    assert (await run.stop())["reason"] == "stopped"

"""turtle with pyplay's cheaper updates (sandbox/preload.py) behaves as on a desktop: keys
and timers are handled while it draws, and what it drew before blocking is on screen.
The sandbox's Python 3.10 on a host Xvnc (fast, no gVisor)."""
from __future__ import annotations

import asyncio
import json
import subprocess

from testkit.rfb import RFBClient
from tests.sandbox.display.host_python import REPO, python310_prefix

RED = (255, 0, 0)
# Draws with tracer(1, 0) (an update after every step, no delay) until a key has been handled
# and a timer has fired, then draws a thick red line and blocks without calling Tk again.
DRAWS_THEN_BLOCKS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from sandbox import preload
preload.install_display_patches()
import turtle

screen = turtle.Screen()
screen.tracer(1, 0)
t = turtle.Turtle()
t.hideturtle()
handled = {"keys": 0, "timers": 0}
def on_key(): handled["keys"] += 1
def on_timer(): handled["timers"] += 1
screen.onkey(on_key, "a")
screen.ontimer(on_timer, 50)
screen.listen()
steps = 0
print(json.dumps({"drawing": True}), flush=True)
deadline = time.monotonic() + 60
while (not handled["keys"] or not handled["timers"]) and time.monotonic() < deadline:
    t.left(7)
    t.forward(1)
    steps += 1
t.pencolor("red")
t.pensize(20)
t.goto(100, 0)
print(json.dumps({**handled, "steps": steps}), flush=True)
time.sleep(60)
"""


def _turtle_program(host_display) -> subprocess.Popen:
    python = str(python310_prefix() / "bin" / "python3.10")
    return host_display.spawn([python, "-c", DRAWS_THEN_BLOCKS, str(REPO)])


async def _line(program: subprocess.Popen, timeout: float = 70) -> dict:
    line = await asyncio.wait_for(asyncio.to_thread(program.stdout.readline), timeout)
    assert line, "the turtle program exited"
    return json.loads(line)


async def test_keys_and_timers_are_handled_while_turtle_draws(host_display, rfb: RFBClient) -> None:
    program = _turtle_program(host_display)
    assert await _line(program) == {"drawing": True}
    await rfb.pointer(0, 100, 100)       # no window manager: X focus follows the pointer
    await rfb.press(ord("a"))
    done = await _line(program)
    assert done["keys"] == 1 and done["timers"] == 1, done


async def test_the_last_step_is_on_screen_when_the_program_blocks(host_display, rfb: RFBClient) -> None:
    program = _turtle_program(host_display)
    await _line(program)
    await rfb.pointer(0, 100, 100)
    await rfb.press(ord("a"))
    await _line(program)                 # now in time.sleep: Tk gets no more calls
    # 100 px long, 20 px wide: most of it is red whatever the line caps look like.
    await rfb.wait_for(lambda c: c.count_colour(RED, 0) >= 80 * 18, 10, "the red line drawn last")

"""Real programs nobody here wrote: CPython's turtledemo and the examples shipped in pygame-ce,
run in `auto` mode through the real service, watched over RFB."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os

import pytest

from testkit.service import REPO
from tests.e2e.display_run import start

SANDBOX = os.path.join(REPO, "build", "sandbox")
TURTLEDEMO = os.path.join(SANDBOX, "python", "lib", "python3.10", "turtledemo")
PYGAME_EXAMPLES = os.path.join(SANDBOX, "env", "lib", "python3.10", "site-packages", "pygame", "examples")

# turtledemo programs that run without interaction (the others wait for clicks or keys:
# colormixer, minimal_hanoi, nim, paint, sorting_animate).
TURTLE_DEMOS = ["bytedesign", "chaos", "clock", "forest", "fractalcurves", "lindenmayer", "peace", "penrose",
                "planet_and_moon", "rosette", "round_dance", "tree", "two_canvases", "yinyang"]
# Animated pygame examples.  Left out, and why, is listed in the README.
PYGAME_DEMOS = ["aliens", "chimp", "stars", "moveit", "liquid", "mask", "testsprite"]
# Games that end by themselves: in aliens a random bomb can kill the unattended player within 5 s.
GAMES_THAT_CAN_END = {"aliens"}
WATCH_SECONDS = 5.0
# The screen is sampled this often: distinct samples show an animation, not the steps of a first drawing.
SAMPLE_SECONDS = 0.25


def _file(path: str, name: str) -> dict:
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return {"path": name, "text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"path": name, "base64": base64.b64encode(data).decode()}


def _pygame_data_files() -> list:
    data_dir = os.path.join(PYGAME_EXAMPLES, "data")
    return [_file(os.path.join(data_dir, name), f"data/{name}") for name in sorted(os.listdir(data_dir))
            if os.path.isfile(os.path.join(data_dir, name))]


async def _watch(service, program: str, files=()) -> tuple:
    """Run for WATCH_SECONDS (or to its end): the output, and how many distinct frames were seen."""
    run = await start(service, program, mode="auto", files=files)
    rfb = await run.rfb()
    frames = set()
    try:
        for _ in range(int(WATCH_SECONDS / SAMPLE_SECONDS)):
            # An observation window, not synchronisation: look every SAMPLE_SECONDS, and stop
            # looking as soon as the program ends.
            await asyncio.wait([run.exit], timeout=SAMPLE_SECONDS)
            frames.add(hashlib.sha1(bytes(rfb.framebuffer)).hexdigest())
            if run.exit.done():
                break
    finally:
        # What the display did, for a failure's message: a viewer dropped by Xvnc (issue 14)
        # looks different from a program that never drew.
        run.display_seen = (f"{rfb.updates} updates, {rfb.resizes} resizes, {rfb.width}x{rfb.height}, "
                            f"reader failure {getattr(rfb, '_failure', None)!r}, events {run.events[:4]}")
        await rfb.close()
    before_stop = bytes(run.output).decode(errors="replace")  # closing the window mid-drawing
    exit_event = await run.stop()                             # raises turtle.Terminator, as on a desktop
    return run, exit_event, len(frames), before_stop


@pytest.mark.parametrize("name", TURTLE_DEMOS)
async def test_turtledemo_runs_without_a_traceback(display_service, name):
    with open(os.path.join(TURTLEDEMO, f"{name}.py"), encoding="utf-8") as handle:
        program = handle.read()
    run, exit_event, frames, text = await _watch(display_service, program)
    assert run.started["mode"] == "turtle"
    assert "Traceback" not in text, text[-1500:]
    assert exit_event["reason"] in ("exited", "stopped"), exit_event
    assert frames >= 2, "the drawing never changed"


@pytest.mark.parametrize("name", PYGAME_DEMOS)
async def test_pygame_example_runs_five_seconds_with_changing_frames(display_service, name):
    with open(os.path.join(PYGAME_EXAMPLES, f"{name}.py"), encoding="utf-8") as handle:
        program = handle.read()
    run, exit_event, frames, text = await _watch(display_service, program, files=_pygame_data_files())
    assert run.started["mode"] == "pygame"
    assert "Traceback" not in text, text[-1500:]
    ended_cleanly = name in GAMES_THAT_CAN_END and (exit_event["reason"], exit_event.get("code")) == ("exited", 0)
    assert exit_event["reason"] == "stopped" or ended_cleanly, (exit_event, text[-500:])  # running after 5 s
    assert frames >= 3, f"only {frames} distinct frames in {WATCH_SECONDS} s: {run.display_seen}"

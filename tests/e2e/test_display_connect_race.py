"""A display socket opened at any moment after `started` is never dropped by the desktop
resize that follows it (the display starts at one size and takes the window's a moment later;
Xvnc used to disconnect a viewer caught mid-handshake, close code 1000, a dead display)."""
from __future__ import annotations

import asyncio
import random

from testkit.rfb import RFBError
from tests.e2e.display_run import start

PYGAME = ("import pygame\npygame.init()\nscreen = pygame.display.set_mode((320, 240))\n"
          "screen.fill((30, 144, 255))\npygame.display.flip()\nwhile True:\n    pygame.event.wait()\n")
TURTLE = "import turtle\nturtle.bgcolor('red')\nturtle.done()\n"
BLUE, RED = (30, 144, 255), (255, 0, 0)
RUNS_PER_MODE = 8


async def _connect_at(run, delay: float, colour) -> None:
    # The stimulus, not a wait: the viewer connects at this moment after `started`.
    await asyncio.sleep(delay)
    client = await run.rfb()
    try:
        await client.wait_for(lambda c: c.count_colour(colour, 0, (0, 0, c.width, c.height)) > 1000, 30,
                              f"the program's own colour {colour}")
    finally:
        await client.close()


async def test_viewers_connecting_at_random_moments_are_never_dropped(display_service):
    chance = random.Random(20261130)
    drops = []
    for index in range(RUNS_PER_MODE * 2):
        program, colour = (PYGAME, BLUE) if index % 2 == 0 else (TURTLE, RED)
        run = await start(display_service, program)
        delay = chance.uniform(0.0, 0.5)
        try:
            await _connect_at(run, delay, colour)
        except RFBError as error:
            drops.append(f"run {index} ({'pygame' if colour == BLUE else 'turtle'}) at {delay:.3f} s: {error}")
        assert (await run.stop())["reason"] == "stopped"
    assert drops == [], f"{len(drops)} of {RUNS_PER_MODE * 2} displays dropped: {drops}"

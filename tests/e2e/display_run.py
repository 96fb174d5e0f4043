"""A run in pygame or turtle mode through the real service: its terminal output is collected
in the background while a test drives its display over RFB (test_display, tests/fidelity,
test_resume)."""
from __future__ import annotations

import asyncio
import json

from testkit.client import connect, next_json
from testkit.rfb import KEY_SPACE, RFBClient


class DisplayRun:
    """A run whose terminal output is collected in the background while the test drives the display."""

    def __init__(self, service, ws, started):
        self.service, self.ws, self.started = service, ws, started
        self.output = bytearray()
        self.events = []
        self.exit = asyncio.get_running_loop().create_future()
        self._news = asyncio.Event()          # set whenever output or an event arrives
        self._task = asyncio.ensure_future(self._collect())

    async def _collect(self):
        try:
            while True:
                message = await self.ws.recv()
                if isinstance(message, bytes):
                    self.output += message
                    self._news.set()
                    continue
                event = json.loads(message)
                self.events.append(event)
                if event["type"] == "exit":
                    self.exit.set_result(event)
                    # The tab closes: its session hands its sandbox back, as a closed IDE would;
                    # left open, every test's sandbox would live until the service stops.
                    await self.ws.close()
                    return
        finally:
            self._news.set()                  # a waiter sees the end, not a timeout

    async def rfb(self) -> RFBClient:
        return await RFBClient.open_websocket(f"ws://127.0.0.1:{self.service.port}{self.started['display']['url']}")

    async def wait_output(self, text: str, timeout: float = 20) -> None:
        """Wait until the program has printed ``text``; fail if it exits first or takes too long."""
        async def printed() -> bool:
            while text.encode() not in self.output:
                if self._task.done():
                    return False
                self._news.clear()
                await self._news.wait()
            return True

        try:
            if await asyncio.wait_for(printed(), timeout):
                return
        except asyncio.TimeoutError:
            pass
        raise AssertionError(f"no {text!r} in output: {bytes(self.output).decode(errors='replace')[-800:]}")

    def drop(self) -> None:
        """The network goes away: no close frame, and nothing more is read."""
        self._task.cancel()
        self.ws.transport.abort()

    async def stop(self) -> dict:
        if not self.exit.done():
            await self.ws.send(json.dumps({"type": "stop"}))
        return await asyncio.wait_for(self.exit, 15)


async def start(service, program: str, mode: str = "auto", files=(), **extra) -> DisplayRun:
    """``extra``: more fields of the run message (``screen``)."""
    ws = await connect(service.url)
    await ws.send(json.dumps({"type": "run", "mode": mode, "files": [{"path": "main.py", "text": program}, *files],
                              **extra}))
    started = await next_json(ws, timeout=30)
    assert started["type"] == "started", started
    return DisplayRun(service, ws, started)


BLUE, ORANGE = (30, 144, 255), (255, 140, 0)


async def space_turns_the_fill_orange(rfb: RFBClient, first_frame_seconds: float = 30) -> None:
    """PYGAME_FILL's blue 320x240 frame, orange while space is held (real X input: held keys)."""
    await rfb.wait_for(lambda c: c.width == 320 and c.is_uniform(BLUE), first_frame_seconds, "a 320x240 blue frame")
    await rfb.key(KEY_SPACE, True)
    await rfb.wait_for(lambda c: c.is_uniform(ORANGE), 10, "orange while space is held")


PYGAME_FILL = """
import pygame
pygame.init()
screen = pygame.display.set_mode((320, 240))
colour = (30, 144, 255)
while True:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            raise SystemExit
        if event.type == pygame.KEYDOWN:
            print('KEYDOWN', pygame.key.name(event.key), flush=True)
        if event.type == pygame.MOUSEBUTTONDOWN:
            print('CLICK', event.pos, flush=True)
    held = pygame.key.get_pressed()[pygame.K_SPACE]
    screen.fill((255, 140, 0) if held else colour)
    pygame.display.flip()
    pygame.time.wait(15)
"""

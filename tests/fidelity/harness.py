"""The corpus's runner: one program through the real service, a scripted student, a verdict.

A program is run from where it installs (``python -m <module>``, as a two-line entry file
that calls runpy) or, for the programs we wrote the way students write them, from
tests/fidelity/programs/.  A ``Player`` is what the student does: answers on stdin, keys
and clicks through the RFB client, and looking at the display.
"""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import os
import time
from typing import Awaitable, Callable, Dict, List, Optional, Tuple

from websockets.exceptions import ConnectionClosed

from testkit.rfb import RFBClient, RFBError
from tests.e2e.display_run import DisplayRun, start

PROGRAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
# The mode our tkinter and matplotlib programs ask for: `auto`, which gives them the Tk display
# (`turtle` mode) as it gives any program importing tkinter or matplotlib.
TK_MODE = "auto"
FRAME_SECONDS = 40.0      # how long a program may take to show the frames it owes (busy 2-core CI)
OUTPUT_SECONDS = 20.0
END_SECONDS = 30.0        # a program that ends by itself, once played
RETRY_SECONDS = 3.0       # a student who sees nothing happen tries again after this
STILL_SECONDS = 0.4       # a display unchanged this long has finished drawing
PLAY_SECONDS = 90.0       # a scripted student that has not finished by then never will

Play = Callable[["Player"], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class Program:
    """One corpus program and what counts as it working."""
    name: str
    mode: str
    module: Optional[str] = None           # python -m <module>, from where it installs
    source: Optional[str] = None           # or a file of tests/fidelity/programs/
    argv: Tuple[str, ...] = ()             # command-line arguments after the module
    play: Optional[Play] = None            # the student's part, before the checks
    output: Tuple[str, ...] = ()           # the terminal must show each of these
    frames: int = 0                        # distinct display frames the program must show
    ends: bool = False                     # it ends by itself (code 0) once played; else it is stopped
    window: bool = True                    # it opens a window (the display is offered only once one is up)
    files: Tuple[Tuple[str, bytes], ...] = ()   # extra files of the run (made by the test)

    def entry(self) -> str:
        if self.source is not None:
            with open(os.path.join(PROGRAMS, self.source), encoding="utf-8") as handle:
                return handle.read()
        argv = [self.module, *self.argv]
        return (f"import runpy, sys\nsys.argv[1:] = {list(self.argv)!r}\n"
                f"runpy.run_module({self.module!r}, run_name='__main__', alter_sys=True)\n"
                f"# python -m {' '.join(argv)}\n")


@dataclasses.dataclass
class Outcome:
    """A row of the corpus table."""
    name: str
    mode: str
    passed: bool = False
    seconds: float = 0.0
    frames: int = 0
    exit: str = ""
    why: str = ""


OUTCOMES: List[Outcome] = []


class Player:
    """The scripted student of one run."""

    def __init__(self, run: DisplayRun, rfb: Optional[RFBClient]) -> None:
        self.run, self.rfb = run, rfb
        self.seen: set = set()
        self.answered: Dict[str, int] = {}     # prompts answered so far, by prompt

    @property
    def text(self) -> str:
        return bytes(self.run.output).decode(errors="replace")

    def _look(self, client: RFBClient) -> int:
        self.seen.add(hashlib.sha1(bytes(client.framebuffer)).digest())
        return len(self.seen)

    async def expect(self, text: str, timeout: float = OUTPUT_SECONDS) -> None:
        await self.run.wait_output(text, timeout)

    async def type(self, text: str) -> None:
        """What the terminal sends for typed text (Enter is a carriage return)."""
        async def send() -> None:
            await self.run.ws.send(json.dumps({"type": "stdin", "data": text.replace("\n", "\r")}))
        await self._unless_ended(send)

    async def _unless_ended(self, send: Callable[[], Awaitable[None]]) -> None:
        """Input to a program that has just ended goes nowhere, as on a desktop: its socket
        closing before the exit event arrives is no failure of the program."""
        if self.run.exit.done():
            return
        try:
            await send()
        except (ConnectionClosed, ConnectionError):
            await asyncio.wait([self.run.exit], timeout=END_SECONDS)
            if not self.run.exit.done():
                raise

    async def answer(self, prompt: str, text: str) -> None:
        """Wait for the next ``prompt`` (one more than already answered), then type ``text``."""
        answered = self.answered.get(prompt, 0)
        await self._until(lambda: self.text.count(prompt) > answered or self.run.exit.done(),
                          f"prompt {answered + 1} {prompt!r}")
        self.answered[prompt] = answered + 1
        await self.type(text)

    async def until_output(self, action: Callable[[], Awaitable[None]], text: str, tries: int = 5) -> None:
        """Do ``action`` until ``text`` is printed: a student presses again when nothing happens."""
        for _ in range(tries):
            count = self.text.count(text)
            await action()
            try:
                await self._until(lambda c=count: self.text.count(text) > c or self.run.exit.done(),  # type: ignore[misc]
                                  repr(text), timeout=RETRY_SECONDS)
                return
            except AssertionError:
                pass
        raise AssertionError(f"no {text!r} after {tries} tries: {self.text[-600:]}")

    async def _until(self, done: Callable[[], bool], what: str, timeout: float = OUTPUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} in output: {self.text[-600:]}")
            await asyncio.sleep(0.05)  # polling the collected output, not a timing assumption

    async def frames(self, count: int, timeout: float = FRAME_SECONDS) -> None:
        """Wait until the display has shown ``count`` distinct frames (including earlier ones)."""
        assert self.rfb is not None, "frames of a run without a display"
        self._look(self.rfb)
        await self.rfb.wait_for(lambda client: self._look(client) >= count or self.run.exit.done(),
                                timeout, f"{count} distinct frames")

    async def still(self, quiet: float = STILL_SECONDS, at_most: float = RETRY_SECONDS) -> None:
        """Look until the display has not changed for ``quiet`` seconds (or ``at_most`` has
        passed: an animation never stops), so that a change after a click is the click's."""
        assert self.rfb is not None
        deadline = time.monotonic() + at_most
        while time.monotonic() < deadline:
            updates = self.rfb.updates
            await asyncio.sleep(quiet)  # an observation window, not a wait for something
            self._look(self.rfb)
            if self.rfb.updates == updates:
                return

    async def change(self, timeout: float = FRAME_SECONDS) -> None:
        """Wait until the display shows a frame not seen before."""
        await self.frames(len(self.seen) + 1, timeout)

    async def press(self, *keysyms: int) -> None:
        rfb = self.rfb
        assert rfb is not None
        for keysym in keysyms:
            await self._unless_ended(lambda k=keysym: rfb.press(k))  # type: ignore[misc]

    async def keys(self, text: str) -> None:
        for char in text:
            await self.press(ord(char))

    async def click(self, x: int, y: int, button: int = 1) -> None:
        rfb = self.rfb
        assert rfb is not None
        await self._unless_ended(lambda: rfb.click(x, y, button))

    async def drag(self, points: List[Tuple[int, int]]) -> None:
        assert self.rfb is not None
        await self.rfb.pointer(0, *points[0])
        for x, y in points:
            await self.rfb.pointer(1, x, y)
        await self.rfb.pointer(0, *points[-1])

    async def drawn(self, timeout: float = FRAME_SECONDS) -> None:
        """Wait until the display shows more than one colour: a window with something in it."""
        assert self.rfb is not None
        await self.rfb.wait_for(lambda client: self._look(client) and _colours(client) > 1 or self.run.exit.done(),
                                timeout, "a drawing")


def _colours(client: RFBClient) -> int:
    """Distinct colours on the display (a sample of its pixels)."""
    pixels = memoryview(bytes(client.framebuffer)).cast("I")
    return len(set(pixels[::7]))


async def run_program(service, program: Program) -> Tuple[Player, Dict, str]:
    """Run ``program`` with its scripted student: the player, the exit event, the output
    before any stop (a stop's own effects are not the program's doing)."""
    files = [{"path": path, "base64": base64.b64encode(data).decode()} for path, data in program.files]
    run = await start(service, program.entry(), mode=program.mode, files=files)
    rfb = await run.rfb() if run.started.get("display") and program.window else None
    player = Player(run, rfb)
    failure: Optional[BaseException] = None
    try:
        await _play_and_check(program, player)
    except (AssertionError, RFBError, asyncio.TimeoutError, ConnectionClosed) as error:
        failure = error
    before_stop = player.text
    if rfb is not None:
        await rfb.close()
    exit_event = await run.stop()
    if failure is not None:
        raise AssertionError(f"{type(failure).__name__}: {failure}; {exit_event}; "
                             f"output: {before_stop[-700:]!r}") from failure
    return player, exit_event, before_stop


async def _play_and_check(program: Program, player: Player) -> None:
    if program.play is not None:
        await asyncio.wait_for(program.play(player), PLAY_SECONDS)
    if program.frames:
        await player.frames(program.frames)
    for text in program.output:
        await player.expect(text)
    if program.ends:
        await asyncio.wait_for(asyncio.shield(player.run.exit), END_SECONDS)


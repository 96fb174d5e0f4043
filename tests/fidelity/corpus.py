"""The real-program corpus: programs nobody on the project wrote, run from where they
install (pygame-ce's examples, CPython's turtledemo, the freegames package), and programs
of our own written the way students write them (tests/fidelity/programs/).

Each entry says how a student plays it and what counts as working; the checks common to
all (no traceback, a clean end) are in test_corpus.py.  Coordinates are in the window:
freegames' windows are 420x420 with turtle's (0, 0) in the middle.
"""
from __future__ import annotations

import struct
from typing import List

from testkit.rfb import KEY_DOWN, KEY_LEFT, KEY_RETURN, KEY_RIGHT, KEY_SPACE, KEY_UP, RFBError, png_bytes
from tests.fidelity.harness import TK_MODE, Player, Program


def tiny_midi() -> bytes:
    """A valid Standard MIDI File (format 0): a piano playing a C major arpeggio."""
    events = b"\x00\xc0\x00"                                  # program change: acoustic grand piano
    for note in (60, 64, 67, 72):
        events += b"\x00\x90" + bytes([note, 100]) + b"\x60\x80" + bytes([note, 0])
    events += b"\x00\xff\x2f\x00"                             # end of track
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96)
            + b"MTrk" + struct.pack(">I", len(events)) + events)


SQUARES = (-150, -50, 50, 150)   # the middles of freegames' 4x4 boards of 100-pixel squares


def at(x: int, y: int) -> tuple:
    """A freegames turtle position as a window pixel."""
    return 210 + x, 210 - y


# --- the scripted students ---------------------------------------------------------------

async def watch(player: Player) -> None:
    """Just look: an animation shows new frames by itself."""
    await player.frames(3)


async def arrows(player: Player) -> None:
    await player.frames(2)
    for key in (KEY_UP, KEY_LEFT, KEY_DOWN, KEY_RIGHT):
        await player.press(key)
        await player.change()


async def idle_shell(player: Player) -> None:
    """IDLE's shell (-n: in one process): a line typed into it runs and shows its result."""
    await player.drawn()
    await player.frames(len(player.seen) + 1)
    await player.keys("print(6*7)")
    await player.press(KEY_RETURN)
    await player.change()


async def tkinter_test(player: Player) -> None:
    """python -m tkinter: a window with a "Click me!" button that adds brackets to its own label."""
    await player.drawn()
    await player.still()
    await player.click(84, 52)
    await player.change()


async def drag_sliders(player: Player) -> None:
    """colormixer: three slider turtles to drag; the background follows."""
    await player.drawn()
    for x in (150, 300, 450):
        await player.drag([(x, 300 - step * 10) for step in range(12)])
    await player.change()


async def space_then_watch(player: Player) -> None:
    await player.frames(1)
    await player.press(KEY_SPACE)
    await player.frames(3)


def clicks(*points: tuple, each: bool = True) -> object:
    """Click the points once the window has finished drawing: each click must change the
    display, or (``each=False``) all of them together (freegames' paint draws on the second
    tap; one tile of 16 slides into the gap)."""
    async def play(player: Player) -> None:
        await player.frames(1)
        await player.still()
        for x, y in points:
            await player.click(x, y)
            if each:
                await player.change()
        if not each:
            await player.change()
    return play


def hold(key: int) -> object:
    """Hold a key down until the display changes (pygame.key.get_pressed() sees it held)."""
    async def play(player: Player) -> None:
        await player.drawn()
        await player.still()
        assert player.rfb is not None
        await player.rfb.key(key, True)
        await player.change()
        await player.rfb.key(key, False)
    return play


def click_and_watch(point: tuple) -> object:
    """An animation that a click plays along with (flappy: the bird may be down before the click)."""
    async def play(player: Player) -> None:
        await player.frames(1)
        await player.click(*point)
        await player.frames(3)
    return play


def keys_change(text: str) -> object:
    """Type into a window that waits for keys: once it has finished drawing, the keys must change it."""
    async def play(player: Player) -> None:
        await player.frames(1)
        await player.still()
        await player.keys(text)
        await player.change()
    return play


def keys_and_watch(text: str) -> object:
    async def play(player: Player) -> None:
        await player.frames(1)
        await player.keys(text)
        await player.frames(3)
    return play


def key_ends(key: int) -> object:
    """A static picture that ends on a key press: it must draw something first."""
    async def play(player: Player) -> None:
        await watch_static(player)
        await player.press(key)
    return play


any_key_ends = key_ends(KEY_SPACE)


async def pause_and_quit(player: Player) -> None:
    """playmus: SPACE pauses (the window says so), q quits."""
    await player.frames(1)
    await player.press(KEY_SPACE)
    await player.change()
    await player.keys("q")


async def arraydemo(player: Player) -> None:
    """Seven pictures, a click each.  Each is a window of another size: a click while the
    display follows the new size may miss it, and the student clicks again."""
    await player.frames(1)
    for _ in range(30):
        if player.run.exit.done():
            return
        await player.click(10, 10)
        try:
            await player.change(timeout=3)
        except RFBError:
            pass


async def pixelarray(player: Player) -> None:
    while not player.run.exit.done():                      # a picture per key press, then it ends
        await player.frames(len(player.seen) + 1)
        await player.press(KEY_SPACE)


async def textinput(player: Player) -> None:
    await player.frames(1)
    await player.keys("hello")
    await player.change()
    await player.press(KEY_RETURN)
    await player.change()


async def guess(player: Player) -> None:
    """Binary search, as a student would play it."""
    low, high = 1, 100
    while "Congratulations" not in player.text:
        middle = (low + high) // 2
        count = player.text.count("Guess the number:")
        await player.expect("Guess the number:")
        await player._until(lambda c=count: player.text.count("Guess the number:") >= max(c, 1), "a prompt")
        before = len(player.text)
        await player.type(f"{middle}\n")
        await player._until(lambda b=before: any(word in player.text[b:] for word in
                                                  ("Higher.", "Lower.", "Congratulations")), "an answer")
        reply = player.text[before:]
        if "Higher." in reply:
            low = middle + 1
        elif "Lower." in reply:
            high = middle - 1


async def bagels(player: Player) -> None:
    for guess_text in ("123", "456", "789", "012", "345", "678", "901", "234", "567", "890"):
        if player.run.exit.done():
            return
        await player.answer("Guess #", guess_text + "\n")


async def rps(player: Player) -> None:
    """r, s, p, r...: each move beats the answer to the one before (one of its strategies), and
    wins a third of the time against the others, so someone reaches five points."""
    moves = "rsp"
    for turn in range(300):
        if "WINS!" in player.text or player.run.exit.done():
            return
        await player.answer('"s" for scissors: ', moves[turn % 3] + "\n")


async def crypto(player: Player) -> None:
    await player.expect("decode a message?")
    await player.type("encrypt\n")
    await player.answer("Message: ", "hello world\n")
    await player.answer("Enter a key (1 - 25): ", "3\n")


async def madlibs(player: Player) -> None:
    while "=" * 80 not in player.text and not player.run.exit.done():
        await player.answer(": ", "penguin\n")


# --- the corpus --------------------------------------------------------------------------

def _turtledemo() -> List[Program]:
    animated = ["bytedesign", "chaos", "clock", "forest", "fractalcurves", "lindenmayer", "peace", "penrose",
                "planet_and_moon", "rosette", "round_dance", "tree", "two_canvases", "yinyang"]
    programs = [Program(f"turtledemo.{name}", "turtle", module=f"turtledemo.{name}", play=watch)
                for name in animated]
    programs += [
        Program("turtledemo.minimal_hanoi", "turtle", module="turtledemo.minimal_hanoi", play=space_then_watch),
        Program("turtledemo.paint", "turtle", module="turtledemo.paint", play=clicks((300, 200), (400, 300))),
        Program("turtledemo.sorting_animate", "turtle", module="turtledemo.sorting_animate",
                play=keys_change("i")),
        Program("turtledemo.nim", "turtle", module="turtledemo.nim", play=watch),
        Program("turtledemo.colormixer", "turtle", module="turtledemo.colormixer", play=drag_sliders),
        # the Tk programs that ship with Python: the demo viewer itself, IDLE, tkinter's test window
        Program("turtledemo (the viewer)", "turtle", module="turtledemo", play=watch_static),
        Program("idlelib -n", "turtle", module="idlelib", argv=("-n",), play=idle_shell),
        Program("tkinter (its test window)", "turtle", module="tkinter", play=tkinter_test),
    ]
    return programs


def _freegames() -> List[Program]:
    def game(name: str, play: object, **checks: object) -> Program:
        return Program(f"freegames.{name}", "turtle", module=f"freegames.{name}", play=play, **checks)  # type: ignore[arg-type]

    def console(name: str, play: object, *output: str) -> Program:
        return Program(f"freegames.{name}", "python", module=f"freegames.{name}", play=play,  # type: ignore[arg-type]
                       output=output, ends=True)
    return [
        game("ant", watch), game("bounce", watch), game("life", watch),
        game("snake", arrows), game("pacman", arrows), game("avoid", arrows),
        game("pong", keys_and_watch("wsik")), game("tron", keys_and_watch("ajdl")),
        game("fidget", space_then_watch), game("typing", keys_and_watch("abcdefgh")),
        game("cannon", clicks(at(100, 100))), game("flappy", click_and_watch(at(0, 0))),
        game("connect", clicks(at(-150, 0), at(-100, 0))), game("tictactoe", clicks(at(-133, 133), at(0, 0))),
        game("tiles", clicks(*[at(x, y) for x in SQUARES for y in SQUARES], each=False)),
        game("memory", clicks(at(-175, 175), at(-125, 175))),
        game("maze", clicks(at(0, 0))), game("minesweeper", clicks(at(-175, 175))),
        game("simonsays", clicks(at(0, 0)), output=("Pattern length: 1",)),
        game("paint", clicks(at(-50, -50), at(50, 50), each=False)),
        game("illusion", watch_static),
        console("guess", guess, "Congratulations!"),
        console("bagels", bagels, "I have thought up a number."),
        console("rps", rps, "Computer strategy:"),
        console("crypto", crypto, "Encrypted message:"),
        console("madlibs", madlibs, "=" * 80),
    ]


async def watch_static(player: Player) -> None:
    """A picture drawn once: it must be there."""
    await player.drawn()


def _pygame_examples() -> List[Program]:
    def example(name: str, play: object, **checks: object) -> Program:
        return Program(f"pygame.examples.{name}", "pygame", module=f"pygame.examples.{name}", play=play,  # type: ignore[arg-type]
                       **checks)  # type: ignore[arg-type]
    return [
        example("aliens", watch), example("chimp", watch), example("stars", watch), example("moveit", watch),
        example("liquid", watch), example("mask", watch), example("testsprite", watch),
        example("go_over_there", clicks((100, 100))), example("sprite_texture", watch),
        example("cursors", watch_static),
        example("textinput", textinput), example("eventlist", keys_change("abc")),
        example("aacircle", key_ends(ord("q")), ends=True), example("fonty", any_key_ends, ends=True),
        example("freetype_misc", any_key_ends, ends=True),
        # numpy
        example("arraydemo", arraydemo, ends=True), example("vgrade", any_key_ends, ends=True),
        example("pixelarray", pixelarray, ends=True), example("blit_blends", keys_change("2a")),
        example("sound_array_demos", None, output=("echoing", "original sound"), window=False),
        # sound and music through SDL's dummy driver, MIDI through timidity and freepats
        example("sound", None, ends=True, window=False),
        example("music_drop_fade", watch_static),
        # static windows, and windows that change with the keys or the mouse
        example("scroll", hold(KEY_RIGHT)), example("font_viewer", watch_static),
        example("ninepatch", watch_static), example("dropevent", watch_static),
        example("resizing_new", watch_static), example("retro_scaling", watch_static),
        example("setmodescale", watch_static), example("blend_fill", keys_change("rgb")),
        example("scrap_clipboard", watch_static), example("video", watch_static),
        Program("pygame.examples.playmus x.mid", "pygame", module="pygame.examples.playmus", argv=("x.mid",),
                files=(("x.mid", tiny_midi()),), play=pause_and_quit, ends=True),
        Program("pygame.examples.headless_no_windows_needed", "pygame",
                module="pygame.examples.headless_no_windows_needed", ends=True, window=False,
                argv=("-scale", "picture.png", "small.png", "20", "20"),
                files=(("picture.png", png_bytes(2, 2, [b"\xff\x00\x00" * 2, b"\x00\x00\xff" * 2])),)),
    ]


def cell(row: int, column: int) -> tuple:
    """The middle of a calculator.py grid cell (240x300 window, 4 columns, 5 rows)."""
    return column * 60 + 30, row * 60 + 30


async def calculator(player: Player) -> None:
    async def calculate() -> None:
        await player.click(*cell(4, 0))                     # C, then into the Entry, as a student would
        await player.click(120, 30)
        await player.keys("7*6")
        await player.press(KEY_RETURN)
    await player.drawn()
    await player.until_output(calculate, "7*6 = 42")
    for key in (cell(1, 2), cell(3, 3), cell(2, 0), cell(4, 2)):   # 9 - 4 = on the buttons
        await player.click(*key)
    await player.expect("429-4 = 425")


async def todo(player: Player) -> None:
    async def add(task: str) -> None:
        await player.click(130, 45)                         # into the Entry under the title
        await player.keys(task)
        await player.press(KEY_RETURN)
    await player.drawn()
    await player.until_output(lambda: add("milk"), "Added: milk")
    await add("eggs")
    await player.expect("Added: eggs - 2 tasks")


async def canvas_paint(player: Player) -> None:
    await player.drawn()
    await player.still()
    await player.drag([(50 + 10 * step, 50 + 7 * step) for step in range(15)])
    await player.change()


async def quiz(player: Player) -> None:
    """Return answers a dialog (its default button); a dialog just drawn may not have the
    keyboard yet, so the student presses again, as on a desktop."""
    await player.drawn()
    await player.until_output(lambda: player.press(KEY_RETURN), "Correct!")    # Yes
    await player.until_output(lambda: player.press(KEY_RETURN), "Quiz over")   # OK


async def hangman(player: Player) -> None:
    for letter in "python":
        if "You win!" in player.text:
            return
        await player.answer("Guess a letter: ", letter + "\n")


async def colours(player: Player) -> None:
    await player.answer("What is your name? ", "Ada\n")


async def dodge(player: Player) -> None:
    await player.frames(2)
    for key in (KEY_LEFT, KEY_LEFT, KEY_RIGHT):
        await player.rfb.key(key, True)
        await player.change()
        await player.rfb.key(key, False)


def _ours() -> List[Program]:
    def ours(name: str, mode: str, play: object, **checks: object) -> Program:
        return Program(f"ours/{name}", mode, source=name, play=play, **checks)  # type: ignore[arg-type]
    return [
        ours("calculator.py", TK_MODE, calculator),
        ours("todo.py", TK_MODE, todo),
        ours("canvas_paint.py", TK_MODE, canvas_paint),
        ours("messagebox_quiz.py", TK_MODE, quiz, output=("Quiz over",), ends=True),
        ours("plot_line.py", TK_MODE, watch_static, output=("showing the plot",)),
        ours("plot_numpy.py", TK_MODE, watch_static, output=("most common total:",)),
        ours("pillow_picture.py", TK_MODE, watch_static, output=("size: (300, 200)",)),
        ours("hangman.py", "auto", hangman, output=("You win!",), ends=True),
        ours("colours.py", "auto", colours, output=("\x1b[31mRed alert!", "High scores", "Ada"), ends=True),
        ours("dodge.py", "auto", dodge),
        ours("turtle_race.py", "auto", watch, output=("Race finished!",)),
    ]


CORPUS: List[Program] = [*_turtledemo(), *_freegames(), *_pygame_examples(), *_ours()]

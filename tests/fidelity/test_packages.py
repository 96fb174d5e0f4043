"""What the sandbox environment ships for classrooms (issue 14 items 4 and 5), through the
real service: the pinned packages, MIDI music, no import cost for programs that do not
use them, a clear line for one we do not ship, matplotlib's prebuilt font list."""
from __future__ import annotations

import base64
import os
import re

import pytest

from testkit.client import connect, run_program
from testkit.service import REPO
from tests.fidelity.corpus import tiny_midi

REQUIREMENTS = os.path.join(REPO, "scripts", "sandbox-requirements.txt")
# Modules of the classroom packages: none may be in a run that did not import them.
HEAVY = ("numpy", "matplotlib", "PIL", "rich", "colorama", "termcolor", "freegames", "pygments", "fontTools")


def pinned() -> dict:
    with open(REQUIREMENTS, encoding="utf-8") as handle:
        return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", handle.read(), re.MULTILINE))


async def run(service, program: str, mode: str = "python", files=(), **kwargs):
    ws = await connect(service.url)
    try:
        return await run_program(ws, [{"path": "main.py", "text": program}, *files], mode=mode, **kwargs)
    finally:
        await ws.close()


async def test_the_pinned_packages_are_what_a_program_imports(corpus_service):
    program = ("import importlib.metadata as m\n"
               f"for name in {sorted(pinned())!r}:\n"
               "    print(name, m.version(name))\n")
    result = await run(corpus_service, program)
    installed = dict(line.split() for line in result.text.splitlines() if line.strip())
    assert installed == pinned(), result.text


@pytest.mark.parametrize("mode", ["python", "pygame", "turtle"])
async def test_a_warm_run_has_imported_none_of_the_classroom_packages(corpus_service, mode):
    """The zygote pre-imports pygame or tkinter only: a program that imports nothing pays nothing."""
    program = f"import sys\nprint('loaded', sorted(n for n in {HEAVY!r} if n in sys.modules))\n"
    result = await run(corpus_service, program, mode=mode)
    assert "loaded []" in result.text, result.text


async def test_a_midi_file_plays_with_the_general_midi_instruments(corpus_service):
    program = ("import pygame\npygame.mixer.init()\n"
               "pygame.mixer.music.load('tune.mid')\npygame.mixer.music.play()\n"
               "print('busy', pygame.mixer.music.get_busy())\n")
    midi = {"path": "tune.mid", "base64": base64.b64encode(tiny_midi()).decode()}
    result = await run(corpus_service, program, mode="pygame", files=[midi])
    assert "busy True" in result.text, result.text
    assert result.exit["code"] == 0, result.text


async def test_a_package_we_do_not_ship_names_what_is_there(corpus_service):
    result = await run(corpus_service, "import requests\n")
    lines = result.text.splitlines()
    assert "ModuleNotFoundError: No module named 'requests'" in result.text  # the usual traceback
    assert lines[0].startswith("Traceback"), result.text
    hint = [line for line in lines if "'requests' is not installed here" in line]
    assert len(hint) == 1 and "numpy" in hint[0] and "matplotlib" in hint[0] and "pygame" in hint[0], result.text


async def test_a_first_plot_uses_the_font_list_built_at_make_time(corpus_service):
    program = ("import os, matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
               "from matplotlib import font_manager\n"
               "cache = os.path.join(matplotlib.get_cachedir(), "
               "f'fontlist-v{font_manager.FontManager.__version__}.json')\n"
               "print('prebuilt', os.path.realpath(cache).startswith('/opt/pyplay/env/'))\n"
               "plt.plot([1, 2], [3, 4]); plt.savefig('plot.png')\n"
               "print('saved', os.path.getsize('plot.png') > 1000)\n")
    result = await run(corpus_service, program)
    assert "prebuilt True" in result.text and "saved True" in result.text, result.text
    assert "Traceback" not in result.text and "Matplotlib" not in result.text, result.text  # no cache warnings

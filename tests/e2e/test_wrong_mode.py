"""A program that opens a window while Mode is "Python" is told so in its terminal, in one
clear line, instead of running windowless or printing SDL and ALSA noise."""
from __future__ import annotations

import pytest

from testkit.client import run_program

PROGRAMS = {
    "pygame": "import pygame\npygame.init()\nscreen = pygame.display.set_mode((320, 240))\nprint('drawing')\n",
    "turtle": "import turtle\nturtle.forward(100)\n",
    "tkinter": "import tkinter as tk\nroot = tk.Tk()\nroot.mainloop()\n",
}


@pytest.mark.parametrize("kind", sorted(PROGRAMS))
async def test_a_window_asked_for_in_python_mode_gets_a_clear_line(ws, kind):
    result = await run_program(ws, PROGRAMS[kind], mode="python")
    assert result.started["display"] is None
    assert result.text.count("Mode is \"Python\"") == 1, result.text
    assert "Choose Auto" in result.text
    assert "ALSA" not in result.text and "XDG_RUNTIME_DIR" not in result.text, result.text
    assert "drawing" not in result.text, "the program does not go on as if it had a window"
    assert result.exit["reason"] == "exited" and result.exit["code"] == 1


async def test_a_program_with_no_window_hears_nothing_about_displays(ws):
    result = await run_program(ws, "import os\nprint(os.environ.get('DISPLAY') is not None)\n", mode="python")
    assert result.text == "True\r\n"

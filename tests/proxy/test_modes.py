"""`auto` mode: the display a program needs, picked from its imports (proxy/modes.py), and the
IDE's copy of the same table (web/lib/mode-detect.ts) kept equal to it."""
from __future__ import annotations

import pathlib
import re

import pytest

from proxy.modes import DISPLAY_MODULES, detect_mode

ROOT = pathlib.Path(__file__).resolve().parents[2]


def mode_of(source: str, **others: str) -> str:
    files = [("main.py", source.encode())] + [(path, text.encode()) for path, text in others.items()]
    return detect_mode("main.py", files)


@pytest.mark.parametrize("source, mode", [
    ("import tkinter as tk\nroot = tk.Tk()\n", "turtle"),
    ("from tkinter import ttk, messagebox\n", "turtle"),
    ("import tkinter.simpledialog\n", "turtle"),
    ("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\n", "turtle"),
    ("from freegames import vector\n", "turtle"),
    ("import turtle\n", "turtle"),
    ("import pygame\nimport tkinter\n", "pygame"),
    ("import numpy\nprint(numpy.zeros(3))\n", "python"),
    ("print('hello')\n", "python"),
])
def test_auto_gives_a_display_to_what_needs_one(source, mode):
    assert mode_of(source) == mode


def test_a_project_module_that_imports_tkinter_gives_a_display():
    assert mode_of("import gui\ngui.run()\n", **{"gui.py": "import tkinter\n"}) == "turtle"


def test_a_projects_own_tkinter_py_shadows_the_real_one():
    assert mode_of("import tkinter\n", **{"tkinter.py": "x = 1\n"}) == "python"


def test_the_ide_guesses_from_the_same_table():
    source = (ROOT / "web" / "lib" / "mode-detect.ts").read_text()
    table = re.search(r"const DISPLAY_MODULES[^{]*\{(.*?)\}", source, re.S)
    assert table, "DISPLAY_MODULES not found in web/lib/mode-detect.ts"
    pairs = dict(re.findall(r"(\w+): '(\w+)'", table.group(1)))
    assert pairs == DISPLAY_MODULES

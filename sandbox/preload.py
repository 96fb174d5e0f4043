"""Warm-up for display sandboxes: import pygame or turtle before the claim, invisibly.

Imported by sandbox/launcher.py (which runs the student's program) in pygame and turtle
sandboxes.  pygame's greeting is printed when the program imports pygame, exactly as pygame
would have printed it, even though pygame was pre-imported; turtle's window opens at the
origin (there is no window manager).  Python 3.10, standard library only.
"""
from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import io
import os
import sys
import time
import types
from typing import Any, Optional, Sequence

GREETING_SWITCH = "PYGAME_HIDE_SUPPORT_PROMPT"


# --- pygame's greeting -------------------------------------------------------------

class _DeferredGreetingFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Hands out the pre-imported pygame on the program's first ``import pygame`` and
    prints the greeting then, unless the program hid it the usual way."""

    def __init__(self, module: types.ModuleType, greeting: str) -> None:
        if module.__spec__ is None:  # an imported package always has one
            raise ImportError(f"{module.__name__} has no spec to hand out again")
        self.module, self.greeting = module, greeting
        self.original_spec: importlib.machinery.ModuleSpec = module.__spec__

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        if name != self.module.__name__:
            return None
        spec = importlib.machinery.ModuleSpec(name, self, origin=self.original_spec.origin,
                                              is_package=True)
        spec.submodule_search_locations = self.original_spec.submodule_search_locations
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self.original_spec
        sys.meta_path.remove(self)
        if GREETING_SWITCH not in os.environ:
            sys.stdout.write(self.greeting)

    def retire(self) -> None:
        """At exit pygame's own clean-up imports pygame modules: no greeting then."""
        if self in sys.meta_path:
            sys.meta_path.remove(self)
            sys.modules.setdefault(self.module.__name__, self.module)


def preimport_pygame() -> None:
    """Import pygame now; its greeting is captured and printed at the program's import."""
    captured, real_stdout = io.StringIO(), sys.stdout
    sys.stdout = captured
    try:
        import pygame  # noqa: F401  (the point is the side effect: a warm module)
    finally:
        sys.stdout = real_stdout
    module = sys.modules.pop("pygame")     # submodules stay cached under their names
    finder = _DeferredGreetingFinder(module, captured.getvalue())
    sys.meta_path.insert(0, finder)
    atexit.register(finder.retire)         # runs before pygame's own exit handler


# --- turtle at the origin ------------------------------------------------------------

def _patch_turtle(turtle: types.ModuleType) -> None:
    """turtle centres its window on the screen; with no window manager that leaves it
    off the origin and Tk then places dialogs relative to the wrong place."""
    original = turtle._Root.set_geometry

    def set_geometry(self: Any, width: int, height: int, startx: int, starty: int) -> None:
        original(self, width, height, 0, 0)
    turtle._Root.set_geometry = set_geometry
    _cheaper_updates(turtle)


# A full Tk `update` at most this often while turtle draws: input and timers wait at most
# this long (less than one 60 Hz frame of the viewer); every step is still drawn and synced.
FULL_UPDATE_SECONDS = 0.01


def _cheaper_updates(turtle: types.ModuleType) -> None:
    """turtle calls Tk's `update` after every step. Tcl's threaded notifier makes each one
    ~49 system calls (a round trip to its select thread per event check), and every system
    call is a trip through gVisor: fractalcurves spends most of its time there.  `update
    idletasks` redraws the canvas and syncs with the X server in ~7 calls, so the picture
    after each step is the same; the full `update` (keys, clicks, timers, window close)
    runs when FULL_UPDATE_SECONDS have passed since the last one (docs/display.md).

    turtle then pauses `delay()` ms (10 by default) after each step.  On a desktop the
    update takes ~0.1 ms, in gVisor up to a few ms: the pause is counted from the start of
    the update, so an animation keeps the pace it has on a desktop."""
    last_full, update_seconds = [0.0], [0.0]

    def _update(self: Any) -> None:
        began = time.monotonic()
        if began - last_full[0] >= FULL_UPDATE_SECONDS:
            self.cv.update()
            last_full[0] = time.monotonic()
        else:
            self.cv.update_idletasks()
        update_seconds[0] = time.monotonic() - began

    def _delay(self: Any, delay: int) -> None:
        rest = delay - update_seconds[0] * 1000
        if rest >= 0.5:
            self.cv.after(round(rest))
    turtle.TurtleScreenBase._update = _update
    turtle.TurtleScreenBase._delay = _delay


class _AfterImportFinder(importlib.abc.MetaPathFinder):
    """Runs ``patch(module)`` right after ``name`` is first imported."""

    def __init__(self, name: str, patch: Any) -> None:
        self.name, self.patch = name, patch

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader_exec, patch = spec.loader.exec_module, self.patch

        def exec_module(module: types.ModuleType) -> None:
            loader_exec(module)
            patch(module)
        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install_display_patches() -> None:
    if "turtle" in sys.modules:
        _patch_turtle(sys.modules["turtle"])
    else:
        sys.meta_path.insert(0, _AfterImportFinder("turtle", _patch_turtle))


def prewarm(modules: Sequence[str]) -> None:
    """Import what a warm display sandbox should have ready (``pygame``, ``turtle``)."""
    for name in modules:
        if name == "pygame":
            preimport_pygame()
        elif name:
            __import__(name)
    install_display_patches()

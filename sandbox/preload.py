"""Run a student's program as ``__main__`` in a Python that may already be warm.

Runs inside the sandbox on Python 3.10 with the standard library only, as a script
(``python /path/to/preload.py ...``) so that nothing of ours is importable by the
student's program. Two ways in:

* cold:  ``python preload.py --run main.py [args...]``
* warm:  ``python preload.py --warm pygame,turtle --control-fd 3`` imports the heavy
  modules now (a warm pool sandbox), then blocks until one JSON line arrives on the
  control fd: ``{"entry": "main.py", "argv": [], "cwd": "/workspace", "env": {...}}``.

Either way the program sees what ``python main.py`` gives it: ``sys.argv``,
``sys.path[0]``, a fresh ``__main__`` module with the usual attributes, tracebacks
without our frames, the usual exit status (1 after a traceback, SIGINT after an
uncaught KeyboardInterrupt). pygame's greeting is printed when the program imports
pygame, exactly as pygame would have printed it, even when pygame was pre-imported.
Display runs also get the turtle window at the origin (there is no window manager).
"""
from __future__ import annotations

import atexit
import builtins
import importlib.abc
import importlib.machinery
import io
import json
import os
import signal
import sys
import types
from typing import Any, Dict, List, Optional, Sequence

GREETING_SWITCH = "PYGAME_HIDE_SUPPORT_PROMPT"
MAX_CONTROL_LINE = 1 << 20


class PreloadError(Exception):
    """The runner was started or claimed wrongly."""


# --- pygame's greeting -------------------------------------------------------------

class _DeferredGreetingFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Hands out the pre-imported pygame on the program's first ``import pygame`` and
    prints the greeting then, unless the program hid it the usual way."""

    def __init__(self, module: types.ModuleType, greeting: str) -> None:
        self.module, self.greeting = module, greeting
        self.original_spec = module.__spec__

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


# --- running the program as __main__ --------------------------------------------------

def _fresh_main(path: str) -> types.ModuleType:
    main = types.ModuleType("__main__")    # attributes in the order CPython sets them
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    main.__annotations__ = {}
    main.__builtins__ = builtins
    main.__file__ = path
    main.__cached__ = None
    sys.modules["__main__"] = main
    return main


def _exit_after_keyboard_interrupt() -> None:
    """CPython kills itself with SIGINT after an uncaught KeyboardInterrupt."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


def run_program(entry: str, args: Sequence[str] = ()) -> None:
    """Execute ``entry`` like ``python entry args...`` does; does not return normally
    when the program fails (exit status 1, or SIGINT for KeyboardInterrupt)."""
    path = os.path.abspath(entry)
    with open(path, "rb") as source_file:
        source = source_file.read()
    sys.argv = [entry, *args]
    sys.path[0] = os.path.dirname(path)
    main = _fresh_main(path)
    try:
        code = compile(source, path, "exec", dont_inherit=True)
        exec(code, main.__dict__)
    except SystemExit:
        raise                                  # the interpreter reports it as usual
    except BaseException as exc:               # print as the interpreter would, minus our frame
        traceback = exc.__traceback__.tb_next if exc.__traceback__ else None
        if isinstance(exc, SyntaxError):       # raised by compile(): no program frames
            traceback = None
        # The default hook prints the exception's own __traceback__, not its argument.
        sys.excepthook(type(exc), exc.with_traceback(traceback), traceback)
        if isinstance(exc, KeyboardInterrupt):
            _exit_after_keyboard_interrupt()
        raise SystemExit(1)


# --- entry point -------------------------------------------------------------------------

def read_claim(fd: int) -> Dict[str, Any]:
    """One JSON line from the agent on ``fd``, which is then closed."""
    data = b""
    with os.fdopen(fd, "rb", buffering=0) as control:
        while not data.endswith(b"\n") and len(data) <= MAX_CONTROL_LINE:
            chunk = control.read(65536)
            if not chunk:
                break
            data += chunk
    try:
        claim = json.loads(data)
    except ValueError as exc:
        raise PreloadError(f"bad claim on fd {fd}: {exc}") from exc
    if not isinstance(claim, dict) or not isinstance(claim.get("entry"), str):
        raise PreloadError("a claim needs an 'entry'")
    return claim


def apply_claim(claim: Dict[str, Any]) -> None:
    os.chdir(claim.get("cwd") or os.getcwd())
    env = claim.get("env")
    if isinstance(env, dict):
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in env.items()})


def parse_arguments(argv: List[str]) -> Dict[str, Any]:
    if len(argv) >= 2 and argv[0] == "--run":
        return {"entry": argv[1], "argv": argv[2:]}
    if len(argv) == 4 and argv[0] == "--warm" and argv[2] == "--control-fd":
        return {"warm": [m for m in argv[1].split(",") if m], "fd": int(argv[3])}
    raise PreloadError("usage: preload.py --run ENTRY [ARGS...] | --warm MODULES --control-fd N")


def main(argv: List[str]) -> None:
    options = parse_arguments(argv)
    if "warm" in options:
        prewarm(options["warm"])
        claim = read_claim(options["fd"])
        apply_claim(claim)
    else:
        install_display_patches()
        claim = options
    run_program(claim["entry"], [str(a) for a in claim.get("argv") or ()])


if __name__ == "__main__":
    main(sys.argv[1:])

"""`auto` mode: pick pygame, turtle or python from what the program imports.

Follows the entry file and the project's own modules it imports (not the
standard library), without running anything.
"""
from __future__ import annotations

import ast
from typing import Dict, Iterable, Set, Tuple

# The Tk display is the `turtle` mode's: turtle draws with tkinter, and matplotlib's default
# backend there is TkAgg, so a plt.show() opens in the same display.
DISPLAY_MODULES = {"pygame": "pygame", "turtle": "turtle", "turtledemo": "turtle", "tkinter": "turtle",
                   "_tkinter": "turtle", "matplotlib": "turtle", "freegames": "turtle"}


def _imported_names(source: bytes) -> Set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.update(alias.name for alias in node.names)
            if node.module:
                names.add(node.module)
    return names


def _module_path(name: str, files: Dict[str, bytes]) -> str:
    base = name.replace(".", "/")
    for candidate in (base + ".py", base + "/__init__.py"):
        if candidate in files:
            return candidate
    return ""


def detect_mode(entry: str, files: Iterable[Tuple[str, bytes]]) -> str:
    project = dict(files)
    seen: Set[str] = set()
    queue = [entry]
    found: Set[str] = set()
    while queue:
        path = queue.pop()
        if path in seen or path not in project:
            continue
        seen.add(path)
        for name in _imported_names(project[path]):
            top = name.split(".")[0]
            if top in DISPLAY_MODULES and not _module_path(top, project):
                found.add(DISPLAY_MODULES[top])
            local = _module_path(name, project) or _module_path(top, project)
            if local:
                queue.append(local)
    if "pygame" in found:
        return "pygame"
    if "turtle" in found:
        return "turtle"
    return "python"

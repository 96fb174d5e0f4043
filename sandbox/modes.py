"""What a run can be, and how big its terminal may be: one list for the host and the agent.

Stdlib only and free of I/O, since the agent inside the sandbox (Python 3.10) imports it
as well as the control service; free of imports too, since the zygote imports it on its
way up (sandbox/launcher.py).
"""
from __future__ import annotations

MODES = ("python", "pygame", "turtle")
DISPLAY_MODES = ("pygame", "turtle")
AUTO = "auto"                                  # the IDE's "pick from the imports"

# Terminal size bounds: the proxy refuses what is outside them, the agent clamps to them.
MAX_COLS, MAX_ROWS = 1000, 500
DEFAULT_COLS, DEFAULT_ROWS = 80, 24

# The IDE's display pane, for the default size of a turtle window (the desktop's largest).
MIN_SCREEN, MAX_SCREEN = (160, 120), (1920, 1080)


def parse_screen(screen: object) -> tuple[int, int] | None:
    """The display pane ``{width, height}`` from untrusted JSON, within bounds; None when
    absent; ValueError when it is not two whole numbers."""
    if screen is None:
        return None
    width = screen.get("width") if isinstance(screen, dict) else None
    height = screen.get("height") if isinstance(screen, dict) else None
    if not isinstance(width, int) or isinstance(width, bool) or not isinstance(height, int) or isinstance(height, bool):
        raise ValueError("screen must be {width, height} of whole numbers")
    return (max(MIN_SCREEN[0], min(MAX_SCREEN[0], width)), max(MIN_SCREEN[1], min(MAX_SCREEN[1], height)))


def has_display(mode: str) -> bool:
    return mode in DISPLAY_MODES


def clamp(value: object, high: int, default: int) -> int:
    """A terminal dimension from untrusted JSON: an int in 1..high, else ``default``."""
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return max(1, min(high, value))

"""The one line a student reads when a run ends: plain words, no jargon."""
from __future__ import annotations

import signal
from typing import Callable, Dict, Optional, Tuple

from sandbox.limits import Limits

STOPPED_BY_US: Dict[Tuple[str, Optional[str]], Callable[[Limits], str]] = {
    # (reason, limit): what was too much, said the way a student would
    ("timeout", "idle"): lambda lim: f"Your program waited {_minutes(lim.idle_seconds)} with nothing happening",
    ("timeout", None): lambda lim: f"Your program ran for more than {_minutes(lim.wall_seconds)}",
    ("memory", None): lambda lim: f"Your program used too much memory (more than {_mib(lim.memory_bytes)})",
    ("output", None): lambda lim: f"Your program printed too much (more than {_mib(lim.output_bytes)})",
    ("failed", "processes"):
        lambda lim: f"Your program started too many processes or threads (more than {lim.processes})",
    ("failed", "open_files"): lambda lim: f"Your program opened too many files at once (more than {lim.open_files})",
    ("failed", "file_size"): lambda lim: f"Your program tried to write a file bigger than {_mib(lim.file_bytes)}",
    ("failed", "disk"): lambda lim: f"Your program's files got too big (more than {_mib(lim.workspace_bytes)})",
}


def _minutes(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} seconds"
    return f"{int(seconds // 60)} minutes"


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"


def exit_text(reason: str, code: int, limit: Optional[str], signal_number: Optional[int], limits: Limits) -> str:
    if reason == "stopped":
        return "Stopped."
    what = STOPPED_BY_US.get((reason, limit)) or STOPPED_BY_US.get((reason, None))
    if what is not None:
        return what(limits) + ", so it was stopped."
    if reason == "failed":
        return "Something went wrong running your program. Press Run to try again."
    if signal_number == signal.SIGINT:
        return "Your program was interrupted (Ctrl-C)."
    if signal_number:
        return f"Your program was ended by signal {signal_number}."
    if code == 0:
        return "Your program finished."
    return f"Your program stopped with an error (exit code {code})."

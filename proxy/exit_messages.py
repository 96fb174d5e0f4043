"""The one line a student reads when a run ends: plain words, no jargon."""
from __future__ import annotations

import signal
from typing import Optional

from sandbox.limits import Limits


def _minutes(seconds: float) -> str:
    if seconds < 120:
        return f"{int(seconds)} seconds"
    return f"{int(seconds // 60)} minutes"


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"


def exit_text(reason: str, code: int, limit: Optional[str], signal_number: Optional[int], limits: Limits) -> str:
    if reason == "stopped":
        return "Stopped."
    if reason == "timeout" and limit == "idle":
        return f"Your program waited {_minutes(limits.idle_seconds)} with nothing happening, so it was stopped."
    if reason == "timeout":
        return f"Your program ran for more than {_minutes(limits.wall_seconds)}, so it was stopped."
    if reason == "memory":
        return f"Your program used too much memory (more than {_mib(limits.memory_bytes)}), so it was stopped."
    if reason == "output":
        return f"Your program printed too much (more than {_mib(limits.output_bytes)}), so it was stopped."
    if reason == "failed":
        return _failed_text(limit, limits)
    if signal_number == signal.SIGINT:
        return "Your program was interrupted (Ctrl-C)."
    if signal_number:
        return f"Your program was ended by signal {signal_number}."
    if code == 0:
        return "Your program finished."
    return f"Your program stopped with an error (exit code {code})."


def _failed_text(limit: Optional[str], limits: Limits) -> str:
    if limit == "processes":
        return f"Your program started too many processes or threads (more than {limits.processes}), so it was stopped."
    if limit == "open_files":
        return f"Your program opened too many files at once (more than {limits.open_files}), so it was stopped."
    if limit == "file_size":
        return f"Your program tried to write a file bigger than {_mib(limits.file_bytes)}, so it was stopped."
    if limit == "disk":
        return f"Your program's files got too big (more than {_mib(limits.workspace_bytes)}), so it was stopped."
    return "Something went wrong running your program. Press Run to try again."

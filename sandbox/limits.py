"""Per-run limits: one dataclass, finite defaults, shared by host and agent.

The host validates uploads against these before a sandbox is claimed; the agent
receives them in the CLAIM frame and enforces them inside the sandbox.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Union

MiB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    wall_seconds: float = 900.0          # a lesson's worth of one run
    idle_seconds: float = 300.0          # no keystroke and no output for this long
    memory_bytes: int = 512 * MiB        # address space per process (RLIMIT_AS)
    processes: int = 64                  # processes + threads of the sandbox user
    open_files: int = 256
    workspace_bytes: int = 64 * MiB      # tmpfs size of /workspace and of /tmp each
    file_bytes: int = 64 * MiB           # largest single file (RLIMIT_FSIZE)
    upload_bytes: int = 8 * MiB          # decoded size of all files of one run
    upload_files: int = 200
    path_bytes: int = 255
    output_bytes: int = 64 * MiB         # total terminal output of one run
    output_rate: int = 1 * MiB           # bytes per second; faster printers are slowed down
    stop_grace_seconds: float = 1.0      # SIGINT/quit, then SIGTERM, then SIGKILL

    def to_wire(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_wire(cls, data: Dict[str, Any]) -> Limits:
        """The limits of a CLAIM; a field without a usable value keeps its default."""
        values: Dict[str, Any] = {}   # int or float, as the field is: no one static type
        for field in dataclasses.fields(cls):
            value = _positive(data.get(field.name), integral=isinstance(field.default, int))
            if value is not None:
                values[field.name] = value
        return cls(**values)


def _positive(value: object, integral: bool) -> Union[int, float, None]:
    """``value`` as a positive finite number of the field's type, or None.

    JSON has one number type, so an int limit may come as a float; the launcher's setrlimit
    takes ints only (a float raised TypeError there), so it is rounded down."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        number = int(value) if integral else float(value)
    except OverflowError:  # an int beyond what a float holds
        return None
    return number if number > 0 else None

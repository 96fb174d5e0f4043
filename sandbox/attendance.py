"""When an unclaimed sandbox is an orphan: nobody has held a connection to it for a while.

The host that asked for a sandbox keeps one connection open until it claims it; when that
host dies, the sandbox should end by itself.  Health checks connect too: under Nomad,
Consul's TCP check connects every second and closes at once without sending a byte.
Counting those as "somebody is there" kept every orphan alive for ever, so a connection
counts only if it sent a frame or stayed open ``probe_seconds``.  I/O-free.
"""
from __future__ import annotations

from typing import Optional

ORPHAN_SECONDS = 30.0
PROBE_SECONDS = 2.0


class Attendance:
    def __init__(self, now: float, *, orphan_seconds: Optional[float] = None,
                 probe_seconds: Optional[float] = None) -> None:
        self.open = 0
        self.last_seen = now          # the last time a real (non-probe) connection ended
        self.orphan_seconds = ORPHAN_SECONDS if orphan_seconds is None else orphan_seconds
        self.probe_seconds = PROBE_SECONDS if probe_seconds is None else probe_seconds

    def opened(self) -> None:
        self.open += 1

    def closed(self, now: float, opened_at: float, spoke: bool) -> None:
        self.open -= 1
        if spoke or now - opened_at >= self.probe_seconds:
            self.last_seen = now

    def orphaned(self, now: float, claimed: bool) -> bool:
        return not claimed and not self.open and now - self.last_seen > self.orphan_seconds

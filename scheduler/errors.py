"""The scheduler's exceptions: one tree, no protocol codes and no sentences for students.

What a student is told for each is decided at the edge, in proxy/errors.py.
"""
from __future__ import annotations

from typing import Any, Dict, Optional


class SchedulerError(Exception):
    """Base of everything the scheduler layer raises."""


class Busy(SchedulerError):
    """Every sandbox is in use and the admission line is full, or no room came in time."""


class Unavailable(SchedulerError):
    """No sandbox could be made in time (or the scheduler is shutting down)."""


class SandboxFailed(SchedulerError):
    """A sandbox died or never became ready."""


class AgentGone(SandboxFailed):
    """The connection to a sandbox's agent ended (the sandbox exited, died or broke the framing)."""


class ClaimRefused(SandboxFailed):
    """The agent would not start the program; ``result`` is its EXIT, when it sent one."""

    def __init__(self, message: str, result: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.result: Dict[str, Any] = result or {}


class ClusterAPIError(SchedulerError):
    """Nomad or Consul answered with an error, or not at all.

    ``transient`` is true when no answer arrived (connection refused, reset, timed out):
    the request may or may not have taken effect, so only idempotent retries are safe.
    """

    def __init__(self, message: str, *, status: Optional[int] = None, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


class ConsulError(ClusterAPIError):
    """Consul answered with an error, or not at all."""

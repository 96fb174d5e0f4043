"""The sandbox's exceptions: one tree.  The agent turns them into an EXIT with a reason, or
ends the sandbox; none of them crosses to the host as an exception.

Stdlib only: the agent (Python 3.10, inside gVisor) imports it, and so may the host.
"""
from __future__ import annotations


class SandboxError(Exception):
    """Base of everything the sandbox's own code raises."""


class WireError(SandboxError):
    """The peer broke the framing; the connection cannot be trusted any more."""


class WorkspaceError(SandboxError):
    """A file of the claim cannot be written; the message is shown to the student."""


class DisplayError(SandboxError):
    """Base of every display failure."""


class XvncFailed(DisplayError):
    """Xvnc is missing, exited, or did not become ready in time."""


class XlibFailed(DisplayError):
    """libX11/libXrandr is missing, or the X server refused a request."""


class SoundFailed(DisplayError):
    """The sound server, libpulse or libopus is missing or failed: the run goes on silent."""


class ZygoteGone(SandboxError, OSError):
    """The zygote exited or broke its protocol: no more launchers from this sandbox."""

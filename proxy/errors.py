"""The proxy's exceptions, and the one place any error becomes what a student is told.

Below the session, layers raise their own exceptions (scheduler/errors.py, these); the
session is the edge, and ``public_error`` turns whatever reached it into a protocol v1
error code and a sentence a student can act on.
"""
from __future__ import annotations

from typing import Tuple

from scheduler import errors as scheduler_errors

ERROR_CODES = ("bad_request", "too_large", "busy", "unavailable", "gone", "internal")


class ProxyError(Exception):
    """Base of everything the proxy raises."""


class ProtocolError(ProxyError):
    """A client message that cannot be accepted; ``code`` is one of ERROR_CODES."""

    def __init__(self, code: str, message: str) -> None:
        assert code in ERROR_CODES
        super().__init__(message)
        self.code = code
        self.message = message


class TokenError(ProxyError):
    """A session token is missing, malformed, forged or expired."""


class PeerGone(ProxyError):
    """The replica that owns a run cannot be reached: it died, or never was."""


GONE_SENTENCE = "That run is over or cannot be resumed; press Run to start again."


# Most specific first: the first class the error is an instance of decides.
_SCHEDULER_ANSWERS: Tuple[Tuple[type, str, str], ...] = (
    (scheduler_errors.Busy, "busy", "The server is busy right now. Please wait a moment and press Run again."),
    (scheduler_errors.Unavailable, "unavailable",
     "No sandbox could be started right now. Please try again in a moment."),
    (scheduler_errors.ClaimRefused, "bad_request", "The program could not be started: {detail}"),
    (scheduler_errors.SchedulerError, "internal",
     "Something went wrong on our side while starting your program. Please try again."),
)


def public_error(error: Exception) -> Tuple[str, str]:
    """The protocol code and the sentence for an error that reached the session."""
    if isinstance(error, ProtocolError):
        return error.code, error.message
    if isinstance(error, PeerGone):
        return "gone", GONE_SENTENCE
    for kind, code, sentence in _SCHEDULER_ANSWERS:
        if isinstance(error, kind):
            return code, sentence.format(detail=error)
    return "internal", _SCHEDULER_ANSWERS[-1][2]

"""Waiting for a condition with a deadline, instead of sleeping and hoping.

``until`` (async) and ``until_sync`` poll a condition: check, and if it does not hold yet
pause briefly and check again, until it holds (its value is returned) or the deadline
passes (``WaitTimeout``, an AssertionError, names what was awaited).  The pause is only
the polling interval: the wait ends as soon as the condition holds.  Use them where the
event that matters has no notification of its own (a metric, a process list, ``runsc
list``); where it does (a message, a line of output, an RFB update), wait for that.

    await until(lambda: not service.runsc_ids(), 30, "the sandbox to be deleted")
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable, Generic, TypeVar, Union

T = TypeVar("T")
What = Union[str, Callable[[], str]]

INTERVAL = 0.05


class WaitTimeout(AssertionError):
    """The condition did not hold by the deadline."""


def _message(timeout: float, what: What) -> str:
    return f"timed out after {timeout:g} s waiting for {what() if callable(what) else what}"


class _Looks(Generic[T]):
    """One condition looked at until it holds, against one deadline."""

    def __init__(self, condition: Callable[[], T], timeout: float, what: What) -> None:
        self._condition, self._timeout, self._what = condition, timeout, what
        self._deadline = time.monotonic() + timeout
        self.value: T

    def found(self) -> bool:
        self.value = self._condition()
        if self.value:
            return True
        if time.monotonic() >= self._deadline:
            raise WaitTimeout(_message(self._timeout, self._what))
        return False


async def until(condition: Callable[[], T], timeout: float = 5.0, what: What = "the condition",
                interval: float = INTERVAL) -> T:
    """Wait until ``condition()`` is truthy and return its value; ``WaitTimeout`` at the
    deadline.  ``what`` (or, called at the deadline, ``what()``) says what never happened.
    An exception raised by ``condition`` ends the wait at once."""
    looks = _Looks(condition, timeout, what)
    while not looks.found():
        await asyncio.sleep(interval)
    return looks.value


def until_sync(condition: Callable[[], T], timeout: float = 5.0, what: What = "the condition",
               interval: float = INTERVAL) -> T:
    """``until`` for code without an event loop (fixtures, threads, ``Service.start``)."""
    looks = _Looks(condition, timeout, what)
    while not looks.found():
        time.sleep(interval)
    return looks.value

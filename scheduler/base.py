"""The scheduler interface: what LocalScheduler and NomadScheduler both provide.

A scheduler hands out *claimed-ready* sandboxes: the agent inside is up, has said
HELLO over an open AgentLink, and has not yet been claimed.  One session owns it from
then on (proxy/lease.py): its agent resets it in place between the session's runs, and
the session calls ``release`` exactly once when it is done with it; the sandbox is then
destroyed.  A sandbox never passes from one session to another.
"""
from __future__ import annotations

import abc
import asyncio
import dataclasses
from typing import Callable, Dict, Optional, Tuple

from scheduler.agent_link import AgentLink


# Told while a session waits for a sandbox: ("queued", position in line) or ("starting", 0)
# when a fresh sandbox boots for it because the pool had none.
WaitNotice = Callable[[str, int], None]


class SchedulerError(Exception):
    """Base of the scheduler's exceptions.  ``code`` is the protocol v1 error code."""

    code = "internal"
    public_message = "Something went wrong on our side while starting your program. Please try again."


class Busy(SchedulerError):
    code = "busy"
    public_message = "The server is busy right now. Please wait a moment and press Run again."


class Unavailable(SchedulerError):
    code = "unavailable"
    public_message = "No sandbox could be started right now. Please try again in a moment."


class SandboxFailed(SchedulerError):
    """A sandbox died or never became ready."""


@dataclasses.dataclass
class Sandbox:
    """One claimed-ready sandbox, as handed to the proxy."""

    id: str
    mode: str
    link: AgentLink
    created_at: float
    ready_at: float
    # Where the display lives, if the mode has one: ("unix", path) or ("tcp", "host:port").
    vnc_endpoint: Optional[Tuple[str, str]] = None
    warm: bool = False

    async def open_vnc(self) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.vnc_endpoint is None:
            raise SandboxFailed(f"sandbox {self.id} has no display")
        return await open_endpoint(self.vnc_endpoint)


async def open_endpoint(endpoint: Tuple[str, str]) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    kind, address = endpoint
    if kind == "unix":
        return await asyncio.open_unix_connection(address)
    host, _, port = address.rpartition(":")
    return await asyncio.open_connection(host.strip("[]"), int(port))


class Scheduler(abc.ABC):
    """Hands out fresh sandboxes to sessions; keeps warm pools; cleans up on every path."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Prepare (state dirs, orphan clean-up) and begin filling warm pools."""

    @abc.abstractmethod
    async def acquire(self, mode: str, waiting: Optional[WaitNotice] = None) -> Sandbox:
        """A ready, unclaimed sandbox for ``mode``: warm if one is pooled, else cold.

        At capacity the caller waits in a bounded line (``waiting`` hears where it is);
        raises Busy when the line is full or no room came in time, Unavailable when none
        can be made in time.
        """

    @abc.abstractmethod
    async def release(self, sandbox: Sandbox) -> None:
        """Destroy the sandbox and everything it left on the host.  Idempotent."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Destroy every sandbox, pooled or in use.  Called on shutdown."""

    @abc.abstractmethod
    def stats(self) -> Dict[str, float]:
        """Gauges and counters for /metrics and /readyz (names without prefix)."""

    def ready_problem(self) -> Optional[str]:
        """Why a run cannot be taken now, or None."""
        return None

"""What the proxy may know of the scheduler layer: the interfaces, nothing else.

A scheduler hands out *claimed-ready* sandboxes: the agent inside is up, has said HELLO,
and has not yet been claimed.  One session owns it from then on (proxy/lease.py): its
agent resets it in place between the session's runs, and the session calls ``release``
exactly once when it is done with it; the sandbox is then destroyed.  A sandbox never
passes from one session to another.

The proxy talks to the agent only through ``AgentClient``: claim, events, stdin, resize,
stop, reset.  How the bytes travel (sandbox/wire.py over a unix socket or TCP) is the
implementation's business (scheduler/agent_client.py), and tests script it in memory.
"""
from __future__ import annotations

import abc
import asyncio
import dataclasses
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Optional, Tuple, Union

from sandbox.limits import Limits
from scheduler.errors import SandboxFailed

# Told while a session waits for a sandbox: ("queued", position in line) or ("starting", 0)
# when a fresh sandbox boots for it because the pool had none.
WaitNotice = Callable[[str, int], None]
Streams = Tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclasses.dataclass(frozen=True)
class Claim:
    """One run's program, as the agent takes it."""

    entry: str
    files: Tuple[Tuple[str, bytes], ...]
    cols: int
    rows: int
    limits: Limits
    screen: Optional[Tuple[int, int]] = None   # the IDE's display pane: a turtle window's default size


# Events come one per chunk a program writes, many a second per run: slots keep them small.
@dataclasses.dataclass(frozen=True, slots=True)
class Output:
    """Bytes the program wrote to its terminal."""

    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class WindowResized:
    """The program resized its window (display modes)."""

    width: int
    height: int


@dataclasses.dataclass(frozen=True, slots=True)
class Exited:
    """The run is over: the agent's EXIT (``code``, ``reason``, ``limit``, ``signal``, ``reusable``)."""

    result: Dict[str, Any]


AgentEvent = Union[Output, WindowResized, Exited]


class AgentClient(abc.ABC):
    """The host's end of one sandbox's agent.

    Reading is pull-based: nothing is read from the agent until ``next_event`` is awaited,
    so a slow browser makes the agent stop reading the program's terminal, which blocks the
    student's print().  That is the end-to-end flow control.
    """

    hello: Dict[str, Any]

    @property
    @abc.abstractmethod
    def closed(self) -> bool:
        """The connection has ended; the sandbox cannot serve another run."""

    @abc.abstractmethod
    async def claim(self, claim: Claim, timeout: float) -> Optional[Dict[str, Any]]:
        """Start the program: its display's ``{width, height}``, or None without one.

        Raises ClaimRefused (with the agent's EXIT) when the agent would not start it, and
        AgentGone when the agent did not answer within ``timeout`` or went away."""

    @abc.abstractmethod
    async def next_event(self) -> AgentEvent:
        """The run's next event; raises AgentGone when the connection ends."""

    async def events(self) -> AsyncIterator[AgentEvent]:
        """The run's events, up to and including its Exited."""
        while True:
            event = await self.next_event()
            yield event
            if isinstance(event, Exited):
                return

    @abc.abstractmethod
    async def stdin(self, data: bytes) -> None: ...

    @abc.abstractmethod
    async def resize(self, cols: int, rows: int) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def reset(self, timeout: float) -> bool:
        """After Exited: wait until the agent has reset its sandbox and may be claimed again."""

    @abc.abstractmethod
    def close(self) -> None: ...


@dataclasses.dataclass(eq=False)
class Sandbox:
    """One claimed-ready sandbox, as handed to the proxy."""

    id: str
    mode: str
    agent: AgentClient
    created_at: float
    ready_at: float
    # Opens a connection to the display's RFB server, for modes that have one.
    display: Optional[Callable[[], Awaitable[Streams]]] = None
    # Opens the run's sound (2-byte-length-framed Opus packets), for modes that have it.
    audio: Optional[Callable[[], Awaitable[Streams]]] = None
    warm: bool = False

    @property
    def can_reset(self) -> bool:
        return bool(self.agent.hello.get("reset"))

    async def open_display(self) -> Streams:
        if self.display is None:
            raise SandboxFailed(f"sandbox {self.id} has no display")
        return await self.display()

    async def open_audio(self) -> Streams:
        if self.audio is None:
            raise SandboxFailed(f"sandbox {self.id} has no sound")
        return await self.audio()


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

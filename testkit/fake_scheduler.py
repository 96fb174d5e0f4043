"""A fake scheduler whose sandboxes hold scripted agents, all in memory.

It stands in for real gVisor sandboxes (scheduler/local.py, scheduler/nomad/) so that
Session and Run (proxy/) can be tested fast and deterministically: the test decides when a
program prints, how it ends, whether its claim is refused, whether the sandbox's reset
succeeds and whether its connection dies, and reads back what the proxy sent the agent.
The tests against real runsc remain the end-to-end layer: this fake is only as good as its
likeness to the real agent (sandbox/agent.py behind scheduler/agent_client.py), and where
a behaviour is copied from there, the comment says so.

``ScriptedAgent`` is pull-based like the real client: an event the test scripts waits in
the agent until the relay asks for it with ``next_event``, so a test sees how far the proxy
has read (``pulled``, ``pending``) and can show that it stops reading while no client is
attached or while the client's socket is slow.

``FakeScheduler`` hands out a bounded number of sandboxes, lines up sessions past that
(telling them ``("queued", position)``, as scheduler/admission.py does) and counts every
acquire and release, so a test can end with ``problems() == []``: each sandbox handed out
was released exactly once, and no agent was used in a way the real one would refuse.
Its timers are the event loop's, so testkit.manual_clock controls them.
"""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
from typing import Any, Deque, Dict, List, Literal, Optional, Tuple, Union

from sandbox.agent import TRUSTED_LIMITS, UNTRUSTED_REASONS
from sandbox.modes import MODES, has_display
from scheduler.admission import AdmissionLine
from scheduler.errors import AgentGone, ClaimRefused, SchedulerError, Unavailable
from scheduler.interface import (
    AgentClient,
    AgentEvent,
    Claim,
    Exited,
    Output,
    Sandbox,
    Scheduler,
    WaitNotice,
    WindowResized,
)
from testkit.changes import Changes

SIGTERM = 15
FAKE_PYTHON = "3.10.12"
# After an EXIT: READY as soon as the proxy waits for it; READY only once the test calls
# say_ready() (or never: the proxy's reset timeout then decides); or the agent cannot
# vouch for the sandbox and its connection ends.
ResetOutcome = Literal["ready", "held", "gone"]


@dataclasses.dataclass(frozen=True)
class _ConnectionLost:
    """Scripted: the agent's connection ends here (after the events scripted before it)."""

    why: str


_Scripted = Union[Output, WindowResized, Exited, _ConnectionLost]
# The agent's side of one sandbox, as the host sees it through the wire protocol.
_READY, _RUNNING, _ENDED, _GONE = "ready", "running", "ended", "gone"


class ScriptedAgent(AgentClient):
    """A fake agent the test drives; it records what the proxy sent it, in order.

    States follow sandbox/agent.py: claimable after HELLO and after each READY; running
    from STARTED to EXIT; after EXIT (or a refused claim) it resets and says READY, or, when
    it cannot vouch for the sandbox, its connection ends.
    """

    def __init__(self, mode: str = "python", *, can_reset: bool = True, stop_exits: bool = True,
                 window: Tuple[int, int] = (640, 480)) -> None:
        self.hello: Dict[str, Any] = {"version": 1, "python": FAKE_PYTHON, "mode": mode, "pid": 1,
                                      "reset": can_reset}
        self.mode = mode
        # Like the real agent, a STOP ends the program (SIGTERM) and EXIT "stopped" follows;
        # a test that wants to decide when sets this False and scripts the exit itself.
        self.stop_exits = stop_exits
        self.window = window
        self.reset_outcome: ResetOutcome = "ready"
        self.received: List[Tuple[str, Any]] = []   # ("claim", Claim), ("stdin", b""), ("resize", (c, r)), ...
        self.violations: List[str] = []             # uses of the wire protocol the real agent would refuse
        self.pulled = 0                              # events handed to the proxy
        self.printed = b""                           # all output scripted, over all runs
        self.host_closed = False
        self._state = _READY
        self._script: Deque[_Scripted] = collections.deque()
        self._claim_answers: Deque[BaseException] = collections.deque()
        self._lost = False
        self._exit_scripted = False                  # this run's EXIT is in the script already
        self._pullers = 0
        self._ready_said = asyncio.Event()
        self.changes = Changes()

    # -- the test's side: what the program does --------------------------------------------------
    def output(self, data: Union[bytes, str]) -> None:
        """The program writes ``data`` to its terminal."""
        data = data.encode() if isinstance(data, str) else bytes(data)
        self.printed += data
        self._add(Output(data))

    def resize_window(self, width: int, height: int) -> None:
        """The program resizes its window (display modes)."""
        self._add(WindowResized(width, height))

    def exit(self, code: int = 0, reason: str = "exited", limit: Optional[str] = None,
             signal: Optional[int] = None, reusable: Optional[bool] = None) -> None:
        """The run ends with this EXIT; ``reusable`` defaults to what the real agent decides."""
        if reusable is None:
            reusable = reason not in UNTRUSTED_REASONS and limit in TRUSTED_LIMITS
        self._exit_scripted = True
        self._add(Exited({"code": code, "reason": reason, "limit": limit, "signal": signal,
                          "seconds": 0.0, "reusable": reusable}))

    def lose_connection(self, why: str = "agent closed the connection") -> None:
        """The sandbox dies: what was scripted before is still read, then AgentGone."""
        self._lost = True  # writes fail at once, as on a closed socket
        self._add(_ConnectionLost(why))

    def refuse_next_claim(self, detail: str) -> None:
        """The next claim gets EXIT instead of STARTED (files the agent could not write)."""
        self._claim_answers.append(ClaimRefused(detail, {"code": -1, "reason": "failed", "limit": None,
                                                         "detail": detail, "reusable": True}))

    def lose_connection_at_next_claim(self) -> None:
        self._claim_answers.append(AgentGone("agent closed the connection"))

    def say_ready(self) -> None:
        """READY, for a reset that was held."""
        self._ready_said.set()

    # -- the test's side: what it can see ------------------------------------------------------
    @property
    def pending(self) -> int:
        """Events scripted and not yet read by the proxy."""
        return len(self._script)

    @property
    def asking(self) -> bool:
        """The proxy waits in next_event and nothing is scripted: it has read everything."""
        return self._pullers > 0 and not self._script

    @property
    def running(self) -> bool:
        return self._state == _RUNNING

    @property
    def claims(self) -> List[Claim]:
        return [value for kind, value in self.received if kind == "claim"]

    @property
    def typed(self) -> bytes:
        return b"".join(value for kind, value in self.received if kind == "stdin")

    @property
    def resizes(self) -> List[Tuple[int, int]]:
        return [value for kind, value in self.received if kind == "resize"]

    @property
    def stops(self) -> int:
        return sum(1 for kind, _ in self.received if kind == "stop")

    async def until(self, condition: Any) -> None:
        """Until ``condition()`` holds; re-checked whenever the agent's state changes."""
        await self.changes.until(condition)

    # -- AgentClient: the proxy's side -----------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._state == _GONE or self._lost

    async def claim(self, claim: Claim, timeout: float) -> Optional[Dict[str, Any]]:
        self._record("claim", claim)
        self._check_open()
        await asyncio.sleep(0)  # a real claim waits for the agent's answer: others run meanwhile
        if self._state != _READY:
            # sandbox/agent.py: "a claim came before READY; ending the sandbox"
            self._violation(f"CLAIM while {self._state}: the real agent ends the sandbox")
            self._end_connection()
            raise AgentGone("agent closed the connection")
        answer = self._claim_answers.popleft() if self._claim_answers else None
        if isinstance(answer, ClaimRefused):
            self._state = _ENDED  # the agent resets after a refused claim, then says READY
            raise answer
        if answer is not None:
            self._end_connection()
            raise answer
        self._state = _RUNNING
        self._exit_scripted = any(isinstance(event, Exited) for event in self._script)
        self.changes.fire()
        if has_display(self.mode):
            return {"width": self.window[0], "height": self.window[1]}
        return None

    async def next_event(self) -> AgentEvent:
        if self._state == _ENDED:
            # The real client would read on and swallow the READY that the reset waits for.
            self._violation("next_event after EXIT")
        self._pullers += 1
        self.changes.fire()
        try:
            await self.changes.until(lambda: bool(self._script) or self._state == _GONE)
        finally:
            self._pullers -= 1
        if self.host_closed or not self._script:
            raise AgentGone("agent connection is closed")
        event = self._script.popleft()
        self.pulled += 1
        self.changes.fire()
        if isinstance(event, _ConnectionLost):
            self._end_connection()
            raise AgentGone(event.why)
        if isinstance(event, Exited):
            self._state = _ENDED
        return event

    async def stdin(self, data: bytes) -> None:
        self._record("stdin", data)
        self._check_open()

    async def resize(self, cols: int, rows: int) -> None:
        self._record("resize", (cols, rows))
        self._check_open()

    async def stop(self) -> None:
        self._record("stop", None)
        self._check_open()
        if self.stop_exits and self._state == _RUNNING and not self._exit_scripted:
            self.exit(code=128 + SIGTERM, reason="stopped", signal=SIGTERM)

    async def reset(self, timeout: float) -> bool:
        self._record("reset", None)
        self._check_open()
        if self._state != _ENDED:
            self._violation(f"reset while {self._state}: READY only follows an EXIT")
        if self.reset_outcome == "gone":
            self._end_connection()
            raise AgentGone("agent closed the connection")  # it could not vouch for the sandbox
        if self.reset_outcome == "held":
            try:
                await asyncio.wait_for(self._ready_said.wait(), timeout)
            except asyncio.TimeoutError:
                raise AgentGone(f"the agent was not ready again within {timeout:g}s") from None
            self._ready_said.clear()
        self._state = _READY
        self.changes.fire()
        return True

    def close(self) -> None:
        self._record("close", None)
        self.host_closed = True
        self._end_connection()

    # -- inside ----------------------------------------------------------------------------------
    def _add(self, item: _Scripted) -> None:
        self._script.append(item)
        self.changes.fire()

    def _record(self, kind: str, value: Any) -> None:
        self.received.append((kind, value))
        self.changes.fire()

    def _check_open(self) -> None:
        if self.closed:
            raise AgentGone("agent connection is closed")

    def _end_connection(self) -> None:
        self._state = _GONE
        self.changes.fire()

    def _violation(self, what: str) -> None:
        self.violations.append(what)


@dataclasses.dataclass(eq=False)
class FakeScheduler(Scheduler):
    """Hands out up to ``capacity`` sandboxes with scripted agents; the rest wait in line.

    Past ``queue_limit`` waiters, or after ``acquire_seconds`` (loop time) in line, acquire
    raises Busy, as the real schedulers do; ``fail_next_acquire`` makes it raise anything.
    With ``cold`` every sandbox is "booted" for its session, which is told ``("starting", 0)``.
    """

    def __init__(self, capacity: int = 8, queue_limit: int = 8, acquire_seconds: float = 30.0,
                 cold: bool = False) -> None:
        self.capacity = capacity
        self._queue_limit, self._acquire_seconds = queue_limit, acquire_seconds
        self.cold = cold
        self.sandboxes: List[Sandbox] = []   # every sandbox handed out, in order
        self.released: List[Sandbox] = []    # every release call, in order
        self.agent_options: Dict[str, Any] = {}  # ScriptedAgent keywords for the next sandboxes
        self.started = False
        self._closed = False
        self._live: Dict[str, Sandbox] = {}
        self._line = AdmissionLine(queue_limit, acquire_seconds)   # the real one, scheduler/admission.py
        self._failures: Deque[SchedulerError] = collections.deque()
        self._ids = itertools.count(1)
        self.changes = Changes()

    # -- the test's side -------------------------------------------------------------------------
    @property
    def queue_limit(self) -> int:
        return self._queue_limit

    @queue_limit.setter
    def queue_limit(self, limit: int) -> None:
        self._queue_limit = limit
        self._new_line()

    @property
    def acquire_seconds(self) -> float:
        return self._acquire_seconds

    @acquire_seconds.setter
    def acquire_seconds(self, seconds: float) -> None:
        self._acquire_seconds = seconds
        self._new_line()

    def _new_line(self) -> None:
        assert not len(self._line), "change the line's settings before anyone waits in it"
        self._line = AdmissionLine(self._queue_limit, self._acquire_seconds)

    def fail_next_acquire(self, error: SchedulerError) -> None:
        self._failures.append(error)

    def agent(self, index: int = -1) -> ScriptedAgent:
        """The agent of the ``index``-th sandbox handed out (the latest by default)."""
        agent = self.sandboxes[index].agent
        assert isinstance(agent, ScriptedAgent)
        return agent

    @property
    def live(self) -> List[Sandbox]:
        """Handed out and not yet released."""
        return list(self._live.values())

    @property
    def in_line(self) -> int:
        """Sessions waiting for room."""
        return len(self._line)

    async def until(self, condition: Any) -> None:
        await self.changes.until(condition)

    def problems(self) -> List[str]:
        """Leaks, double releases and agent misuse; empty when everything was handed back."""
        found: List[str] = []
        for sandbox in self.sandboxes:
            times = sum(1 for released in self.released if released is sandbox)
            if times != 1:
                found.append(f"{sandbox.id} ({sandbox.mode}) was released {times} times, not once")
            agent = sandbox.agent
            if isinstance(agent, ScriptedAgent):
                found.extend(f"{sandbox.id}: {violation}" for violation in agent.violations)
        for sandbox in self.released:
            if sandbox not in self.sandboxes:
                found.append(f"{sandbox.id} was released but never handed out")
        return found

    # -- Scheduler -------------------------------------------------------------------------------
    async def start(self) -> None:
        self.started = True

    async def acquire(self, mode: str, waiting: Optional[WaitNotice] = None) -> Sandbox:
        if mode not in MODES:
            raise SchedulerError(f"unknown mode {mode!r}")
        if self._closed:
            raise Unavailable("the scheduler is shutting down")
        if self._failures:
            raise self._failures.popleft()
        await self._line.wait_for_room(lambda: self._closed or self._has_room(), waiting)
        if self._closed:
            raise Unavailable("the scheduler is shutting down")
        if self.cold and waiting is not None:
            waiting("starting", 0)
        return self._hand_out(mode)

    async def release(self, sandbox: Sandbox) -> None:
        self.released.append(sandbox)
        sandbox.agent.close()
        self._live.pop(sandbox.id, None)
        self._line.room_changed()
        self.changes.fire()

    async def close(self) -> None:
        self._closed = True
        self._line.room_changed()   # whoever waits leaves the line, to hear Unavailable
        self.changes.fire()
        for sandbox in self.live:
            await self.release(sandbox)

    def stats(self) -> Dict[str, float]:
        return {"sandboxes_live": len(self._live), "admission_waiting": len(self._line),
                "acquired": len(self.sandboxes), "released": len(self.released)}

    def ready_problem(self) -> Optional[str]:
        if self._closed:
            return "shutting down"
        if not self._has_room():
            return f"at capacity: {len(self._live)} sandboxes live"
        return None

    # -- inside ----------------------------------------------------------------------------------
    def _has_room(self) -> bool:
        return len(self._live) < self.capacity

    def _hand_out(self, mode: str) -> Sandbox:
        now = asyncio.get_running_loop().time()
        sandbox = Sandbox(id=f"fake-{next(self._ids)}", mode=mode, agent=ScriptedAgent(mode, **self.agent_options),
                          created_at=now, ready_at=now, warm=not self.cold)
        self.sandboxes.append(sandbox)
        self._live[sandbox.id] = sandbox
        self.changes.fire()
        return sandbox

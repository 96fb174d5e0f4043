"""Sessions over fake sockets, on a fake scheduler, under a manual clock: no gVisor, no sleeps.

Each IDE tab is a ``Tab``: a FakeSocket (the browser's end) and the Session serving it, as
app/server.py wires them for a real WebSocket.  ``Harness.shut_down`` ends every tab the way
a browser would, lets runs nobody resumed reach the end of their grace period, and waits
until every sandbox is back, so each test also shows that nothing leaks.
"""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Dict, List, Tuple

from common.config import Config
from proxy.registry import RunRegistry
from proxy.run import Run
from proxy.session import Services, Session
from testkit.fake_scheduler import FakeScheduler, ScriptedAgent
from testkit.fake_socket import FakeSocket, SocketBroken
from testkit.manual_clock import ManualClock

GRACE = 60.0
TEST_CONFIG: Dict[str, Any] = {
    "pool_sizes": (), "resume_grace_seconds": GRACE, "sandbox_idle_seconds": 1200.0,
    "reset_seconds": 20.0, "max_message_bytes": 64 * 1024,
}


def program(code: str = "print('hello')", path: str = "main.py") -> Dict[str, Any]:
    """A ``run`` message's fields for a one-file program."""
    return {"files": [{"path": path, "text": code}], "entry": path}


@dataclasses.dataclass
class Tab:
    """One IDE tab: the browser's socket and the session serving it."""

    socket: FakeSocket
    session: Session
    serving: asyncio.Task[None]

    async def ended(self) -> None:
        """Until the session's serve() has returned (or raised, for a broken socket)."""
        try:
            await self.serving
        except SocketBroken:
            pass  # serve() lets a broken socket's error through, as it does for Sanic's


class Harness:
    def __init__(self, clock: ManualClock, scheduler: FakeScheduler) -> None:
        self.clock = clock
        self.scheduler = scheduler
        self.services = Services(Config(**TEST_CONFIG), scheduler, RunRegistry(ticket_seconds=60.0))
        self.tabs: List[Tab] = []

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def counters(self) -> Dict[str, int]:
        return self.services.counters

    def configure(self, **overrides: Any) -> None:
        """Change the configuration; for tabs opened after."""
        self.services.config = dataclasses.replace(self.services.config, **overrides)

    def open_tab(self, name: str = "A", client: str = "pupil") -> Tab:
        socket = FakeSocket(name)
        session = Session(self.services, socket.receive, socket.send, client=client)
        tab = Tab(socket, session, asyncio.ensure_future(session.serve()))
        self.tabs.append(tab)
        return tab

    def run(self, run_id: str) -> Run:
        run = self.services.registry.get(run_id)
        assert run is not None, f"no run {run_id} in the registry"
        return run

    async def start_run(self, tab: Tab, code: str = "print('hello')", **fields: Any) -> Tuple[dict, ScriptedAgent]:
        """Press Run in ``tab``: its ``started`` message and the agent the run is on."""
        tab.socket.send_json(type="run", **{**program(code), **fields})
        started = await tab.socket.expect("started")
        agent = self.run(started["run"]).sandbox.agent
        assert isinstance(agent, ScriptedAgent)
        return started, agent

    async def shut_down(self) -> None:
        """Every browser closes its tab; then time passes until everything has ended."""
        for tab in self.tabs:
            if not tab.serving.done():
                tab.socket.close()
        # A run nobody resumed is stopped at the end of its grace period and hands its
        # sandbox back; that may let a session waiting in line take one and start its run,
        # which is then abandoned in turn.  So: one grace period per tab, at most.
        for _ in range(len(self.tabs) + 1):
            await self.clock.advance(self.config.resume_grace_seconds + 1)
            if all(tab.serving.done() for tab in self.tabs) and self._runs_finished():
                break
        for tab in self.tabs:
            await tab.ended()
        for run in self.services.registry.all():
            await run.finished.wait()
        await self.scheduler.until(lambda: not self.scheduler.live)

    def _runs_finished(self) -> bool:
        return all(run.finished.is_set() for run in self.services.registry.all())

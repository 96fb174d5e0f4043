"""The sandbox agent's orphan watchdog under Nomad (issue 16, item 7).

Under Nomad an unclaimed sandbox whose control service died must end by itself, yet
Consul's TCP check connects to it every second.  The real agent is driven here natively
on 127.0.0.1 (no program is ever started: nothing claims it).
"""
from __future__ import annotations

import asyncio
import time

from sandbox.attendance import Attendance


async def test_an_orphaned_agent_ends_although_consul_checks_it_every_second(monkeypatch):
    """The real agent's watchdog, with the check's connect-and-close every 0.1 s (Consul's
    TCP check, sped up): an unclaimed agent nobody holds ends after ORPHAN_SECONDS."""
    import sandbox.agent as agent_module
    import sandbox.attendance as attendance

    monkeypatch.setattr(attendance, "ORPHAN_SECONDS", 1.0)
    monkeypatch.setattr(agent_module, "ORPHAN_SECONDS", 1.0, raising=False)   # the watchdog before the fix
    agent = agent_module.Agent("python", "/nonexistent", 1000, {})
    server = await asyncio.start_server(agent.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()

    async def consul_check() -> None:
        while not stop.is_set():
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await asyncio.sleep(0.1)

    checking = asyncio.ensure_future(consul_check())
    agent.watch_for_orphaning()
    started = time.monotonic()
    try:
        await asyncio.wait_for(agent.done.wait(), 6)
    finally:
        stop.set()
        await checking
        server.close()
        await server.wait_closed()
    assert time.monotonic() - started >= 1.0


def test_a_held_connection_or_one_that_spoke_counts_a_probe_does_not():
    attendance = Attendance(0.0, orphan_seconds=30, probe_seconds=2)
    for second in range(1, 40):          # Consul's check: connect, close, every second
        attendance.opened()
        attendance.closed(second + 0.01, second, spoke=False)
    assert attendance.orphaned(40.0, claimed=False)
    attendance.opened()
    attendance.closed(41.0, 35.0, spoke=False)       # the pool's connection, held for 6 s
    assert not attendance.orphaned(60.0, claimed=False)
    assert attendance.orphaned(71.5, claimed=False)
    attendance.opened()
    assert not attendance.orphaned(200.0, claimed=False), "somebody holds a connection"
    attendance.closed(200.1, 200.0, spoke=True)
    assert not attendance.orphaned(220.0, claimed=False) and not attendance.orphaned(999, claimed=True)

"""Resume (protocol v1 "Resume"): a run outlives its socket for the grace period, and a new
socket picks it up from the byte it had, with nothing lost or sent twice.

The race of issue 10 is here: a socket drops silently, the student resumes on a new one, and
only then does the server notice that the old one is gone (its ping timeout), so the old
session's teardown runs after the resume and must take nothing from the new socket.
"""
from __future__ import annotations

from typing import Awaitable, Callable, Dict

import pytest

from testkit.fake_scheduler import ScriptedAgent
from testkit.manual_clock import settle
from tests.proxy.harness import GRACE, Harness, Tab

Drop = Callable[[Tab, ScriptedAgent], Awaitable[None]]


async def sends_fail(tab: Tab, agent: ScriptedAgent) -> None:
    """The server's writes to the dead socket fail; its receive still waits."""
    tab.socket.fail_sends()
    agent.output(b"[written as the socket died]\n")  # the relay finds out on this write
    await agent.until(lambda: agent.pending == 0)
    await settle()  # and lets the socket go
    assert tab.session.run is not None and not tab.session.run.attached


async def receive_hangs(tab: Tab, agent: ScriptedAgent) -> None:
    """Nothing tells the server: writes still succeed (into buffers nobody will read) and
    its receive waits, until a ping timeout much later."""
    agent.output(b"[sent, never seen]\n")
    await tab.socket.changes.until(lambda: tab.socket.output.endswith(b"[sent, never seen]\n"))
    await agent.until(lambda: agent.asking)  # the relay waits for the program's next words


SILENT_DROPS: Dict[str, Drop] = {"sends fail": sends_fail, "receive hangs": receive_hangs}


def resume(harness: Harness, started: dict, offset: int, name: str = "B") -> Tab:
    """A new tab that resumes the run from ``offset``."""
    tab = harness.open_tab(name)
    tab.socket.send_json(type="resume", run=started["run"], token=started["resume"], offset=offset)
    return tab


async def late_teardown(tab: Tab) -> None:
    """The server notices at last that the old socket is gone: its session's serve() ends."""
    tab.socket.break_connection()
    await tab.ended()


# -- the race of issue 10 ----------------------------------------------------------------------
@pytest.mark.parametrize("drop", SILENT_DROPS.values(), ids=SILENT_DROPS.keys())
async def test_the_old_sockets_late_teardown_takes_nothing_from_the_resumed_socket(
        harness: Harness, drop: Drop) -> None:
    a = harness.open_tab("A")
    started, agent = await harness.start_run(a)
    agent.output(b"one\n")
    await a.socket.expect_output(b"one\n")
    offset = len(a.socket.output)       # what the browser had when its network went
    await drop(a, agent)
    await harness.clock.advance(GRACE / 2)

    b = resume(harness, started, offset)
    await b.socket.expect("resumed", run=started["run"])
    frames_a = len(a.socket.frames)
    await late_teardown(a)              # after the resume
    assert harness.scheduler.released == [], "the old socket's teardown let the run's sandbox go"

    agent.output(b"three\n")
    await b.socket.expect_output(agent.printed[offset:])  # what it missed, then live
    await harness.clock.advance(GRACE + 1)  # past the grace period, counted from the drop or the teardown
    assert agent.stops == 0 and not harness.run(started["run"]).finished.is_set()
    agent.output(b"four\n")
    agent.exit(code=0)
    await b.socket.expect_output(b"four\n")
    await b.socket.expect("exit", reason="exited")

    assert b.socket.output == agent.printed[offset:]   # nothing lost, nothing twice
    assert len(a.socket.frames) == frames_a          # and nothing to the old socket
    # The resumed socket's session owns the sandbox now: its next run is on it.
    _, next_agent = await harness.start_run(b)
    assert next_agent is agent and len(harness.scheduler.sandboxes) == 1


@pytest.mark.parametrize("blocked", [0, 1], ids=["sending resumed", "sending the missed output"])
@pytest.mark.parametrize("drop", SILENT_DROPS.values(), ids=SILENT_DROPS.keys())
async def test_output_printed_while_the_resume_catches_up_is_not_lost(
        harness: Harness, drop: Drop, blocked: int) -> None:
    a = harness.open_tab("A")
    started, agent = await harness.start_run(a)
    agent.output(b"one\n")
    await a.socket.expect_output(b"one\n")
    await drop(a, agent)

    b = harness.open_tab("B")
    b.socket.hold_sends(after=blocked)  # the resume's first or second send takes a while
    b.socket.send_json(type="resume", run=started["run"], token=started["resume"], offset=0)
    await b.socket.until_send_blocked()
    agent.output(b"two\n")              # printed while the catch-up is being sent
    agent.output(b"three\n")
    await settle()
    # Meanwhile the program is held: the relay takes at most the one event it was already
    # waiting for when the resume came (when the old socket was still attached).
    assert agent.pending == (1 if drop is receive_hangs else 2)
    b.socket.release_sends()
    agent.exit()
    await b.socket.expect("resumed")
    await b.socket.expect_output(agent.printed)
    await b.socket.expect("exit", reason="exited")
    assert b.socket.unread() == []
    await late_teardown(a)


async def test_a_resume_while_the_old_socket_is_stuck_in_a_send_goes_on_live(harness: Harness) -> None:
    a = harness.open_tab("A")
    started, agent = await harness.start_run(a)
    a.socket.hold_sends()               # the old peer vanished with its buffers full
    agent.output(b"one\n")
    await a.socket.until_send_blocked()

    b = resume(harness, started, 0)
    await b.socket.expect("resumed")
    await b.socket.expect_output(b"one\n")
    agent.output(b"two\n")
    await b.socket.expect_output(b"two\n")  # not only once the old socket's send gives up
    agent.exit()
    await b.socket.expect("exit")
    await late_teardown(a)


# -- detached runs ---------------------------------------------------------------------------
async def closes(tab: Tab, agent: ScriptedAgent) -> None:
    tab.socket.close()
    await tab.ended()


async def breaks(tab: Tab, agent: ScriptedAgent) -> None:
    tab.socket.break_connection()
    await tab.ended()


DROPS: Dict[str, Drop] = {"closed": closes, "broken": breaks, "sends fail": sends_fail}


@pytest.mark.parametrize("drop", DROPS.values(), ids=DROPS.keys())
async def test_a_run_without_a_client_is_paused_then_stopped_after_the_grace_period(
        harness: Harness, drop: Drop) -> None:
    a = harness.open_tab("A")
    started, agent = await harness.start_run(a)
    run = harness.run(started["run"])
    await drop(a, agent)
    assert not run.attached
    agent.output(b"unread\n")
    await settle()
    assert agent.pending == 1, "the relay read the agent with nobody attached"

    await harness.clock.advance(GRACE - 1)
    assert agent.stops == 0 and not run.finished.is_set() and harness.scheduler.released == []
    await harness.clock.advance(2)
    await run.finished.wait()
    assert agent.stops == 1 and agent.pending == 0
    assert run.summary()["exit"]["reason"] == "stopped"   # what /v1/runs shows
    if not a.serving.done():  # a silent drop: the session ends once the server notices
        await late_teardown(a)
    await harness.scheduler.until(lambda: harness.scheduler.released == harness.scheduler.sandboxes)


async def test_a_resume_within_the_grace_period_keeps_the_run(harness: Harness) -> None:
    a = harness.open_tab("A")
    started, agent = await harness.start_run(a)
    await closes(a, agent)
    agent.output(b"while away\n")
    await harness.clock.advance(GRACE - 1)

    b = resume(harness, started, 0)
    await b.socket.expect("resumed")
    await b.socket.expect_output(b"while away\n")
    await harness.clock.advance(GRACE)
    b.socket.send_json(type="stdin", data="y\r")       # the resumed socket drives the run
    await agent.until(lambda: agent.typed == b"y\r")
    assert agent.stops == 0
    agent.exit()
    await b.socket.expect("exit", reason="exited")


# -- resuming an ended run -------------------------------------------------------------------
async def test_resume_after_the_run_ended_gets_the_missed_output_then_the_exit(harness: Harness) -> None:
    a = harness.open_tab("A")
    started, agent = await harness.start_run(a)
    agent.output(b"one\n")
    await a.socket.expect_output(b"one\n")
    # The network goes silently; the rest is written into a socket nobody reads.
    agent.output(b"two\n")
    agent.exit(code=3)
    await harness.run(started["run"]).finished.wait()

    b = resume(harness, started, offset=4)
    await b.socket.expect("resumed", run=started["run"])
    await b.socket.expect_output(b"two\n")
    await b.socket.expect("exit", code=3, reason="exited",
                          message="Your program stopped with an error (exit code 3).")
    await settle()
    assert b.socket.unread() == []
    await late_teardown(a)


async def test_resume_of_a_run_that_ended_while_nobody_was_attached(harness: Harness) -> None:
    a = harness.open_tab("A")
    started, agent = await harness.start_run(a)
    await closes(a, agent)
    agent.output(b"last words\n")
    agent.exit(code=0)                  # still in the sandbox: nobody has read it

    b = resume(harness, started, 0)
    await b.socket.expect("resumed")
    await b.socket.expect_output(b"last words\n")
    await b.socket.expect("exit", reason="exited")


async def test_a_finished_run_cannot_be_resumed_after_the_grace_period(harness: Harness) -> None:
    a = harness.open_tab("A")
    started, agent = await harness.start_run(a)
    agent.exit()
    await a.socket.expect("exit")
    await harness.clock.advance(GRACE + 1)

    b = resume(harness, started, 0)
    await b.socket.expect("error", code="gone")


@pytest.mark.parametrize("how", ["wrong token", "unknown run", "offset past the output", "offset no longer kept"])
async def test_a_resume_that_cannot_be_served_is_gone_and_harms_nothing(harness: Harness, how: str) -> None:
    harness.configure(replay_bytes=8)
    a = harness.open_tab("A")
    started, agent = await harness.start_run(a)
    agent.output(b"0123456789\n")
    await a.socket.expect_output(b"0123456789\n")
    request = {"run": started["run"], "token": started["resume"], "offset": 0 if how == "offset no longer kept" else 4}
    if how == "wrong token":
        request["token"] = started["resume"][::-1]
    elif how == "unknown run":
        request["run"] = "r-nosuchrun"
    elif how == "offset past the output":
        request["offset"] = 12

    b = harness.open_tab("B")
    b.socket.send_json(type="resume", **request)
    await b.socket.expect("error", code="gone",
                          message="That run is over or cannot be resumed; press Run to start again.")
    agent.output(b"still A's\n")         # the run is untouched: A still has it
    await a.socket.expect_output(b"still A's\n")
    assert agent.stops == 0


async def test_resuming_in_a_tab_with_its_own_sandbox_gives_that_one_back(harness: Harness) -> None:
    scheduler = harness.scheduler
    a = harness.open_tab("A")
    started, agent = await harness.start_run(a)
    b = harness.open_tab("B")
    b.socket.send_json(type="prepare", mode="python")
    await b.socket.expect("status", state="ready")
    await closes(a, agent)

    b.socket.send_json(type="resume", run=started["run"], token=started["resume"], offset=0)
    await b.socket.expect("resumed")
    await scheduler.until(lambda: scheduler.released == [scheduler.sandboxes[1]])  # B's own, unused
    agent.exit()
    await b.socket.expect("exit")
    b.socket.close()
    await b.ended()
    await scheduler.until(lambda: len(scheduler.released) == 2)


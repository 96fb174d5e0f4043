"""Session and Run through protocol v1, on scripted sandboxes (testkit/fake_scheduler.py).

Fast and deterministic: the agent prints, ends and fails when the test says, the clock
moves when the test says, and every test ends with every sandbox released exactly once
(tests/proxy/conftest.py).  The tests against real runsc remain the end-to-end layer;
these pin what the proxy itself does with each protocol message.
"""
from __future__ import annotations

import json

import pytest

from proxy.run import HOST_GRACE_SECONDS
from proxy.session import STOP_WAIT_SECONDS
from scheduler.errors import Busy, SchedulerError, Unavailable
from testkit.manual_clock import settle
from tests.proxy.harness import Harness, program


# -- one run ---------------------------------------------------------------------------------
async def test_a_run_streams_its_output_in_order_then_its_exit(harness: Harness) -> None:
    tab = harness.open_tab()
    started, agent = await harness.start_run(tab, "print('hello')", term={"cols": 100, "rows": 30})

    assert (started["mode"], started["python"], started["display"]) == ("python", "3.10.12", None)
    assert started["resume"] and harness.run(started["run"]).sandbox is harness.scheduler.sandboxes[0]
    [claim] = agent.claims
    assert (claim.entry, claim.files, claim.cols, claim.rows) == \
        ("main.py", (("main.py", b"print('hello')"),), 100, 30)
    for chunk in (b"hel", b"lo\n", b"\xe2\x82", b"\xac\n"):  # a chunk may split a character
        agent.output(chunk)
    agent.exit(code=0)
    await tab.socket.expect_output(b"hello\n\xe2\x82\xac\n")
    await tab.socket.expect("exit", run=started["run"], code=0, reason="exited",
                            message="Your program finished.")
    assert "limit" not in tab.socket.messages("exit")[0]


@pytest.mark.parametrize("how, told", [
    ({"code": 1}, {"code": 1, "reason": "exited",
                   "message": "Your program stopped with an error (exit code 1)."}),
    ({"code": 130, "signal": 2}, {"code": 130, "reason": "exited",
                                  "message": "Your program was interrupted (Ctrl-C)."}),
    ({"code": 137, "reason": "timeout", "limit": "wall"},
     {"code": 137, "reason": "timeout", "limit": "wall",
      "message": "Your program ran for more than 15 minutes, so it was stopped."}),
    ({"code": 137, "reason": "memory"},
     {"code": 137, "reason": "memory",
      "message": "Your program used too much memory (more than 512 MB), so it was stopped."}),
])
async def test_how_a_run_ended_is_told_in_plain_words(harness: Harness, how: dict, told: dict) -> None:
    tab = harness.open_tab()
    _, agent = await harness.start_run(tab)
    agent.exit(**how)
    exit_message = await tab.socket.expect("exit", **told)
    assert ("limit" in exit_message) == ("limit" in told)


async def test_auto_mode_picks_turtle_and_the_display_comes_with_a_ticket(harness: Harness) -> None:
    tab = harness.open_tab()
    started, agent = await harness.start_run(tab, "import turtle\nturtle.forward(10)\n")

    assert started["mode"] == "turtle" and harness.scheduler.sandboxes[0].mode == "turtle"
    display = started["display"]
    assert display["url"].startswith(f"/v1/runs/{started['run']}/vnc?ticket=")
    assert (display["width"], display["height"]) == (640, 480)
    ticket = display["url"].split("ticket=")[1]
    assert harness.services.registry.check_ticket(started["run"], ticket) is harness.run(started["run"])
    agent.resize_window(800, 600)
    await tab.socket.expect("display", run=started["run"], width=800, height=600)
    agent.exit()
    await tab.socket.expect("exit", reason="exited")


async def test_keys_resizes_and_stop_reach_the_program(harness: Harness) -> None:
    tab = harness.open_tab()
    started, agent = await harness.start_run(tab)

    tab.socket.send_json(type="stdin", data="4\r")
    tab.socket.send_json(type="stdin", data="\u0003é")
    tab.socket.send_json(type="resize", cols=120, rows=40)
    tab.socket.send_json(type="stop")
    await agent.until(lambda: agent.stops == 1)
    assert agent.typed == "4\r\u0003é".encode()
    assert agent.resizes == [(120, 40)]
    assert [kind for kind, _ in agent.received] == ["claim", "stdin", "stdin", "resize", "stop"]
    await tab.socket.expect("exit", run=started["run"], reason="stopped", code=143, message="Stopped.")


async def test_a_cold_start_is_announced_before_started(harness: Harness) -> None:
    harness.scheduler.cold = True
    tab = harness.open_tab()
    tab.socket.send_json(type="run", **program())
    await tab.socket.expect("status", state="starting", mode="python")
    await tab.socket.expect("started")


# -- the session's sandbox: reused, replaced, released ----------------------------------------
async def test_the_next_run_waits_for_ready_then_reuses_the_sandbox(harness: Harness) -> None:
    tab = harness.open_tab()
    _, agent = await harness.start_run(tab)
    agent.reset_outcome = "held"
    agent.exit()
    await tab.socket.expect("exit")

    tab.socket.send_json(type="run", **program("print(2)"))
    await agent.until(lambda: ("reset", None) in agent.received)
    await settle()
    assert len(agent.claims) == 1, "claimed again before the agent said READY"
    agent.say_ready()
    started, second_agent = await tab.socket.expect("started"), agent
    assert harness.run(started["run"]).sandbox.agent is second_agent
    assert len(harness.scheduler.sandboxes) == 1 and harness.scheduler.released == []
    assert [claim.files for claim in agent.claims][1] == (("main.py", b"print(2)"),)
    assert harness.counters["sandbox_runs_reused"] == 1


async def test_run_pressed_while_the_exit_is_on_its_way_still_waits_for_ready(harness: Harness) -> None:
    tab = harness.open_tab()
    first, agent = await harness.start_run(tab)
    agent.reset_outcome = "held"
    tab.socket.hold_sends()             # a slow link: the exit's send takes a while
    agent.exit()
    await tab.socket.until_send_blocked()
    tab.socket.send_json(type="run", **program("print(2)"))  # the student presses Run again
    await settle()
    assert len(agent.claims) == 1, "claimed again before the agent said READY"

    tab.socket.release_sends()
    await tab.socket.expect("exit", run=first["run"])
    agent.say_ready()
    await tab.socket.expect("started")
    assert len(agent.claims) == 2 and len(harness.scheduler.sandboxes) == 1


@pytest.mark.parametrize("ending", [
    {"reason": "memory", "code": 137},                       # the agent cannot vouch for it
    {"reason": "failed", "limit": "processes", "code": 1},
    {"reason": "exited", "code": 0, "reusable": False},
])
async def test_a_run_the_agent_cannot_vouch_for_gets_a_fresh_sandbox(harness: Harness, ending: dict) -> None:
    tab = harness.open_tab()
    _, first = await harness.start_run(tab)
    first.exit(**ending)
    await tab.socket.expect("exit")
    await harness.scheduler.until(lambda: harness.scheduler.released == harness.scheduler.sandboxes[:1])
    assert ("reset", None) not in first.received

    _, second = await harness.start_run(tab)
    assert second is not first and len(harness.scheduler.sandboxes) == 2
    assert harness.counters["sandbox_replaced"] == 1


async def test_a_sandbox_whose_agent_cannot_reset_serves_one_run(harness: Harness) -> None:
    harness.scheduler.agent_options = {"can_reset": False}   # its HELLO says no "reset"
    tab = harness.open_tab()
    _, first = await harness.start_run(tab)
    first.exit()
    await tab.socket.expect("exit")
    _, second = await harness.start_run(tab)
    assert second is not first and ("reset", None) not in first.received


async def test_a_sandbox_that_fails_its_reset_is_replaced(harness: Harness) -> None:
    tab = harness.open_tab()
    _, first = await harness.start_run(tab)
    first.reset_outcome = "gone"
    first.exit()
    await tab.socket.expect("exit")

    _, second = await harness.start_run(tab)
    assert second is not first and harness.scheduler.released[:1] == harness.scheduler.sandboxes[:1]
    assert harness.counters["sandbox_resets_failed"] == 1


async def test_a_reset_that_never_finishes_is_given_up_after_reset_seconds(harness: Harness) -> None:
    tab = harness.open_tab()
    _, first = await harness.start_run(tab)
    first.reset_outcome = "held"
    first.exit()
    await tab.socket.expect("exit")
    tab.socket.send_json(type="run", **program())
    await harness.clock.advance(harness.config.reset_seconds - 1)
    assert len(harness.scheduler.sandboxes) == 1 and tab.socket.unread() == []

    await harness.clock.advance(2)
    await tab.socket.expect("started")
    assert len(harness.scheduler.sandboxes) == 2 and harness.scheduler.released == harness.scheduler.sandboxes[:1]


async def test_prepare_readies_a_sandbox_and_a_mode_change_replaces_it(harness: Harness) -> None:
    scheduler = harness.scheduler
    tab = harness.open_tab()
    tab.socket.send_json(type="prepare", mode="auto")
    await tab.socket.expect("status", state="ready", mode="python")
    assert [sandbox.mode for sandbox in scheduler.sandboxes] == ["python"]

    _, python_agent = await harness.start_run(tab)  # the prepared sandbox, warm
    assert python_agent is scheduler.agent(0)
    python_agent.exit()
    await tab.socket.expect("exit")

    tab.socket.send_json(type="prepare", mode="pygame")
    await tab.socket.expect("status", state="ready", mode="pygame")
    assert [sandbox.mode for sandbox in scheduler.sandboxes] == ["python", "pygame"]
    assert scheduler.released == scheduler.sandboxes[:1]

    started, turtle_agent = await harness.start_run(tab, "print(1)", mode="turtle")
    assert started["mode"] == "turtle" and turtle_agent is scheduler.agent(2)
    await scheduler.until(lambda: scheduler.released == scheduler.sandboxes[:2])
    assert scheduler.agent(1).claims == []  # the pygame sandbox was never used
    assert harness.counters["sandbox_replaced"] == 2


async def test_prepare_during_a_run_leaves_the_run_alone(harness: Harness) -> None:
    tab = harness.open_tab()
    _, agent = await harness.start_run(tab)
    tab.socket.send_json(type="prepare", mode="pygame")
    tab.socket.send_json(type="stdin", data="x")  # handled after the prepare
    await agent.until(lambda: agent.typed == b"x")
    assert len(harness.scheduler.sandboxes) == 1 and agent.stops == 0 and tab.socket.unread() == []


async def test_run_during_a_run_stops_it_first(harness: Harness) -> None:
    tab = harness.open_tab()
    first, agent = await harness.start_run(tab)
    agent.output(b"spinning\n")
    await tab.socket.expect_output(b"spinning\n")

    tab.socket.send_json(type="run", **program("print(2)"))
    await tab.socket.expect("exit", run=first["run"], reason="stopped")
    second = await tab.socket.expect("started")
    assert second["run"] != first["run"] and agent.stops == 1
    assert len(agent.claims) == 2 and len(harness.scheduler.sandboxes) == 1


async def test_the_sandbox_is_released_when_the_session_ends(harness: Harness) -> None:
    tab = harness.open_tab()
    _, agent = await harness.start_run(tab)
    agent.exit()
    await tab.socket.expect("exit")
    await agent.until(lambda: agent.running is False and ("reset", None) in agent.received)
    assert harness.scheduler.released == []

    tab.socket.close()
    await tab.ended()
    await harness.scheduler.until(lambda: harness.scheduler.released == harness.scheduler.sandboxes)
    assert agent.host_closed


async def test_an_idle_session_gives_its_sandbox_back(harness: Harness) -> None:
    tab = harness.open_tab()
    _, agent = await harness.start_run(tab)
    agent.exit()
    await tab.socket.expect("exit")
    await harness.clock.advance(harness.config.sandbox_idle_seconds - 1)
    assert harness.scheduler.released == []
    await harness.clock.advance(2)
    assert harness.scheduler.released == harness.scheduler.sandboxes
    assert harness.counters["sandbox_idle_released"] == 1

    _, second = await harness.start_run(tab)  # the next Run takes a new one
    assert second is not agent


async def test_a_live_run_is_not_idle(harness: Harness) -> None:
    harness.configure(sandbox_idle_seconds=60.0)
    tab = harness.open_tab()
    _, agent = await harness.start_run(tab)
    await harness.clock.advance(61)
    agent.output(b"still here\n")
    await tab.socket.expect_output(b"still here\n")
    assert harness.scheduler.released == []


async def test_a_run_the_agent_never_ends_is_ended_by_the_host_after_the_wall_limit(harness: Harness) -> None:
    tab = harness.open_tab()
    started, agent = await harness.start_run(tab)
    backstop = harness.config.limits.wall_seconds + HOST_GRACE_SECONDS
    await harness.clock.advance(backstop - 1)
    assert tab.socket.unread() == []
    await harness.clock.advance(2)
    await tab.socket.expect("exit", run=started["run"], reason="timeout", limit="wall",
                            message="Your program ran for more than 15 minutes, so it was stopped.")
    # The agent never answered, so the sandbox cannot be trusted for another run.
    await harness.scheduler.until(lambda: harness.scheduler.released == harness.scheduler.sandboxes)


# -- capacity and failures -------------------------------------------------------------------
async def test_at_capacity_sessions_wait_in_line_and_run_in_turn(harness: Harness) -> None:
    harness.scheduler.capacity = 1
    first, second, third = harness.open_tab("A"), harness.open_tab("B"), harness.open_tab("C")
    _, first_agent = await harness.start_run(first)
    second.socket.send_json(type="run", **program())
    await second.socket.expect("status", state="queued", mode="python", position=1)
    third.socket.send_json(type="run", **program())
    await third.socket.expect("status", state="queued", position=2)

    first_agent.exit()
    await first.socket.expect("exit")
    await settle()
    assert second.socket.unread() == [], "the first session still holds its sandbox"
    first.socket.close()  # the first tab closes: its sandbox goes, the line moves
    await second.socket.expect("started")
    await third.socket.expect("status", state="queued", position=1)
    assert len(harness.scheduler.sandboxes) == 2 and harness.scheduler.released == harness.scheduler.sandboxes[:1]


async def test_a_full_line_is_busy_and_the_socket_stays_usable(harness: Harness) -> None:
    harness.scheduler.capacity, harness.scheduler.queue_limit = 1, 0
    first, second = harness.open_tab("A"), harness.open_tab("B")
    _, agent = await harness.start_run(first)
    second.socket.send_json(type="run", **program())
    busy = await second.socket.expect("error", code="busy")
    assert "busy" in busy["message"]

    first.socket.close()  # the first session's run is abandoned after the grace period
    await first.ended()
    await harness.clock.advance(harness.config.resume_grace_seconds + 1)
    await harness.start_run(second)


async def test_no_room_within_acquire_seconds_is_busy(harness: Harness) -> None:
    harness.scheduler.capacity = 1
    first, second = harness.open_tab("A"), harness.open_tab("B")
    await harness.start_run(first)
    second.socket.send_json(type="run", **program())
    await second.socket.expect("status", state="queued", position=1)
    await harness.clock.advance(harness.scheduler.acquire_seconds + 1)
    await second.socket.expect("error", code="busy")
    assert harness.scheduler.in_line == 0


@pytest.mark.parametrize("error, code", [(Busy("line full"), "busy"), (Unavailable("no sandbox"), "unavailable")])
async def test_acquire_failures_get_their_codes(harness: Harness, error: SchedulerError, code: str) -> None:
    tab = harness.open_tab()
    harness.scheduler.fail_next_acquire(error)
    tab.socket.send_json(type="run", **program())
    message = await tab.socket.expect("error", code=code)
    assert "line full" not in message["message"] and "no sandbox" not in message["message"]  # no internals
    await harness.start_run(tab)  # and the next Run works


async def test_a_refused_claim_is_a_bad_request_with_the_agents_detail(harness: Harness) -> None:
    tab = harness.open_tab()
    tab.socket.send_json(type="prepare", mode="python")
    await tab.socket.expect("status", state="ready")
    agent = harness.scheduler.agent()
    agent.refuse_next_claim("the entry file 'main.py' is not a regular file")
    tab.socket.send_json(type="run", **program())
    await tab.socket.expect("error", code="bad_request",
                            message="The program could not be started: the entry file 'main.py' is not a regular file")
    assert harness.services.registry.all() == []

    _, again = await harness.start_run(tab)  # the agent reset after refusing: same sandbox
    assert again is agent and len(harness.scheduler.sandboxes) == 1


async def test_a_sandbox_lost_at_the_claim_is_internal_and_replaced(harness: Harness) -> None:
    tab = harness.open_tab()
    tab.socket.send_json(type="prepare", mode="python")
    await tab.socket.expect("status", state="ready")
    lost = harness.scheduler.agent()
    lost.lose_connection_at_next_claim()
    tab.socket.send_json(type="run", **program())
    await tab.socket.expect("error", code="internal")
    await harness.scheduler.until(lambda: harness.scheduler.released == [harness.scheduler.sandboxes[0]])

    _, agent = await harness.start_run(tab)
    assert agent is not lost


async def test_a_sandbox_lost_mid_run_ends_the_run_as_failed(harness: Harness) -> None:
    tab = harness.open_tab()
    started, lost = await harness.start_run(tab)
    lost.output(b"partial ")
    lost.lose_connection()
    await tab.socket.expect_output(b"partial ")
    await tab.socket.expect("exit", run=started["run"], reason="failed", code=-1,
                            message="Something went wrong running your program. Press Run to try again.")
    await harness.scheduler.until(lambda: harness.scheduler.released == harness.scheduler.sandboxes)
    assert ("reset", None) not in lost.received

    tab.socket.send_json(type="stdin", data="x")  # the run is over
    await tab.socket.expect("error", code="bad_request")
    _, agent = await harness.start_run(tab)
    assert agent is not lost


# -- flow control ----------------------------------------------------------------------------
async def test_while_the_browser_is_slow_the_agent_is_read_one_event_at_a_time(harness: Harness) -> None:
    tab = harness.open_tab()
    _, agent = await harness.start_run(tab)
    tab.socket.hold_sends()
    for line in (b"1\n", b"2\n", b"3\n"):
        agent.output(line)
    agent.exit()
    await tab.socket.until_send_blocked()
    await settle()
    assert (agent.pulled, agent.pending) == (1, 3), "read past a send that has not finished"

    tab.socket.release_sends()
    await tab.socket.expect_output(b"1\n2\n3\n")
    await tab.socket.expect("exit")


# -- requests that cannot be served -----------------------------------------------------------
@pytest.mark.parametrize("frame, code", [
    ("{not json", "bad_request"),
    (b"\x00binary", "bad_request"),
    (json.dumps({"type": "launch"}), "bad_request"),
    (json.dumps({"type": "run", "files": [{"path": "../etc/passwd", "text": ""}], "entry": "../etc/passwd"}),
     "bad_request"),
    (json.dumps({"type": "stdin", "data": "x" * (64 * 1024 + 1)}), "too_large"),
    (json.dumps({"type": "run", **program("#" * (64 * 1024))}), "too_large"),
])
async def test_a_malformed_message_gets_its_code_and_the_socket_stays_usable(
        harness: Harness, frame: object, code: str) -> None:
    tab = harness.open_tab()
    tab.socket.send_frame(frame)  # type: ignore[arg-type]
    await tab.socket.expect("error", code=code)
    assert harness.scheduler.sandboxes == []
    await harness.start_run(tab)


async def test_typing_without_a_run_is_a_bad_request(harness: Harness) -> None:
    tab = harness.open_tab()
    tab.socket.send_json(type="stdin", data="x")
    await tab.socket.expect("error", code="bad_request", message="No program is running; press Run first.")


@pytest.mark.parametrize("request_", [{"type": "stop"}, {"type": "resize", "cols": 100, "rows": 30}])
async def test_stop_or_resize_without_a_run_is_quietly_ignored(harness: Harness, request_: dict) -> None:
    """A Stop pressed just after the exit, or the terminal growing as the display pane hides
    once a short program has already ended: no error for the student to read."""
    tab = harness.open_tab()
    tab.socket.send_json(**request_)
    tab.socket.send_json(type="stdin", data="x")
    await tab.socket.expect("error", code="bad_request")
    assert tab.socket.unread() == []


async def test_a_run_that_will_not_stop_is_left_behind_for_a_fresh_sandbox(harness: Harness) -> None:
    """A wedged agent ignores STOP: the next Run must not be claimed on the sandbox still
    running the old program; it gets a fresh one, and the old one is released exactly once."""
    harness.scheduler.agent_options = {"stop_exits": False}
    tab = harness.open_tab()
    first, stuck = await harness.start_run(tab)

    tab.socket.send_json(type="run", **program("print(2)"))
    await stuck.until(lambda: stuck.stops == 1)
    harness.scheduler.agent_options = {}
    await harness.clock.advance(STOP_WAIT_SECONDS + 1)
    await tab.socket.expect("exit", run=first["run"], reason="stopped")
    second = await tab.socket.expect("started")
    fresh = harness.run(second["run"]).sandbox.agent
    assert fresh is not stuck and len(stuck.claims) == 1, "never a second claim on the stuck sandbox"
    await harness.scheduler.until(lambda: harness.scheduler.released == harness.scheduler.sandboxes[:1])
    assert harness.counters["sandbox_replaced"] == 1

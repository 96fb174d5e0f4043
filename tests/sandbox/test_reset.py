"""Session sandboxes: a session keeps its sandbox across runs, reset in place between them.

The leak checks (tests/sandbox/hostile/leak_checks.py) prove the reset; these prove the lifecycle:
reuse, prepare, replacement, the per-run option and the admission line.
"""
from __future__ import annotations

import asyncio
import json

import pytest

from testkit.client import connect, next_json, run_program
from testkit.service import Service
from testkit.waiting import until
from tests.sandbox.hostile.leak_checks import LEAK_CHECKS


def counter(service, name: str) -> float:
    return service.metrics().get(f"pyplay_{name}", 0.0)


async def prepared(ws, mode: str = "python") -> dict:
    """Send prepare; the `ready` status (after any `starting` or `queued`)."""
    await ws.send(json.dumps({"type": "prepare", "mode": mode}))
    while True:
        status = await next_json(ws, 60, statuses=True)
        if status.get("state") != "starting" and status.get("state") != "queued":
            return status


def acquired(service) -> float:
    return counter(service, "acquired_warm") + counter(service, "acquired_cold")


@pytest.mark.parametrize("name", sorted(LEAK_CHECKS))
async def test_nothing_of_a_run_reaches_the_next_run(ws, service, name):
    await LEAK_CHECKS[name](ws, service)


async def test_a_session_runs_on_one_sandbox(ws, service):
    before_acquired, before_reused = acquired(service), counter(service, "sandbox_runs_reused")
    for number in range(3):
        result = await run_program(ws, f"print({number} * 7)")
        assert result.text.strip() == str(number * 7) and result.exit["reason"] == "exited"
    assert acquired(service) - before_acquired == 1
    assert counter(service, "sandbox_runs_reused") - before_reused == 2


@pytest.mark.parametrize("mode", ["python", "pygame"])
async def test_every_run_of_a_session_gets_its_own_random_numbers(ws, mode):
    """Launchers are forks of one pre-imported zygote: a dice game must still roll differently."""
    program = "import random, os, uuid\nprint(random.random(), os.urandom(8).hex(), uuid.uuid4())"
    first, second = [(await run_program(ws, program, mode=mode, timeout=60)).text.split()[-3:] for _ in range(2)]
    assert all(a != b for a, b in zip(first, second, strict=True)), (first, second)


async def test_prepare_takes_the_sandbox_before_run(ws, service):
    before = acquired(service)
    status = await prepared(ws)
    assert status == {"type": "status", "state": "ready", "mode": "python", "message": "Ready to run."}
    assert acquired(service) - before == 1
    result = await run_program(ws, "print('prepared')")
    assert result.text.strip() == "prepared"
    assert acquired(service) - before == 1  # the run used the prepared sandbox


async def test_prepare_with_a_bad_mode_is_an_error_and_the_socket_stays_usable(ws):
    await ws.send(json.dumps({"type": "prepare", "mode": "java"}))
    error = await next_json(ws)
    assert error["type"] == "error" and error["code"] == "bad_request" and "mode" in error["message"]
    assert (await run_program(ws, "print('still here')")).text.strip() == "still here"


async def test_a_tripped_limit_replaces_the_sandbox(tight_service):
    ws = await connect(tight_service.url)
    try:
        before = counter(tight_service, "sandbox_replaced")
        flood = await run_program(ws, "while True:\n    print('x' * 1000)", timeout=60)
        assert flood.exit["reason"] == "output"
        after = await run_program(ws, "print('fresh')")
        assert after.text.strip() == "fresh"
        assert counter(tight_service, "sandbox_replaced") - before == 1
    finally:
        await ws.close()


async def test_an_idle_session_gives_its_sandbox_back(tight_service):
    ws = await connect(tight_service.url)
    try:
        before = counter(tight_service, "sandbox_idle_released")
        assert (await run_program(ws, "print('once')")).text.strip() == "once"
        await until(lambda: counter(tight_service, "sandbox_idle_released") - before == 1, 10,
                    "the idle session's sandbox to be released", interval=0.1)
        assert (await run_program(ws, "print('again')")).text.strip() == "again"
    finally:
        await ws.close()


async def test_a_mode_change_replaces_the_sandbox(ws, service):
    before = counter(service, "sandbox_replaced")
    assert (await run_program(ws, "print('terminal')")).text.strip() == "terminal"
    result = await run_program(ws, "import turtle\nprint('turtle')\nturtle.bye()", mode="turtle", timeout=60)
    assert "turtle" in result.text and result.exit["reason"] == "exited"
    assert counter(service, "sandbox_replaced") - before == 1


async def test_sandbox_per_run_gives_every_run_a_fresh_sandbox():
    service = Service({"PYPLAY_SANDBOX_PER": "run", "PYPLAY_POOL_PYTHON": "1"}).start()
    try:
        ws = await connect(service.url)
        before = acquired(service)
        for _ in range(2):
            assert (await run_program(ws, "print('once')")).text.strip() == "once"
        await ws.close()
        assert acquired(service) - before == 2
        assert counter(service, "sandbox_runs_reused") == 0
    finally:
        assert service.stop() == 0
        leftovers = service.runsc_ids()
        service.cleanup()
    assert leftovers == []


async def test_at_capacity_a_run_waits_in_line_and_is_told_so():
    service = Service({"PYPLAY_MAX_SANDBOXES": "1", "PYPLAY_QUEUE_LIMIT": "1", "PYPLAY_POOL_PYTHON": "0"})
    service.start()
    holder, waiter, third = [await connect(service.url) for _ in range(3)]
    try:
        assert (await prepared(holder))["state"] == "ready"
        run = asyncio.ensure_future(run_program(waiter, "print('my turn')", timeout=60))
        await until(lambda: service.metrics().get("pyplay_admission_waiting") == 1, 30, "the run to wait in line",
                    interval=0.1)
        await third.send(json.dumps({"type": "prepare", "mode": "python"}))
        refused = await next_json(third, 30)
        assert refused["type"] == "error" and refused["code"] == "busy"
        await holder.close()  # the holder leaves: its sandbox goes, the waiter's is made
        result = await run
        assert result.text.strip() == "my turn"
        queued = result.statuses[0]
        assert queued["state"] == "queued" and queued["position"] == 1 and "number 1 in line" in queued["message"]
        assert [status["state"] for status in result.statuses] == ["queued", "starting"]
        assert service.metrics()["pyplay_admission_waiting"] == 0
    finally:
        for ws in (holder, waiter, third):
            await ws.close()
        assert service.stop() == 0
        leftovers = service.runsc_ids()
        service.cleanup()
    assert leftovers == []

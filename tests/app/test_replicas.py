"""Two replicas behind a real load balancer (HAProxy, round-robin, no stickiness): every
connection of a run works whichever replica it lands on, and a replica that dies is
noticed at once.  Real processes: two services (real gVisor), haproxy, websockets."""
from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request
from typing import Any, Iterator, Tuple

import pytest
from websockets.exceptions import ConnectionClosed

from proxy.replicas import owner_of
from testkit.balancer import Balancer, Cluster
from testkit.client import connect, next_json, read_until, run_program
from testkit.service import Service
from tests.conftest import _require_sandbox_tools

COUNTER = ("import time\nprint('go', flush=True)\nfor i in range(40):\n    print(f'line {i:02d}', flush=True)\n"
           "    time.sleep(0.05)\nprint('done')")
EXPECTED = "go\r\n" + "".join(f"line {i:02d}\r\n" for i in range(40)) + "done\r\n"
PYGAME = ("import pygame\npygame.init()\nscreen = pygame.display.set_mode((120, 90))\nclock = pygame.time.Clock()\n"
          "while True:\n    pygame.event.pump()\n    screen.fill((0, 120, 255))\n    pygame.display.flip()\n"
          "    clock.tick(20)\n")
WAITING = "print('up', flush=True)\ninput()"
ENV = {"PYPLAY_POOL_PYTHON": "1", "PYPLAY_POOL_PYGAME": "1", "PYPLAY_RESUME_GRACE_SECONDS": "30"}


def _cluster(killing: bool) -> Iterator[Cluster]:
    _require_sandbox_tools()
    cluster = Cluster.start(2, ENV)
    try:
        yield cluster
    finally:
        left = cluster.stop()
        # A replica killed with -9 leaves its sandboxes (purged at its next start); no other may.
        assert killing or left == [], f"sandboxes left behind: {left}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    yield from _cluster(killing=False)


@pytest.fixture
def doomed_cluster() -> Iterator[Cluster]:
    """One replica of it gets killed."""
    yield from _cluster(killing=True)


def _counter(service: Service, name: str) -> float:
    return service.metrics().get(f"pyplay_{name}", 0.0)


async def _rfb_greeting(url: str) -> bytes:
    """Open a display socket and read the RFB server's first bytes (its version)."""
    display = await connect(url, subprotocols=["binary"])
    try:
        return await asyncio.wait_for(display.recv(), 10)
    finally:
        await display.close()


async def test_a_run_works_whichever_replica_each_connection_lands_on(cluster: Cluster) -> None:
    services, balancer = cluster.services, cluster.balancer
    ws = await connect(balancer.url)
    result = await run_program(ws, "print('hello from', 6 * 7)")
    assert result.exit["reason"] == "exited" and "hello from 42" in result.text
    owner = owner_of(result.started["run"])
    assert owner in ("r0", "r1")

    await ws.send(json.dumps({"type": "run", "mode": "pygame", "files": [{"path": "main.py", "text": PYGAME}]}))
    started = await next_json(ws, 60)
    assert started["type"] == "started" and started["display"], started
    display_url = f"ws://127.0.0.1:{balancer.port}{started['display']['url']}"
    # Round-robin: two display sockets in a row land on both replicas, one of them not the owner.
    greetings = [await _rfb_greeting(display_url) for _ in range(2)]
    assert all(greeting.startswith(b"RFB 003.") for greeting in greetings), greetings
    assert sum(_counter(service, "forwarded_displays") for service in services) >= 1
    await ws.send(json.dumps({"type": "stop"}))
    assert (await _exit(ws))["reason"] == "stopped"
    await ws.close()


async def _exit(ws) -> dict:
    """The run's exit message (window-size `display` messages may come first)."""
    while True:
        message = await next_json(ws, 15)
        if message["type"] == "exit":
            return message


async def test_a_resume_after_a_drop_loses_nothing_on_either_replica(cluster: Cluster) -> None:
    services, balancer = cluster.services, cluster.balancer
    first = await connect(balancer.url)
    await first.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": COUNTER}]}))
    started = await next_json(first, 30)
    seen = await read_until(first, b"line 05")
    first.transport.abort()  # school Wi-Fi: gone without a close handshake

    # Two resumes in a row through the balancer: round-robin puts one on the replica that
    # does not own the run (it forwards), and one on the owner.
    output = bytearray(seen)
    second = await _resume(balancer, started, len(output))
    output += await read_until(second, b"line 15")
    second.transport.abort()
    third = await _resume(balancer, started, len(output))
    while True:
        message = await asyncio.wait_for(third.recv(), 15)
        if isinstance(message, bytes):
            output += message
        elif json.loads(message)["type"] == "exit":
            break
    assert output.decode() == EXPECTED, "every byte once, in order"
    assert sum(_counter(service, "forwarded_resumes") for service in services) >= 1
    await third.close()


async def _waiting_for_input(balancer: Balancer) -> Tuple[Any, dict]:
    """A program through the balancer that has printed and now waits for a line."""
    ws = await connect(balancer.url)
    await ws.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": WAITING}]}))
    started = await next_json(ws, 30)
    await read_until(ws, b"up")
    return ws, started


async def _resume(balancer: Balancer, started: dict, offset: int):
    ws = await connect(balancer.url)
    await ws.send(json.dumps({"type": "resume", "run": started["run"], "token": started["resume"], "offset": offset}))
    assert (await next_json(ws, 10))["type"] == "resumed"
    return ws


async def test_a_rest_stop_works_on_any_replica(cluster: Cluster) -> None:
    balancer = cluster.balancer
    ws, started = await _waiting_for_input(balancer)
    other = cluster.other_than(owner_of(started["run"]))
    request = urllib.request.Request(f"{other.admin}/v1/runs/{started['run']}", method="DELETE")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 202 and json.loads(answer.read()) == {"stopping": started["run"]}
    assert (await _exit(ws))["reason"] == "stopped"
    assert _counter(other, "forwarded_rest") == 1
    await ws.close()


async def test_a_replica_killed_mid_run_is_noticed_within_two_seconds(doomed_cluster: Cluster) -> None:
    balancer = doomed_cluster.balancer
    ws, started = await _waiting_for_input(balancer)
    dead = doomed_cluster.replica(owner_of(started["run"]))

    killed_at = time.monotonic()
    dead.process.send_signal(signal.SIGKILL)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 2)   # the balancer drops the socket with its replica
    # What the IDE does next: resume through the balancer; the live replica answers for the dead one.
    resumed = await connect(balancer.url)
    await resumed.send(json.dumps({"type": "resume", "run": started["run"], "token": started["resume"],
                                   "offset": 0}))
    answer = await next_json(resumed, 2)
    told_after = time.monotonic() - killed_at
    assert answer["type"] == "error" and answer["code"] == "gone", answer
    assert told_after < 2.0, f"the student heard after {told_after:.2f} s"

    # ... and starts over: the next Run through the balancer works.
    result = await run_program(resumed, "print('still here')")
    assert result.exit["reason"] == "exited" and "still here" in result.text
    await resumed.close()


async def test_the_public_port_of_a_replica_refuses_the_operator_api(cluster: Cluster) -> None:
    services, balancer = cluster.services, cluster.balancer
    for path in ("/v1/runs", "/metrics"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{balancer.port}{path}", timeout=5)
        assert refused.value.code == 404
        with urllib.request.urlopen(services[0].admin + path, timeout=5) as answer:
            assert answer.status == 200

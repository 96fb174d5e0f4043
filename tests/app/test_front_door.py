"""The front door: Origin allow-list, signed session tokens, per-client limits."""
from __future__ import annotations

import json
import socket
import types

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from app.front_door import disable_nagle
from proxy.tokens import issue_token
from testkit.client import connect, next_json, run_program
from testkit.service import Service

SECRET = "test-secret-not-for-production"


async def test_foreign_origin_is_refused(tight_service):
    with pytest.raises(InvalidStatus) as refused:
        await connect(tight_service.url, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    allowed = await connect(tight_service.url, origin="http://localhost:3000")
    await allowed.close()


@pytest.fixture(scope="module")
def token_service():
    service = Service({"PYPLAY_SESSION_SECRET": SECRET, "PYPLAY_MAX_RUNS_PER_CLIENT": "1",
                       "PYPLAY_POOL_PYTHON": "1"}).start()
    yield service
    service.stop()
    assert service.runsc_ids() == []
    service.cleanup()


async def test_sockets_need_a_valid_token(token_service):
    for url in (token_service.url, token_service.url + "?token=forged.token"):
        with pytest.raises(InvalidStatus) as refused:
            await connect(url)
        assert refused.value.response.status_code == 401
    ws = await connect(token_service.url + "?token=" + issue_token(SECRET, "ada"))
    assert (await run_program(ws, "print('in')")).text.strip() == "in"
    await ws.close()


async def test_per_client_concurrent_run_limit_follows_the_token_subject(token_service):
    first = await connect(token_service.url + "?token=" + issue_token(SECRET, "bo"))
    second = await connect(token_service.url + "?token=" + issue_token(SECRET, "bo"))
    other = await connect(token_service.url + "?token=" + issue_token(SECRET, "cy"))
    try:
        await first.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": "input()"}]}))
        assert (await next_json(first))["type"] == "started"
        await second.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": "print(1)"}]}))
        refused = await next_json(second)
        assert refused["type"] == "error" and refused["code"] == "busy"
        assert (await run_program(other, "print('other student')")).text.strip() == "other student"
        await first.send(json.dumps({"type": "stop"}))
        assert (await next_json(first))["type"] == "exit"
    finally:
        for ws in (first, second, other):
            await ws.close()


async def test_message_rate_limit_answers_busy_and_keeps_the_socket(token_service):
    ws = await connect(token_service.url + "?token=" + issue_token(SECRET, "dee"))
    for _ in range(400):
        await ws.send(json.dumps({"type": "stop"}))
    busy = await next_json(ws)
    assert busy["type"] == "error" and busy["code"] == "busy"
    await ws.close()


async def test_foreign_origin_cannot_open_the_display_either(display_service):
    ws = await connect(display_service.url)
    program = "import pygame, time\npygame.init()\npygame.display.set_mode((64, 64))\ntime.sleep(30)"
    await ws.send(json.dumps({"type": "run", "mode": "pygame", "files": [{"path": "main.py", "text": program}]}))
    started = await next_json(ws, timeout=30)
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(f"ws://127.0.0.1:{display_service.port}{started['display']['url']}",
                                 origin="http://evil.example", subprotocols=["binary"])
    assert refused.value.response.status_code == 403
    await ws.send(json.dumps({"type": "stop"}))
    await next_json(ws, timeout=20)
    await ws.close()


def test_accepted_websockets_have_nagle_off_so_small_display_writes_are_not_held_40_ms():
    listener = socket.socket()              # as Sanic makes it: proto 0, which asyncio leaves with Nagle on
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        request = types.SimpleNamespace(transport=types.SimpleNamespace(get_extra_info=lambda name: accepted))
        disable_nagle(request)
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for sock in (client, accepted, listener):
            sock.close()

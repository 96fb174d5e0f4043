"""A dropped socket is followed by a resume: missed output exactly once, in order, then live."""
from __future__ import annotations

import asyncio
import json

from testkit.client import connect, next_json
from testkit.rfb import KEY_SPACE, RFBClient
from tests.e2e.display_run import PYGAME_FILL, start

COUNTER = ("import time\nfor i in range(60):\n    print(f'line {i:02d}', flush=True)\n    time.sleep(0.03)\n"
           "print('done')")
EXPECTED = "".join(f"line {i:02d}\r\n" for i in range(60)) + "done\r\n"


async def _read_some(ws, at_least: int) -> bytes:
    received = bytearray()
    while len(received) < at_least:
        message = await asyncio.wait_for(ws.recv(), 10)
        if isinstance(message, bytes):
            received += message
    return bytes(received)


async def test_resume_replays_missed_output_exactly_once_then_goes_live(service):
    first = await connect(service.url)
    await first.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": COUNTER}]}))
    started = await next_json(first)
    before = await _read_some(first, 30)
    # School Wi-Fi: no close handshake.  The resume goes out at once, so the server usually
    # hears of the old socket only after it (the order tests/proxy covers in every variant).
    first.transport.abort()

    second = await connect(service.url)
    await second.send(json.dumps({"type": "resume", "run": started["run"], "token": started["resume"],
                                  "offset": len(before)}))
    assert await next_json(second) == {"type": "resumed", "run": started["run"], "display": None}
    after = bytearray()
    while True:
        message = await asyncio.wait_for(second.recv(), 15)
        if isinstance(message, bytes):
            after += message
        elif json.loads(message)["type"] == "exit":
            break
    assert (before + bytes(after)).decode() == EXPECTED
    await second.close()


async def test_resume_with_a_wrong_token_is_gone_and_the_socket_still_works(service):
    first = await connect(service.url)
    await first.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": "input()"}]}))
    started = await next_json(first)
    other = await connect(service.url)
    await other.send(json.dumps({"type": "resume", "run": started["run"], "token": "guess", "offset": 0}))
    error = await next_json(other)
    assert error["type"] == "error" and error["code"] == "gone"
    await first.send(json.dumps({"type": "stop"}))
    assert (await next_json(first))["reason"] == "stopped"
    await first.close()
    await other.close()


async def test_resume_of_a_pygame_run_gives_a_fresh_display_ticket_and_the_display_works(display_service):
    run = await start(display_service, PYGAME_FILL)
    display = await run.rfb()
    await display.wait_for(lambda c: c.is_uniform((30, 144, 255)), 30, "blue")
    run.drop()                                       # Wi-Fi drops: both sockets go, no close frames
    display.transport.websocket.transport.abort()

    second = await connect(display_service.url)
    await second.send(json.dumps({"type": "resume", "run": run.started["run"], "token": run.started["resume"],
                                  "offset": len(run.output)}))
    resumed = await next_json(second)
    assert resumed["type"] == "resumed" and resumed["display"]["url"] != run.started["display"]["url"], resumed
    again = await RFBClient.open_websocket(f"ws://127.0.0.1:{display_service.port}{resumed['display']['url']}")
    try:
        await again.wait_for(lambda c: (c.width, c.height) == (320, 240) and c.is_uniform((30, 144, 255)), 15,
                             "the same blue window after the resume")
        await again.key(KEY_SPACE, True)                 # input reaches the program through the new socket
        await again.wait_for(lambda c: c.is_uniform((255, 140, 0)), 10, "orange while space is held")
        await again.key(KEY_SPACE, False)
    finally:
        await again.close()
    await second.send(json.dumps({"type": "stop"}))
    while True:
        message = await asyncio.wait_for(second.recv(), 15)
        if isinstance(message, str) and json.loads(message)["type"] == "exit":
            assert json.loads(message)["reason"] == "stopped"
            break
    await second.close()

"""The Nomad path on real containers: the service with PYPLAY_SCHEDULER=nomad dispatches to
the fake Nomad, whose allocations are the jobspec's task started under Docker with runsc;
the fake Consul reports their address; NomadScheduler's own code finds, claims and purges
them.  Each test is what a student (or an operator) sees."""
from __future__ import annotations

import json

from testkit.client import connect, next_json, run_program
from testkit.opus import decode_all, rms
from testkit.rfb import KEY_SPACE
from testkit.waiting import until
from tests.e2e.display_run import PYGAME_FILL, space_turns_the_fill_orange, start
from tests.e2e.test_display import TURTLE_SQUARE
from tests.e2e.test_sound import TONE_GAME, listen

COLD = 90.0   # a first run may wait for a container to start


async def test_terminal_program_with_input(nomad_service, container_cluster):
    ws = await connect(nomad_service.url)
    try:
        result = await run_program(ws, "name = input('What is your name? ')\nprint(f'Hello, {name}!')",
                                   replies=[(b"What is your name? ", "Ada\r")], timeout=COLD)
    finally:
        await ws.close()
    assert result.started["python"] == "3.10.13"
    assert "Hello, Ada!" in result.text and result.exit["code"] == 0, (result.text, result.exit)


async def test_pygame_frame_over_rfb_takes_a_key(nomad_service):
    run = await start(nomad_service, PYGAME_FILL)
    rfb = await run.rfb()
    try:
        await space_turns_the_fill_orange(rfb, first_frame_seconds=60)
        await rfb.key(KEY_SPACE, False)
        await run.wait_output("KEYDOWN space")
    finally:
        await rfb.close()
    assert (await run.stop())["reason"] == "stopped"


async def test_a_pygame_tone_is_heard_through_the_containers_sound_port(nomad_service):
    run = await start(nomad_service, TONE_GAME)
    await run.wait_output("playing", timeout=COLD)
    packets = await listen(f"ws://127.0.0.1:{nomad_service.port}{run.started['display']['audio']}", 1.0)
    assert rms(decode_all(packets)) > 1000, "sound, not silence"
    assert (await run.stop())["reason"] == "stopped"


async def test_turtle_drawing(nomad_service):
    run = await start(nomad_service, TURTLE_SQUARE)
    rfb = await run.rfb()
    try:
        await run.wait_output("DRAWN", timeout=60)
        await rfb.wait_for(lambda c: c.width >= 400 and c.count_colour((255, 0, 0), 60) > 300, 20, "a red square")
    finally:
        await rfb.close()
    assert (await run.stop())["reason"] == "stopped"


async def test_a_session_keeps_its_container_resets_it_replaces_it_and_it_is_purged(nomad_service,
                                                                                    container_cluster, engine):
    def containers():
        return [sandbox.container for sandbox in container_cluster.live_sandboxes()]

    ws = await connect(nomad_service.url)
    try:
        first = await run_program(ws, "open('left.txt', 'w').write('x')\nprint('one')", timeout=COLD)
        (container,) = containers()
        second = await run_program(ws, "import os\nprint(sorted(os.listdir('.')))", timeout=COLD)
        assert second.text.strip() == "['main.py']", "reset in place: the last run's file is gone"
        assert containers() == [container], "the session kept its container"
        # A mode change replaces the session's sandbox: a new container, the old one purged.
        await ws.send(json.dumps({"type": "prepare", "mode": "turtle"}))
        while (status := await next_json(ws, timeout=COLD, statuses=True)).get("state") != "ready":
            assert status["type"] == "status", status
        await until(lambda: len(containers()) == 1 and containers() != [container], 30,
                    what=lambda: f"the python container replaced by a turtle one: {containers()}")
    finally:
        await ws.close()
    assert first.exit["code"] == 0 and second.exit["code"] == 0
    await until(lambda: container_cluster.live_sandboxes() == [], 30, what="the session's container to be purged")
    assert engine.labelled() == [], "no container is left on the engine"

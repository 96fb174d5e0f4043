"""Hypothesis fuzzing of protocol v1: the pure parser, then the live service."""
from __future__ import annotations

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from proxy.errors import ERROR_CODES, ProtocolError
from proxy.protocol import parse_client_message
from sandbox.limits import Limits
from testkit.client import connect, run_program

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda children: (st.lists(children, max_size=5)
                                      | st.dictionaries(st.text(max_size=10), children, max_size=5)),
                    max_leaves=30)
MESSAGE_TYPES = st.sampled_from(["run", "stdin", "resize", "stop", "resume", "nope", ""])
SHAPED = st.builds(lambda kind, extra: {**extra, "type": kind}, MESSAGE_TYPES,
                   st.dictionaries(st.sampled_from(["mode", "entry", "files", "term", "data", "cols", "rows",
                                                    "run", "token", "offset"]), JSON, max_size=6))


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200), JSON.map(json.dumps), SHAPED.map(json.dumps)))
def test_parser_accepts_or_raises_a_documented_error(frame):
    try:
        parse_client_message(frame, Limits(), 1024 * 1024)
    except ProtocolError as error:
        assert error.code in ERROR_CODES and error.message


def test_parser_survives_deep_nesting_and_huge_numbers():
    for frame in ("[" * 200_000, '{"type": "resize", "cols": 1e999, "rows": 5}',
                  '{"type": "run", "files": [{"path": "main.py", "text": "\\ud800"}]}'):
        try:
            parse_client_message(frame, Limits(), 1024 * 1024)
        except ProtocolError as error:
            assert error.code in ERROR_CODES


async def _drain_json(ws, seconds: float) -> list:
    """The text messages that arrive until none has for ``seconds``: an observation window
    (whatever the frames provoked), not a wait for a known event."""
    events = []
    try:
        while True:
            message = await asyncio.wait_for(ws.recv(), seconds)
            if isinstance(message, str):
                events.append(json.loads(message))
    except asyncio.TimeoutError:
        return events


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(st.one_of(st.binary(max_size=64), st.text(max_size=64), SHAPED.map(json.dumps)),
                       min_size=1, max_size=6))
def test_live_service_answers_arbitrary_frames_with_documented_errors(tight_service, frames):
    async def scenario():
        ws = await connect(tight_service.url)
        try:
            for frame in frames:
                await ws.send(frame)
            for event in await _drain_json(ws, 0.3):
                assert event["type"] in ("error", "started", "exit", "resumed"), event
                if event["type"] == "error":
                    assert event["code"] in ERROR_CODES and event["message"]
            await ws.send(json.dumps({"type": "stop"}))
            result = await run_program(ws, "print('still here')")
            assert result.text.strip() == "still here"
        finally:
            await ws.close()
    asyncio.run(scenario())


class SessionMachine(RuleBasedStateMachine):
    """Valid messages in any order on one socket: nothing crashes, every reply is documented."""

    service = None

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.ws = self.loop.run_until_complete(connect(self.service.url))
        self.events: list = []

    def send(self, message: dict) -> None:
        self.loop.run_until_complete(self.ws.send(json.dumps(message)))
        self.events += self.loop.run_until_complete(_drain_json(self.ws, 0.05))

    @rule(program=st.sampled_from(["print('x')", "input()", "import time\ntime.sleep(5)", "1/0", "while True: pass"]))
    def run(self, program):
        self.send({"type": "run", "mode": "python", "files": [{"path": "main.py", "text": program}]})

    @rule(data=st.text(max_size=10))
    def stdin(self, data):
        self.send({"type": "stdin", "data": data})

    @rule(cols=st.integers(1, 300), rows=st.integers(1, 100))
    def resize(self, cols, rows):
        self.send({"type": "resize", "cols": cols, "rows": rows})

    @rule()
    def stop(self):
        self.send({"type": "stop"})

    @rule(offset=st.integers(0, 100))
    def resume(self, offset):
        runs = [event["run"] for event in self.events if event.get("type") == "started"]
        self.send({"type": "resume", "run": runs[-1] if runs else "r-none", "token": "wrong", "offset": offset})

    @invariant()
    def replies_are_documented(self):
        for event in self.events:
            assert event["type"] in ("started", "exit", "error", "resumed"), event
            if event["type"] == "error":
                assert event["code"] in ERROR_CODES

    def teardown(self):
        self.send({"type": "stop"})
        self.events += self.loop.run_until_complete(_drain_json(self.ws, 1.0))
        self.loop.run_until_complete(self.ws.close())
        self.loop.close()


def test_valid_messages_in_any_order(tight_service):
    SessionMachine.service = tight_service
    runner = SessionMachine.TestCase()
    runner.settings = settings(max_examples=8, stateful_step_count=10, deadline=None)
    runner.runTest()
    assert tight_service.process.poll() is None

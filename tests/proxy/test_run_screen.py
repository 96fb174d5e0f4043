"""`run.screen` (additive): the IDE's display pane, clamped to what a desktop can be."""
from __future__ import annotations

import json

from proxy.protocol import RunRequest, parse_client_message
from sandbox.limits import Limits
from sandbox.modes import MAX_SCREEN, MIN_SCREEN


def run_with(screen) -> RunRequest:
    message = {"type": "run", "files": [{"path": "main.py", "text": ""}]}
    if screen is not None:
        message["screen"] = screen
    request = parse_client_message(json.dumps(message), Limits(), 1 << 20)
    assert isinstance(request, RunRequest)
    return request


def test_the_pane_size_is_taken_as_is_within_the_desktops_bounds():
    assert run_with({"width": 800, "height": 500}).screen == (800, 500)
    assert run_with({"width": 10 ** 6, "height": 1}).screen == (MAX_SCREEN[0], MIN_SCREEN[1])


def test_an_older_ide_sends_none_and_gets_the_desktops_default():
    assert run_with(None).screen is None

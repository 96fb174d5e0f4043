"""proxy/protocol.py against docs/protocol.schema.json, the one source of the message shapes.

web/test/protocol-schema.test.ts checks web/lib/protocol.ts against the same file, so a field
added to one side only (as ``resumed.display`` once was) fails a test on the other.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import types
from typing import Any, Callable, Dict

import jsonschema
import pytest

from proxy import protocol
from proxy.errors import ERROR_CODES, ProtocolError
from proxy.session import Session
from sandbox.limits import Limits

SCHEMA_PATH = pathlib.Path(__file__).resolve().parents[2] / "docs" / "protocol.schema.json"
SCHEMA: Dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
DEFS: Dict[str, Any] = SCHEMA["$defs"]
CLIENT = SCHEMA["x-client-messages"]
SERVER = SCHEMA["x-server-messages"]



def display_info() -> Dict[str, Any]:
    """What the server's Session.display_info builds for a pygame run with sound (a fresh ticket)."""
    registry = types.SimpleNamespace(issue_ticket=lambda run: "t")
    session = types.SimpleNamespace(services=types.SimpleNamespace(registry=registry))
    run = types.SimpleNamespace(id="r-1", display={"width": 800, "height": 600},
                                sandbox=types.SimpleNamespace(audio=object()))
    info = Session.display_info(session, run)  # type: ignore[arg-type]
    assert info is not None
    return info


# Each server message built with every field it can carry.
DISPLAY = display_info()
BUILT: Dict[str, Callable[[], str]] = {
    "started": lambda: protocol.started_message("r-1", "pygame", "3.10.13", DISPLAY, "k"),
    "exit": lambda: protocol.exit_message("r-1", 137, "memory", "Stopped.", limit="memory"),
    "error": lambda: protocol.error_message("busy", "Every sandbox is in use."),
    "resumed": lambda: protocol.resumed_message("r-1", DISPLAY),
    "display": lambda: protocol.display_message("r-1", 640, 480),
    "status": lambda: protocol.status_message("queued", "pygame", "You are number 3 in line.", 3),
}

# Which request field holds each schema field of a client message (term is read as cols and rows).
READ_AS: Dict[str, Dict[str, tuple]] = {
    "run": {"mode": ("mode",), "entry": ("entry",), "files": ("files",), "term": ("cols", "rows"),
            "screen": ("screen",)},
    "stdin": {"data": ("data",)},
    "resize": {"cols": ("cols",), "rows": ("rows",)},
    "stop": {},
    "resume": {"run": ("run",), "token": ("token",), "offset": ("offset",)},
    "prepare": {"mode": ("mode",)},
}
# Schema fields the server does not read yet (test_pending_fields_are_still_pending says when one
# is read, so its entry goes).
PENDING: set = set()


def validator(name: str) -> Any:
    return jsonschema.Draft202012Validator({"$defs": DEFS, "$ref": f"#/$defs/{name}"})


def test_the_schema_is_a_valid_schema_and_its_examples_fit_it():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for name in CLIENT + SERVER:
        examples = DEFS[name]["examples"]
        assert examples, name
        for example in examples:
            validator(name).validate(example)
        assert set(examples[0]) == set(DEFS[name]["properties"]), f"{name}'s first example uses every field"


def test_the_same_message_types_and_enums_on_both_sides():
    assert set(CLIENT) == set(protocol._PARSERS)
    assert set(SERVER) == set(BUILT)
    assert list(protocol.MODES) == DEFS["mode"]["enum"]
    assert list(protocol.RUN_MODES) == DEFS["runMode"]["enum"]
    assert list(protocol.EXIT_REASONS) == DEFS["exitReason"]["enum"]
    assert list(ERROR_CODES) == DEFS["errorCode"]["enum"]
    assert list(protocol.STATUS_STATES) == DEFS["sandboxState"]["enum"]


@pytest.mark.parametrize("name", sorted(BUILT))
def test_each_server_message_fits_the_schema_and_uses_every_field(name):
    message = json.loads(BUILT[name]())
    validator(name).validate(message)  # a field the schema lacks fails here
    assert set(message) == set(DEFS[name]["properties"])  # a schema field the server never sends fails here


def test_the_display_the_server_builds_has_every_field_of_the_schema():
    assert set(DISPLAY) == set(DEFS["displayInfo"]["properties"])


def test_server_messages_without_their_optional_fields_still_fit():
    validator("exit").validate(json.loads(protocol.exit_message("r-1", 0, "exited", "")))
    validator("status").validate(json.loads(protocol.status_message("ready", "python", "Ready.")))
    validator("started").validate(json.loads(protocol.started_message("r-1", "python", "3.10.13", None, "k")))
    validator("resumed").validate(json.loads(protocol.resumed_message("r-1")))


@pytest.mark.parametrize("name", CLIENT)
def test_each_client_message_the_schema_allows_is_read_field_by_field(name):
    example = DEFS[name]["examples"][0]
    request = protocol.parse_client_message(json.dumps(example), Limits(), 1 << 20)
    fields = {f.name for f in dataclasses.fields(request)}
    schema_fields = set(DEFS[name]["properties"]) - {"type"}
    assert set(READ_AS[name]) == schema_fields, "READ_AS maps every schema field"
    read = {attr for field, attrs in READ_AS[name].items() if (name, field) not in PENDING for attr in attrs}
    assert fields == read, f"{name}: the server reads {sorted(fields)}; the schema has {sorted(read)}"


def test_pending_fields_are_still_pending():
    for name, field in PENDING:
        request = protocol.parse_client_message(json.dumps(DEFS[name]["examples"][0]), Limits(), 1 << 20)
        assert not any(hasattr(request, attr) for attr in READ_AS[name][field]), \
            f"the server reads {name}.{field} now: remove it from PENDING"


def test_a_client_message_outside_the_schema_is_refused():
    with pytest.raises(ProtocolError):
        protocol.parse_client_message(json.dumps({"type": "teleport"}), Limits(), 1 << 20)
    for name in CLIENT:
        with pytest.raises(jsonschema.ValidationError):
            validator(name).validate({**DEFS[name]["examples"][0], "surprise": 1})

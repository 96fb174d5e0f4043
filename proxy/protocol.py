"""Protocol v1 (the IDE contract), written once without I/O.

``parse_client_message`` turns one WebSocket frame into a typed request or raises
ProtocolError with one of the documented codes; the ``*_message`` functions build
what the server sends.  Nothing here touches a socket.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from typing import Any, Callable, Dict, Optional, Tuple, Union

from proxy.errors import ERROR_CODES, ProtocolError
from sandbox.limits import Limits
from sandbox.modes import AUTO, DEFAULT_COLS, DEFAULT_ROWS, MAX_COLS, MAX_ROWS, parse_screen
from sandbox.modes import MODES as RUN_MODES
from sandbox.paths import path_problem

MODES = (AUTO, *RUN_MODES)
EXIT_REASONS = ("exited", "stopped", "timeout", "memory", "output", "failed")
MAX_STDIN_CHARS = 64 * 1024


@dataclasses.dataclass(frozen=True)
class RunRequest:
    mode: str
    entry: str
    files: Tuple[Tuple[str, bytes], ...]
    cols: int = DEFAULT_COLS
    rows: int = DEFAULT_ROWS
    screen: Optional[Tuple[int, int]] = None   # the IDE's display pane in CSS px (additive)


@dataclasses.dataclass(frozen=True)
class StdinRequest:
    data: str


@dataclasses.dataclass(frozen=True)
class ResizeRequest:
    cols: int
    rows: int


@dataclasses.dataclass(frozen=True)
class StopRequest:
    pass


@dataclasses.dataclass(frozen=True)
class ResumeRequest:
    run: str
    token: str
    offset: int


@dataclasses.dataclass(frozen=True)
class PrepareRequest:
    """Additive: get the session's sandbox ready for ``mode`` before Run is pressed."""

    mode: str


Request = Union[RunRequest, StdinRequest, ResizeRequest, StopRequest, ResumeRequest, PrepareRequest]
STATUS_STATES = ("queued", "starting", "ready")


def parse_client_message(frame: Union[str, bytes], limits: Limits, max_bytes: int) -> Request:
    if isinstance(frame, (bytes, bytearray, memoryview)):
        raise ProtocolError("bad_request", "Binary frames are not part of the protocol; send JSON text.")
    if len(frame) > max_bytes:
        raise ProtocolError("too_large", f"The message is larger than {max_bytes // (1024 * 1024)} MiB.")
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_request", "The message is not valid JSON.") from None
    if not isinstance(message, dict):
        raise ProtocolError("bad_request", "A message must be a JSON object with a \"type\".")
    kind = message.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise ProtocolError("bad_request", f"Unknown message type {str(kind)[:40]!r}; expected one of "
                                           f"{', '.join(sorted(_PARSERS))}.")
    return parser(message, limits)


def _parse_mode(message: Dict[str, Any]) -> str:
    mode = message.get("mode", "auto")
    if mode not in MODES:
        raise ProtocolError("bad_request", f"\"mode\" must be one of {', '.join(MODES)}.")
    return mode


def _parse_run(message: Dict[str, Any], limits: Limits) -> RunRequest:
    mode = _parse_mode(message)
    entry = message.get("entry", "main.py")
    problem = path_problem(entry, limits.path_bytes)
    if problem:
        raise ProtocolError("bad_request", f"Bad \"entry\": {problem}.")
    files = _parse_files(message.get("files"), limits)
    if entry not in dict(files):
        raise ProtocolError("bad_request", f"The entry file {entry!r} is not among the files.")
    cols, rows = _parse_term(message.get("term"))
    return RunRequest(mode=mode, entry=entry, files=files, cols=cols, rows=rows,
                      screen=_parse_screen(message.get("screen")))


def _parse_files(files: Any, limits: Limits) -> Tuple[Tuple[str, bytes], ...]:
    if not isinstance(files, list) or not files:
        raise ProtocolError("bad_request", "\"files\" must be a non-empty list of {path, text|base64}.")
    if len(files) > limits.upload_files:
        raise ProtocolError("too_large", f"Too many files: {len(files)}; the limit is {limits.upload_files}.")
    seen: Dict[str, bytes] = {}
    total = 0
    for item in files:
        path, data = _parse_file(item, limits)
        if path in seen or any(other.startswith(path + "/") or path.startswith(other + "/") for other in seen):
            raise ProtocolError("bad_request", f"{path!r} is given twice, or is both a file and a folder.")
        total += len(data)
        if total > limits.upload_bytes:
            raise ProtocolError("too_large", f"The files add up to more than {limits.upload_bytes // 1024} KiB.")
        seen[path] = data
    return tuple(seen.items())


def _parse_file(item: Any, limits: Limits) -> Tuple[str, bytes]:
    if not isinstance(item, dict):
        raise ProtocolError("bad_request", "Each file must be an object {path, text} or {path, base64}.")
    path = item.get("path")
    problem = path_problem(path, limits.path_bytes)
    if problem or not isinstance(path, str):
        raise ProtocolError("bad_request", f"Bad file path: {problem or 'not a string'}.")
    if isinstance(item.get("text"), str):
        try:
            return path, item["text"].encode("utf-8")
        except UnicodeEncodeError:
            raise ProtocolError("bad_request", f"{path!r} has text that is not valid Unicode.") from None
    if isinstance(item.get("base64"), str):
        try:
            return path, base64.b64decode(item["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("bad_request", f"{path!r} has \"base64\" that is not valid base64.") from None
    raise ProtocolError("bad_request", f"{path!r} needs a \"text\" string or a \"base64\" string.")


def _parse_term(term: Any) -> Tuple[int, int]:
    if term is None:
        return DEFAULT_COLS, DEFAULT_ROWS
    if not isinstance(term, dict):
        raise ProtocolError("bad_request", "\"term\" must be an object {cols, rows}.")
    return (_size(term.get("cols", DEFAULT_COLS), "cols", MAX_COLS),
            _size(term.get("rows", DEFAULT_ROWS), "rows", MAX_ROWS))


def _parse_screen(screen: Any) -> Optional[Tuple[int, int]]:
    """Optional; any size is taken, within the desktop's bounds."""
    try:
        return parse_screen(screen)
    except ValueError:
        raise ProtocolError("bad_request", "\"screen\" must be an object {width, height} of whole numbers.") from None


def _size(value: Any, name: str, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
        raise ProtocolError("bad_request", f"\"{name}\" must be a whole number from 1 to {high}.")
    return value


def _parse_stdin(message: Dict[str, Any], limits: Limits) -> StdinRequest:
    data = message.get("data")
    if not isinstance(data, str):
        raise ProtocolError("bad_request", "\"stdin\" needs a \"data\" string.")
    if len(data) > MAX_STDIN_CHARS:
        raise ProtocolError("too_large", f"\"stdin\" data is longer than {MAX_STDIN_CHARS} characters.")
    return StdinRequest(data)


def _parse_resize(message: Dict[str, Any], limits: Limits) -> ResizeRequest:
    return ResizeRequest(_size(message.get("cols"), "cols", MAX_COLS), _size(message.get("rows"), "rows", MAX_ROWS))


def _parse_stop(message: Dict[str, Any], limits: Limits) -> StopRequest:
    return StopRequest()


def _parse_resume(message: Dict[str, Any], limits: Limits) -> ResumeRequest:
    run, token, offset = message.get("run"), message.get("token"), message.get("offset", 0)
    if not isinstance(run, str) or not isinstance(token, str) or len(run) > 100 or len(token) > 200:
        raise ProtocolError("bad_request", "\"resume\" needs \"run\" and \"token\" strings.")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ProtocolError("bad_request", "\"offset\" must be a whole number of bytes, 0 or more.")
    return ResumeRequest(run, token, offset)


def _parse_prepare(message: Dict[str, Any], limits: Limits) -> PrepareRequest:
    mode = _parse_mode(message)
    return PrepareRequest("python" if mode == AUTO else mode)


_PARSERS: Dict[str, Callable[[Dict[str, Any], Limits], Request]] = {
    "run": _parse_run, "stdin": _parse_stdin, "resize": _parse_resize,
    "stop": _parse_stop, "resume": _parse_resume, "prepare": _parse_prepare}


# -- server -> client -------------------------------------------------------------------------
def started_message(run_id: str, mode: str, python: str, display: Optional[Dict[str, Any]],
                    resume: str) -> str:
    return _dump({"type": "started", "run": run_id, "mode": mode, "python": python,
                  "display": display, "resume": resume})


def exit_message(run_id: str, code: int, reason: str, message: str, **extra: Any) -> str:
    assert reason in EXIT_REASONS
    return _dump({"type": "exit", "run": run_id, "code": code, "reason": reason, "message": message, **extra})


def error_message(code: str, message: str) -> str:
    assert code in ERROR_CODES
    return _dump({"type": "error", "code": code, "message": message})


def resumed_message(run_id: str, display: Optional[Dict[str, Any]] = None) -> str:
    """Additive: ``display`` carries a fresh ticket so the display reconnects too."""
    return _dump({"type": "resumed", "run": run_id, "display": display})


def status_message(state: str, mode: str, message: str, position: int = 0) -> str:
    """Additive: why nothing has happened yet (queued, a sandbox starting) or that it is ready."""
    assert state in STATUS_STATES
    status: Dict[str, Any] = {"type": "status", "state": state, "mode": mode, "message": message}
    if state == "queued":
        status["position"] = position
    return _dump(status)


def display_message(run_id: str, width: int, height: int) -> str:
    return _dump({"type": "display", "run": run_id, "width": width, "height": height})


def resume_request(run_id: str, token: str, offset: int) -> str:
    """A client's `resume`, as a replica forwards it to the run's owner."""
    return _dump({"type": "resume", "run": run_id, "token": token, "offset": offset})


def _dump(obj: Dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


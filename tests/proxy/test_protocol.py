"""Bad messages get an `error` with a documented code and a message; the socket keeps working."""
from __future__ import annotations

import json

import pytest

from proxy.errors import ERROR_CODES
from testkit.client import next_json, run_program

BAD_MESSAGES = {
    "malformed json": ("{not json", "bad_request"),
    "not an object": ("[1, 2]", "bad_request"),
    "unknown type": (json.dumps({"type": "teleport"}), "bad_request"),
    "missing type": (json.dumps({"mode": "python"}), "bad_request"),
    "run without files": (json.dumps({"type": "run", "mode": "python"}), "bad_request"),
    "bad mode": (json.dumps({"type": "run", "mode": "java", "files": [{"path": "main.py", "text": ""}]}),
                 "bad_request"),
    "entry missing": (json.dumps({"type": "run", "entry": "game.py", "files": [{"path": "main.py", "text": ""}]}),
                      "bad_request"),
    "file without content": (json.dumps({"type": "run", "files": [{"path": "main.py"}]}), "bad_request"),
    "bad base64": (json.dumps({"type": "run", "files": [{"path": "main.py", "text": ""},
                                                        {"path": "a.png", "base64": "!!"}]}), "bad_request"),
    "resize without sizes": (json.dumps({"type": "resize"}), "bad_request"),
    "huge terminal": (json.dumps({"type": "resize", "cols": 10 ** 9, "rows": 5}), "bad_request"),
    "screen not an object": (json.dumps({"type": "run", "screen": "big", "files": [{"path": "main.py", "text": ""}]}),
                             "bad_request"),
    "screen of text": (json.dumps({"type": "run", "screen": {"width": "800", "height": 600},
                                   "files": [{"path": "main.py", "text": ""}]}), "bad_request"),
    "stdin without run": (json.dumps({"type": "stdin", "data": "x"}), "bad_request"),
    "binary frame": (b"\x00\x01binary", "bad_request"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "bad_request"),
    "resume unknown run": (json.dumps({"type": "resume", "run": "r-nope", "token": "t", "offset": 0}), "gone"),
    "too many files": (json.dumps({"type": "run", "files": [{"path": f"f{i}.py", "text": ""} for i in range(6)]
                                   + [{"path": "main.py", "text": ""}]}), "too_large"),
    "upload too big": (json.dumps({"type": "run", "files": [{"path": "main.py", "text": "#" * 100_000}]}),
                       "too_large"),
    "oversized message": (json.dumps({"type": "stdin", "data": "x" * 1_500_000}), "too_large"),
}
BAD_PATHS = ["a" * 300 + ".py", "../x.py", "/etc/x.py", "", "a\x00b.py", "a/../../x.py", "./main.py", "a//b.py",
             "dir\\x.py"]


@pytest.mark.parametrize("name", sorted(BAD_MESSAGES))
async def test_bad_message_gets_error_and_socket_keeps_working(tight_ws, name):
    message, code = BAD_MESSAGES[name]
    await tight_ws.send(message)
    error = await next_json(tight_ws)
    assert error["type"] == "error" and error["code"] == code and error["code"] in ERROR_CODES
    assert isinstance(error["message"], str) and len(error["message"]) > 10
    result = await run_program(tight_ws, "print('ok')")
    assert result.text.strip() == "ok"


@pytest.mark.parametrize("path", BAD_PATHS)
async def test_bad_path_gets_error_and_socket_keeps_working(tight_ws, path):
    await tight_ws.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": ""},
                                                             {"path": path, "text": "x"}]}))
    error = await next_json(tight_ws)
    assert error["type"] == "error" and error["code"] == "bad_request"
    assert "path" in error["message"]
    assert (await run_program(tight_ws, "print('ok')")).text.strip() == "ok"


async def test_assets_and_folders_arrive_byte_exact(tight_ws):
    files = [{"path": "main.py", "text": "import hashlib\nprint(hashlib.sha256(open('assets/img.bin','rb').read())"
                                         ".hexdigest())\nfrom lib.util import x\nprint(x)"},
             {"path": "assets/img.bin", "base64": "AAEC/f7/"},
             {"path": "lib/__init__.py", "text": ""}, {"path": "lib/util.py", "text": "x = 42"}]
    result = await run_program(tight_ws, files)
    import hashlib
    assert result.text.split() == [hashlib.sha256(bytes([0, 1, 2, 253, 254, 255])).hexdigest(), "42"]

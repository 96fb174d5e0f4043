"""The Python terminal through the WebSocket, against real gVisor sandboxes."""
from __future__ import annotations

import asyncio
import json
import re

from testkit.client import next_json, run_program


async def test_hello_world(ws):
    result = await run_program(ws, "print('hello, world')")
    assert result.started["mode"] == "python" and result.started["python"].startswith("3.10")
    assert result.started["display"] is None and result.started["resume"]
    assert result.text == "hello, world\r\n"
    assert result.exit["code"] == 0 and result.exit["reason"] == "exited"
    assert result.exit["run"] == result.started["run"]


async def test_input_prompt_arrives_before_any_input_and_answer_is_used(ws):
    result = await run_program(ws, "name = input('What is your name? ')\nprint(f'Hello, {name}!')",
                               replies=[(b"What is your name? ", "Ada\r")])
    assert result.text.startswith("What is your name? ")
    assert "Hello, Ada!" in result.text
    assert result.exit["code"] == 0


async def test_ctrl_c_raises_keyboard_interrupt(ws):
    result = await run_program(ws, "print('spinning', flush=True)\nwhile True:\n    pass",
                               replies=[(b"spinning", "\u0003")])
    assert "KeyboardInterrupt" in result.text
    assert result.exit["code"] == 130 and result.exit["reason"] == "exited"
    assert "Ctrl-C" in result.exit["message"]


async def test_a_print_flood_arrives_complete_and_in_order(ws):
    # The agent holds a flooding writer while the PTY is full: nothing may be lost or reordered.
    result = await run_program(ws, "for i in range(60000):\n    print(f'line {i}')", timeout=90)
    assert result.exit["code"] == 0, result.exit
    assert result.text == "".join(f"line {i}\r\n" for i in range(60000))


async def test_ctrl_c_reaches_a_flooding_program(ws):
    result = await run_program(ws, "i = 0\nwhile True:\n    i += 1\n    print('flood', i)",
                               replies=[(b"flood 5000", "\u0003")], timeout=30)
    assert "KeyboardInterrupt" in result.text and result.exit["code"] == 130, result.exit


async def test_stop_ends_a_long_sleep_within_two_seconds(ws):
    result = await run_program(ws, "import time\nprint('sleeping', flush=True)\ntime.sleep(1000)",
                               replies=[(b"sleeping", {"type": "stop"})], timeout=10)
    assert result.exit["reason"] == "stopped"
    assert result.seconds < 2.0 + 0.3 + 1.0  # run start and first output, then stop within 2 s; generous


async def test_stop_is_quick_measured_from_the_stop_message(ws):
    await ws.send(json.dumps({"type": "run", "mode": "python",
                              "files": [{"path": "main.py", "text": "import time\ntime.sleep(1000)"}]}))
    assert (await next_json(ws))["type"] == "started"
    loop = asyncio.get_running_loop()
    sent = loop.time()
    await ws.send(json.dumps({"type": "stop"}))
    event = await next_json(ws, timeout=5)
    assert event["type"] == "exit" and event["reason"] == "stopped"
    assert loop.time() - sent < 2.0


async def test_division_by_zero_shows_traceback_and_exits_1(ws):
    result = await run_program(ws, "x = 1\nprint(x / 0)")
    assert result.text.startswith("Traceback (most recent call last):\r\n")
    assert 'File "/workspace/main.py", line 2, in <module>' in result.text
    assert "ZeroDivisionError: division by zero" in result.text
    assert "runpy" not in result.text and "launcher" not in result.text
    assert result.exit["code"] == 1


async def test_syntax_error_shows_as_on_the_desktop(ws):
    result = await run_program(ws, "print('ok')\nprint('unclosed'\n")
    lines = result.text.splitlines()
    assert lines[0] == '  File "/workspace/main.py", line 2'
    assert lines[1].strip() == "print('unclosed'"
    assert lines[2].strip() == "^"
    assert lines[3] == "SyntaxError: '(' was never closed"
    assert "Traceback" not in result.text
    assert result.exit["code"] == 1


async def test_two_file_project(ws):
    files = [{"path": "main.py", "text": "import helper\nprint(helper.greet('Bo'))"},
             {"path": "helper.py", "text": "def greet(name):\n    return 'hi ' + name"}]
    result = await run_program(ws, files)
    assert result.text == "hi Bo\r\n"


async def test_unicode_and_ansi_colours_come_through(ws):
    result = await run_program(ws, "print('\\x1b[31mred\\x1b[0m café 🐍 日本')")
    assert "\x1b[31mred\x1b[0m café 🐍 日本" in result.text


async def test_terminal_size_follows_term_and_resize(ws):
    program = ("import shutil, sys\nprint(shutil.get_terminal_size())\nsys.stdout.flush()\n"
               "input('resize me ')\nprint(shutil.get_terminal_size())")
    # At the prompt the program waits in input(): resize, then Enter (messages reach it in order).
    result = await run_program(ws, program, term=(100, 30),
                               replies=[(b"resize me ", [{"type": "resize", "cols": 120, "rows": 40}, "\r"])])
    sizes = re.findall(r"columns=(\d+), lines=(\d+)", result.text)
    assert sizes == [("100", "30"), ("120", "40")]


async def test_python_is_3_10(ws):
    result = await run_program(ws, "import sys\nprint(sys.version_info[:2] == (3, 10))")
    assert result.text.strip() == "True"


async def test_main_module_semantics(ws):
    program = ("import sys, os\nprint(__name__, __file__, sys.argv, os.getcwd())\n"
               "print(sys.path[0])\nprint('sandbox' in sys.modules)")
    result = await run_program(ws, program)
    lines = result.text.splitlines()
    assert lines[0] == "__main__ /workspace/main.py ['/workspace/main.py'] /workspace"
    assert lines[1] == "/workspace"
    assert lines[2] == "False"


async def test_many_runs_on_one_socket_each_in_a_fresh_sandbox(ws):
    first = await run_program(ws, "open('note.txt', 'w').write('secret')\nprint('wrote')")
    second = await run_program(ws, "import os\nprint(sorted(os.listdir('.')))")
    assert first.text.strip() == "wrote"
    assert second.text.strip() == "['main.py']"
    assert first.started["run"] != second.started["run"]


async def test_run_while_running_stops_the_old_run_first(ws):
    await ws.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": "import time\ntime.sleep(100)"}]}))
    first = await next_json(ws)
    await ws.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": "print('second')"}]}))
    old_exit = await next_json(ws)
    second = await next_json(ws)
    assert first["type"] == "started"
    assert old_exit == {**old_exit, "type": "exit", "run": first["run"], "reason": "stopped"}
    assert second["type"] == "started" and second["run"] != first["run"]
    assert (await next_json(ws))["type"] == "exit"

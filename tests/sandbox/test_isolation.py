"""What a program must not see or reach from inside its sandbox."""
from __future__ import annotations

import json

from testkit.client import connect, next_json, read_until, run_program
from testkit.service import REPO


async def test_cannot_see_the_repo_root_home_or_host_environment(ws, service, monkeypatch):
    program = f"""
import os
print('repo', os.path.exists({REPO!r}), os.path.exists('/opt/pyplay/agent/scheduler'))
print('root', os.path.exists('/root') and os.listdir('/root'))
print('setup', any(os.path.exists(p) for p in ('/setup.cfg', '/work', '/etc/shadow', '/etc/ssh')))
print('env', sorted(os.environ))
"""
    result = await run_program(ws, program)
    lines = dict(line.split(" ", 1) for line in result.text.splitlines() if " " in line)
    assert lines.get("repo") == "False False", result.text
    assert lines["root"] == "False"
    assert lines["setup"] == "False"
    names = eval(lines["env"])  # a list of names printed by the program
    assert "PYPLAY_STATE_DIR" not in names and "PYPLAY_PORT" not in names
    assert set(names) <= {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "COLORTERM", "LANG",
                          "LC_ALL", "PYTHONIOENCODING", "TMPDIR", "XDG_CACHE_HOME", "LINES", "COLUMNS",
                          # where a window would be asked for: sandbox/no_display.py
                          "DISPLAY", "SDL_VIDEODRIVER", "SDL_AUDIODRIVER"}


async def test_cannot_connect_to_the_service_or_anywhere(ws, service):
    program = f"""
import socket
for host, port in [('127.0.0.1', {service.port}), ('::1', {service.port}), ('1.1.1.1', 53), ('pypi.org', 443)]:
    try:
        socket.create_connection((host, port), timeout=2).close()
        print(host, 'CONNECTED')
    except OSError as error:
        print(host, 'refused', type(error).__name__)
"""
    result = await run_program(ws, program, timeout=30)
    assert "CONNECTED" not in result.text
    assert result.text.count("refused") == 4


async def test_runs_as_non_root_and_cannot_signal_the_agent(ws):
    program = """
import os, signal
print(os.getuid(), os.geteuid(), os.getgid())
try:
    os.kill(1, signal.SIGKILL)
    print('killed agent?')
except PermissionError:
    print('no permission')
"""
    result = await run_program(ws, program)
    assert result.text.splitlines()[0] == "1000 1000 1000"
    assert "no permission" in result.text
    assert result.exit["reason"] == "exited"


async def test_cannot_see_a_concurrent_runs_files(service):
    writer, reader = await connect(service.url), await connect(service.url)
    try:
        await writer.send(json.dumps({"type": "run", "files": [
            {"path": "main.py", "text": "open('/tmp/shared.txt','w').write('x')\nopen('mine.txt','w').write('x')\n"
                                        "print('written', flush=True)\nimport time\ntime.sleep(30)"}]}))
        assert (await next_json(writer))["type"] == "started"
        await read_until(writer, b"written")
        program = ("import os\nprint(os.listdir('/tmp'), os.listdir('/workspace'), "
                   "[p for p in os.listdir('/proc') if p.isdigit()])")
        result = await run_program(reader, program)
        tmp, workspace = result.text.split("] [")[:2]
        assert "shared.txt" not in tmp and "mine.txt" not in workspace
        await writer.send(json.dumps({"type": "stop"}))
        assert (await next_json(writer))["type"] == "exit"
    finally:
        await writer.close()
        await reader.close()


async def test_sandbox_root_is_read_only_outside_workspace_and_tmp(ws):
    program = """
for path in ['/etc/passwd', '/usr/bin/evil', '/opt/pyplay/env/x', '/x']:
    try:
        open(path, 'a').close()
        print(path, 'WRITABLE')
    except OSError:
        print(path, 'denied')
"""
    result = await run_program(ws, program)
    assert "WRITABLE" not in result.text and result.text.count("denied") == 4

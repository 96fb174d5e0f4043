"""Hostile programs against the real gVisor sandbox: each is contained."""
from __future__ import annotations

import json

import pytest

from testkit.client import connect, next_json, read_until, run_program
from tests.sandbox.hostile.deny_checks import DENY_CHECKS, SANDBOX_OWN


@pytest.mark.parametrize("name", sorted(DENY_CHECKS))
async def test_denied(ws, service, name):
    await DENY_CHECKS[name](ws, service)


async def test_writing_outside_workspace_and_tmp_is_denied(ws):
    program = """
denied = 0
for path in ['/etc/x', '/usr/x', '/opt/pyplay/x', '/run/pyplay/x', '/x', '/proc/x', '/dev/x']:
    try:
        open(path, 'w').write('x')
    except OSError:
        denied += 1
print('DENIED', denied)
"""
    assert "DENIED 7" in (await run_program(ws, program)).text


async def test_nothing_persists_into_the_next_run(ws):
    await run_program(ws, "import os\nfor p in ['/workspace/a', '/tmp/b', '/dev/shm/c', os.path.expanduser('~/.d')]:\n"
                          "    open(p, 'w').write('x')\nprint('ok')")
    result = await run_program(ws, "import os\nprint(sorted(os.listdir('/workspace')), os.listdir('/tmp'), "
                                   "os.listdir('/dev/shm'))")
    assert result.text.strip() == "['main.py'] [] []"


async def test_concurrent_runs_cannot_exchange_data(service):
    writer, reader = await connect(service.url), await connect(service.url)
    program_a = """
import socket, time
for path in ['/tmp/drop', '/dev/shm/drop']:
    open(path, 'w').write('secret')
s = socket.socket(socket.AF_UNIX); s.bind('\\0pyplay-drop'); s.listen()
print('READY', flush=True)
time.sleep(30)
"""
    program_b = SANDBOX_OWN + """
import os, socket
got = []
for path in ['/tmp/drop', '/dev/shm/drop']:
    if os.path.exists(path): got.append(path)
try:
    s = socket.socket(socket.AF_UNIX); s.connect('\\0pyplay-drop'); got.append('abstract')
except OSError:
    pass
got += [p for p in os.listdir('/proc') if p.isdigit() and p != str(os.getpid()) and not sandbox_own(p)]
print('GOT', got)
"""
    try:
        await writer.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text": program_a}]}))
        assert (await next_json(writer))["type"] == "started"
        await read_until(writer, b"READY")
        result = await run_program(reader, program_b)
        assert "GOT []" in result.text, result.text
    finally:
        await writer.close()
        await reader.close()


async def test_killing_everything_from_inside_only_ends_the_program(ws, service):
    program = ("import os, signal\nfor target in (os.getppid(), 1, -1):\n    try:\n"
               "        os.kill(target, signal.SIGKILL)\n    except OSError as e:\n"
               "        print(target, 'denied', flush=True)")
    result = await run_program(ws, program)
    # The parent (the sandbox's zygote, root) and the agent (pid 1): refused; kill(-1) finds
    # nothing else it may signal.
    assert result.exit["reason"] == "exited" and result.exit["code"] == 0
    assert [line.split()[1:] for line in result.text.splitlines()] == [["denied"]] * 3, result.text
    assert result.text.splitlines()[1:] == ["1 denied", "-1 denied"]
    assert (await run_program(ws, "print('alive')")).text.strip() == "alive"


async def test_cpu_spin_ignoring_sigint_and_sigterm_is_still_stopped(ws):
    # Ctrl-C is caught and shrugged off (the handler says so: that is when Stop is pressed);
    # SIGTERM, Stop's polite signal, is ignored outright.
    program = ("import signal\nsignal.signal(signal.SIGINT, lambda *_: print('shrugged off Ctrl-C', flush=True))\n"
               "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('spinning', flush=True)\nwhile True:\n    pass")
    result = await run_program(ws, program, replies=[(b"spinning", "\u0003"), (b"shrugged off", {"type": "stop"})],
                               timeout=15)
    assert result.exit["reason"] == "stopped"
    assert result.seconds < 6


@pytest.mark.parametrize("program,reasons", [
    ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", ("failed",)),
    ("import threading, time\nwhile True:\n    try:\n        threading.Thread(target=time.sleep, args=(99,)).start()\n"
     "    except RuntimeError:\n        pass", ("failed", "memory")),  # 8 MiB stacks: either limit first
    ("import os\ni = 0\nwhile True:\n    open(f'f{i}', 'w').write('x' * 4096)\n    i += 1", ("failed",)),
    ("x = []\nwhile True:\n    x.append(' ' * 10_000_000)", ("memory",)),
], ids=["fork-bomb-that-swallows-errors", "thread-bomb", "many-small-files", "memory-balloon"])
async def test_resource_bombs_are_contained_and_the_service_keeps_serving(tight_ws, program, reasons):
    result = await run_program(tight_ws, program, timeout=30)
    assert result.exit["reason"] in reasons, (result.exit, result.text[-300:])
    assert (await run_program(tight_ws, "print('next')")).text.strip() == "next"


async def test_fd_exhaustion_is_contained(tight_ws):
    program = "import os\nfds = []\nwhile True:\n    fds.append(os.open('main.py', os.O_RDONLY))"
    result = await run_program(tight_ws, program)
    assert result.exit["reason"] == "failed" and result.exit["limit"] == "open_files"


async def test_the_program_cannot_reach_the_agent_or_its_helpers_through_proc(ws):
    """gVisor lets any uid re-open another process's fds through /proc/PID/fd/N (checked
    against the file behind it only): the agent and the zygote must hold no fd whose
    re-open gives a program anything (sandbox/confine.py).  A new pty, /dev/null: harmless."""
    program = """
import os, signal
harmless = ('/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/ptmx', '/dev/pts/ptmx',
            '/dev/tty')
reached, signalled, others = [], [], 0
for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
    try:
        if os.stat('/proc/' + pid).st_uid == os.getuid():
            continue
        others += 1
        names = os.listdir(f'/proc/{pid}/fd')
    except OSError:
        continue
    try:
        os.kill(int(pid), 0)
        signalled.append(pid)
    except OSError:
        pass
    for name in names:
        path = f'/proc/{pid}/fd/{name}'
        try:
            target = os.readlink(path)
        except OSError:
            continue
        for flags in (os.O_RDONLY, os.O_WRONLY):
            try:
                os.close(os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY))
            except OSError:
                continue
            if target not in harmless:
                reached.append(f'{pid}:{name}:{target}')
print('OTHERS', others)
print('REACHED', reached)
print('SIGNALLED', signalled)
"""
    result = await run_program(ws, program)
    assert "REACHED []" in result.text and "SIGNALLED []" in result.text, result.text
    assert "OTHERS 0" not in result.text, "the agent must be visible for this check to mean anything"

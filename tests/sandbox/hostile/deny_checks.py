"""Deny checks: what a program must not be able to do.  Each raises AssertionError when the
sandbox lets it through.  They run against the real service (they must pass) and against a
service with isolation switched off (they must fail: the sabotage check)."""
from __future__ import annotations

from testkit.client import run_program
from testkit.service import REPO


async def host_files(ws, service) -> None:
    program = f"""
import os
seen = []
for path in [{REPO!r}, '/root', '/home', '/etc/shadow', '/etc/ssh', '/proc/1/root/etc', '/var/log']:
    try:
        if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
            seen.append(path)
    except OSError:
        pass
try:
    os.symlink('/proc/1/root/etc/hostname', 'link')
    open('link').read()
    seen.append('symlink into pid 1 root')
except OSError:
    pass
print('SEEN', seen)
"""
    result = await run_program(ws, program)
    assert "SEEN []" in result.text, result.text


async def environment_secrets(ws, service) -> None:
    program = """
import os
found = [k for k in os.environ
         if k.startswith(('PYPLAY', 'AWS', 'NOMAD', 'CONSUL', 'SSH', 'GIT', 'PIP', 'PYENV', 'VIRTUAL_ENV'))]
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            data = open(f'/proc/{pid}/environ', 'rb').read()
            found += [pid + ':' + part.split(b'=')[0].decode()
                      for part in data.split(b'\\0') if part.startswith(b'PYPLAY')]
        except OSError:
            pass
print('SECRETS', found)
"""
    result = await run_program(ws, program)
    assert "SECRETS []" in result.text, result.text


async def network(ws, service) -> None:
    program = f"""
import socket
reached = []
for family, address in [(socket.AF_INET, ('127.0.0.1', {service.port})), (socket.AF_INET6, ('::1', {service.port})),
                        (socket.AF_INET, ('1.1.1.1', 53)), (socket.AF_INET6, ('2606:4700:4700::1111', 53))]:
    try:
        s = socket.socket(family, socket.SOCK_STREAM); s.settimeout(2); s.connect(address); reached.append(address[0])
    except OSError:
        pass
try:
    socket.getaddrinfo('pypi.org', 443); reached.append('dns')
except OSError:
    pass
print('REACHED', reached)
"""
    result = await run_program(ws, program, timeout=40)
    assert "REACHED []" in result.text, result.text


# For programs: the sandbox's own processes (the agent, pid 1; its zygote and the zygote's
# spare fork), which every program sees beside its own.
SANDBOX_OWN = """
def sandbox_own(pid):
    try:
        return int(pid) == 1 or (b'/opt/pyplay/agent/sandbox/launcher.py\\0--zygote'
                                 in open(f'/proc/{pid}/cmdline', 'rb').read())
    except OSError:
        return True  # gone meanwhile
"""


async def processes(ws, service) -> None:
    program = """
import os, ctypes
pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]
""" + SANDBOX_OWN + """others = [p for p in pids if p != os.getpid() and not sandbox_own(p)]
libc = ctypes.CDLL(None, use_errno=True)
traced = [p for p in pids if p != os.getpid() and libc.ptrace(16, p, 0, 0) == 0]  # PTRACE_ATTACH
print('PROCS', len(others), 'TRACED', traced)
"""
    result = await run_program(ws, program)
    lines = [line for line in result.text.splitlines() if line.startswith("PROCS")]
    assert lines == ["PROCS 0 TRACED []"], result.text


DENY_CHECKS = {"files": host_files, "environment": environment_secrets, "network": network,
               "processes": processes}

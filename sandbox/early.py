"""What a sandbox starts before the agent's own imports: the zygote.

The agent's imports (asyncio and its friends) take ~0.2 s in gVisor, and the zygote's
start-up ~0.13 s, or ~0.35 s with pygame: started first, the zygote's runs alongside the
agent's instead of after it.  Standard library modules the interpreter has already loaded
only (os, socket, sys), so this costs nothing before the launch.
"""
from __future__ import annotations

import os
import socket
import sys
from typing import List, NamedTuple

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launcher.py")


class EarlyZygote(NamedTuple):
    pid: int
    control: socket.socket   # the agent's end of a SOCK_SEQPACKET pair


def option(argv: List[str], name: str, default: str) -> str:
    """``--name value`` from the agent's arguments, before argparse is imported."""
    return argv[argv.index(name) + 1] if name in argv[:-1] else default


def refuse_the_students_uid(argv: List[str]) -> None:
    """Exit unless the agent runs as a uid other than the student's (``--uid``).

    Every run's clean-up SIGKILLs every process of the student's uid; an agent running as
    that uid (an image with ``USER 1000``) would kill itself and Xvnc after each run, and the
    program could signal it.  The agent runs as root inside the sandbox and drops the
    program to ``--uid``, locally and under Nomad alike."""
    uid = option(argv, "--uid", "1000")
    if uid.isdigit() and int(uid) == os.getuid():
        sys.exit(f"agent: refusing to start as uid {uid}, the student's uid (--uid): each run's "
                 "clean-up kills every process of that uid. Run the agent as root (no USER in the "
                 "image, no task user); it drops the program to --uid.")


def launch_zygote(mode: str) -> EarlyZygote:
    """``launcher.py --zygote FD MODE`` in a session of its own, stdin and stdout /dev/null
    (a re-open of the agent's host stdin through /proc must give nothing)."""
    agent_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        zygote_end.set_inheritable(True)
        argv = [sys.executable, LAUNCHER, "--zygote", str(zygote_end.fileno()), mode]
        quiet = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                 (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
        pid = os.posix_spawn(sys.executable, argv, dict(os.environ), file_actions=quiet, setsid=True)
    except BaseException:
        agent_end.close()
        raise
    finally:
        zygote_end.close()
    return EarlyZygote(pid, agent_end)

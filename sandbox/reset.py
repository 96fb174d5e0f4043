"""Reset in place: after a run, leave nothing of it for the next run of the same session.

The agent calls ``reset`` between two runs.  It answers with the reason it cannot vouch
for the sandbox (then the host replaces it), or None when every check came back clean:

* every process of the student's uid killed and reaped (SIGKILL also ends stopped and
  SIGTERM-ignoring processes, and ``setsid`` daemons keep their uid);
* the scratch folders (``/workspace``, ``/tmp``, ``/dev/shm``) emptied.

SysV shared memory, semaphores and message queues need nothing here: each run's launcher
gets an IPC namespace of its own (sandbox/launcher.py), which goes with its last process;
gVisor offers no way to list them (no /proc/sysvipc, no *_STAT).  Abstract unix sockets die
with the last process holding them.  The X server is restarted by the agent (sandbox/agent.py).
Runs inside the sandbox on Python 3.10, standard library only.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from typing import Iterable, List, Optional

KILL_SECONDS = 3.0
KILL_POLL_SECONDS = 0.005


def student_pids(uid: int) -> List[int]:
    """Every process whose /proc entry the uid owns (zombies included until reaped)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid == uid:
                pids.append(int(name))
        except OSError:
            pass
    return pids


async def kill_students(uid: int, seconds: float = KILL_SECONDS) -> List[int]:
    """SIGKILL the uid's processes until none is left; the survivors after ``seconds``.

    The agent is pid 1, so orphans are its children and its SIGCHLD handler reaps them:
    this waits on the event loop between rounds to let it run."""
    deadline = time.monotonic() + seconds
    while True:
        pids = student_pids(uid)
        if not pids or time.monotonic() > deadline:
            return pids
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        await asyncio.sleep(KILL_POLL_SECONDS)


def empty_folder(path: str) -> Optional[str]:
    """Remove everything inside ``path`` (not following links); what is left, if anything."""
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return None
    for name in names:
        entry = os.path.join(path, name)
        try:
            if os.path.isdir(entry) and not os.path.islink(entry):
                _make_removable(entry)
                shutil.rmtree(entry)
            else:
                os.unlink(entry)
        except OSError:
            pass
    left = os.listdir(path)
    return f"{path} still holds {len(left)} entries" if left else None


def _make_removable(top: str) -> None:
    """A student may chmod 000 a folder; root without DAC override could not descend."""
    for root, folders, _ in os.walk(top):
        for folder in folders:
            try:
                os.chmod(os.path.join(root, folder), 0o700, follow_symlinks=False)
            except (OSError, NotImplementedError):
                pass


async def reset(uid: int, folders: Iterable[str]) -> Optional[str]:
    """Everything of the last run gone; the reason it is not, or None."""
    survivors = await kill_students(uid)
    if survivors:
        return f"{len(survivors)} processes of uid {uid} survived SIGKILL"
    for folder in folders:
        problem = empty_folder(folder)
        if problem:
            return problem
    return None

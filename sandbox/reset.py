"""Reset in place: after a run, leave nothing of it for the next run of the same session.

The agent calls ``reset`` between two runs.  It answers with the reason it cannot vouch
for the sandbox (then the host replaces it), or None when every check came back clean:

* every process of the student's uid killed and reaped (SIGKILL also ends stopped and
  SIGTERM-ignoring processes, and ``setsid`` daemons keep their uid);
* the scratch folders (``/workspace``, ``/tmp``, ``/dev/shm``) emptied;
* SysV shared memory, semaphores and message queues removed.

Abstract unix sockets need nothing of their own: they die with the last process holding them.
Runs inside the sandbox on Python 3.10, standard library only.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import time
from typing import Iterable, List, Optional

KILL_SECONDS = 3.0
KILL_POLL_SECONDS = 0.005
IPC_RMID = 0
# (*_INFO: the highest index in use, *_STAT: the id at an index), as `ipcs` walks them.
IPC_COMMANDS = {"shm": (14, 13), "sem": (19, 18), "msg": (12, 11)}
IPC_SCAN_FALLBACK = 256   # where *_INFO is not supported: the first indexes


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


def remove_sysv_ipc() -> Optional[str]:
    """Remove every SysV shm segment, semaphore set and message queue of the sandbox."""
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(512)
    calls = {"shm": lambda ident, cmd: libc.shmctl(ident, cmd, buffer),
             "sem": lambda ident, cmd: libc.semctl(ident, 0, cmd, buffer),
             "msg": lambda ident, cmd: libc.msgctl(ident, cmd, buffer)}
    left = 0
    for kind, call in calls.items():
        info_cmd, stat_cmd = IPC_COMMANDS[kind]
        highest = call(0, info_cmd)  # the highest index in use, or -1
        for index in range(max(highest, -1) + 1 if highest >= 0 else IPC_SCAN_FALLBACK):
            ident = call(index, stat_cmd)
            if ident >= 0 and call(ident, IPC_RMID) != 0:
                left += 1
    return f"{left} SysV IPC objects could not be removed" if left else None


async def reset(uid: int, folders: Iterable[str]) -> Optional[str]:
    """Everything of the last run gone; the reason it is not, or None."""
    survivors = await kill_students(uid)
    if survivors:
        return f"{len(survivors)} processes of uid {uid} survived SIGKILL"
    for folder in folders:
        problem = empty_folder(folder)
        if problem:
            return problem
    return remove_sysv_ipc()

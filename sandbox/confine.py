"""Keep the student's program (uid 1000) away from the agent (root, pid 1) inside gVisor.

Measured on Debian's runsc 20221219 (ptrace platform): a uid-1000 process can list
/proc/1/fd and re-open any of the agent's fds through /proc/1/fd/N, whenever the mode
of the file *behind* that fd lets it: /proc's own access checks are missing.  The
re-open is a fresh open of the same file (a ptmx gives a *new* pty, sockets give
ENXIO, eventfd/epoll ENODEV, pipes and 0600 files EACCES), so the danger is in
fds whose files are world-accessible: a host file on fd 0/1/2, memfds (mode 0777),
files from directories the student cannot traverse.  PR_SET_DUMPABLE, hidepid= and
PID/mount namespaces do not help on that runsc (see the report); what does is
never holding such an fd.  kill() and ptrace() of the agent are already refused.
"""
from __future__ import annotations

import ctypes
import os
import stat
from typing import List, Tuple

PR_SET_DUMPABLE = 4
CLONE_NEWIPC = 0x08000000

# Character devices whose re-open through /proc gives nothing of the agent's.
_HARMLESS_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                     "/dev/ptmx", "/dev/pts/ptmx", "/dev/tty")


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def protect_agent() -> None:
    """Call once, first thing in the agent.

    Points stdin at /dev/null: the agent reads nothing from it, and otherwise
    /proc/1/fd/0 re-opens a *host* file for any uid (measured: it did).  Clears the
    dumpable flag: runsc 20221219 ignores it for /proc, but Linux and later gVisor
    then refuse /proc/1/{fd,environ,maps,mem} to other uids, so it costs nothing to have.
    """
    null = os.open("/dev/null", os.O_RDWR)
    if null != 0:
        os.dup2(null, 0, inheritable=False)
        os.close(null)
    _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def exposed_fds(pid: str = "self") -> List[Tuple[int, str]]:
    """The fds of ``pid`` that another uid could re-open through /proc/PID/fd/N on this runsc.

    For a test or a start-up check (``assert not exposed_fds()``): anything listed here is
    readable or writable by the student.  Sockets, anonymous inodes and harmless devices
    are skipped because their re-open fails or yields a fresh object.
    """
    exposed: List[Tuple[int, str]] = []
    directory = f"/proc/{pid}/fd"
    for name in os.listdir(directory):
        path = f"{directory}/{name}"
        try:
            target = os.readlink(path)
            mode = os.stat(path).st_mode
        except OSError:
            continue  # the fd listdir itself used, or one closed meanwhile
        if stat.S_ISSOCK(mode) or target.startswith("anon_inode:") or target in _HARMLESS_DEVICES:
            continue
        if mode & 0o006:
            exposed.append((int(name), target))
    return sorted(exposed)


def isolate_ipc() -> None:
    """Optional, in the preexec between fork and exec while still root: a fresh SysV IPC
    namespace for this run, so segments/semaphores/queues of one run are not seen by the next
    (as root the agent cannot list them: runsc has no /proc/sysvipc and no *_STAT).

    Needs CAP_SYS_ADMIN in the sandbox's capability sets (scheduler/bundle.py does not grant
    it today; without it unshare() fails with EPERM, raised here as OSError so a caller
    cannot silently run unisolated).  Costs ~0.5 ms per spawn.
    """
    if _libc().unshare(CLONE_NEWIPC) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "unshare(CLONE_NEWIPC): " + os.strerror(errno))

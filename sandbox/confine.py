"""Keep the student's program (uid 1000) away from the agent (root, pid 1) inside gVisor.

Measured on Debian's runsc 20221219 (ptrace platform): a uid-1000 process can list
/proc/1/fd and re-open any of the agent's fds through /proc/1/fd/N, whenever the mode
of the file *behind* that fd lets it: /proc's own access checks are missing.  The
re-open is a fresh open of the same file (a ptmx gives a *new* pty, sockets give
ENXIO, eventfd/epoll ENODEV, pipes and 0600 files EACCES), so the danger is in
fds whose files are world-accessible: a host file on fd 0/1/2, memfds (mode 0777),
files from directories the student cannot traverse.  PR_SET_DUMPABLE, hidepid= and
PID/mount namespaces do not help on that runsc (tests/sandbox/hostile/test_deny.py checks the fds); what does is
never holding such an fd.  kill() and ptrace() of the agent are already refused.
"""
from __future__ import annotations

import ctypes
import os

PR_SET_DUMPABLE = 4


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
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)

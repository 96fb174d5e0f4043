"""The student's program under a PTY: a launcher forked early, started on claim.

Signals go to the program's whole process group, the way a terminal delivers
them, and a stop escalates: polite signal, then SIGTERM, then SIGKILL.
"""
import asyncio
import fcntl
import json
import os
import signal
import socket
import struct
import sys
import termios
from typing import Dict, Optional, Tuple

from sandbox.launcher import STOPPING
from sandbox.limits import Limits
from sandbox.modes import DEFAULT_COLS, DEFAULT_ROWS
from sandbox.reset import student_pids
from sandbox.zygote import Zygote


def program_env(workspace: str, extra: Dict[str, str]) -> Dict[str, str]:
    """The environment a student's program sees: a plain desktop-like one, nothing of the host."""
    env = {
        "PATH": os.path.join(sys.prefix, "bin") + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": workspace,
        "USER": "student",
        "LOGNAME": "student",
        "SHELL": "/bin/sh",
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "TMPDIR": "/tmp",
        "XDG_CACHE_HOME": "/tmp/.cache",  # fontconfig and friends: not into the student's folder
    }
    env.update(extra)
    return env


def rlimits(limits: Limits) -> Dict[str, int]:
    """The claim's rlimits by name; the launcher sets them on itself just before the program runs
    (lowering its own limits needs no privilege, and they are not known before the claim)."""
    return {"RLIMIT_AS": limits.memory_bytes, "RLIMIT_NPROC": limits.processes,
            "RLIMIT_NOFILE": limits.open_files, "RLIMIT_FSIZE": limits.file_bytes, "RLIMIT_CORE": 0}


class Program:
    """One launcher process under a PTY, plus the channel that tells it to go."""

    def __init__(self, pid: int, master_fd: int, channel: socket.socket, uid: int) -> None:
        self.pid = pid
        self.master_fd = master_fd
        self.channel = channel
        self.uid = uid
        self.held = False

    @classmethod
    async def spawn(cls, zygote: Zygote, workspace: str, env: Dict[str, str], uid: int,
                    isolate_ipc: bool, rows: int = DEFAULT_ROWS, cols: int = DEFAULT_COLS) -> "Program":
        """A launcher forked by the zygote: the PTY's slave end is its terminal."""
        master_fd, slave_fd = os.openpty()
        agent_end, launcher_end = socket.socketpair()
        try:
            _set_window_size(master_fd, rows, cols)
            request = {"uid": uid, "cwd": workspace, "env": env, "isolate_ipc": isolate_ipc}
            pid = await zygote.spawn([slave_fd, launcher_end.fileno()], request)
        except BaseException:
            os.close(master_fd)
            agent_end.close()
            raise
        finally:
            os.close(slave_fd)
            launcher_end.close()
        os.set_blocking(master_fd, False)
        return cls(pid, master_fd, agent_end, uid)

    async def wait_until_warm(self, loop: "asyncio.AbstractEventLoop", timeout: float) -> None:
        """The launcher says "ready" once its interpreter (and pygame or tkinter) is loaded:
        a sandbox is only offered as warm after that."""
        self.channel.setblocking(False)
        received = b""
        while not received.endswith(b"\n"):
            chunk = await asyncio.wait_for(loop.sock_recv(self.channel, 64), timeout)
            if not chunk:
                raise OSError("the launcher exited before it was ready")
            received += chunk

    def go(self, entry: str, cwd: str, env: Dict[str, str], limits: Limits,
           screen: Optional[Tuple[int, int]] = None) -> None:
        message = json.dumps({"entry": entry, "cwd": cwd, "env": env, "rlimits": rlimits(limits),
                              "screen": screen}) + "\n"
        self.channel.setblocking(True)
        self.channel.sendall(message.encode())

    def note_stopping(self) -> None:
        """Tell the program's excepthook that the window is about to close because of Stop
        (sandbox/launcher.py: the error that follows is not the student's)."""
        try:
            self.channel.send(STOPPING)
        except OSError:
            pass

    def resize(self, rows: int, cols: int) -> None:
        _set_window_size(self.master_fd, rows, cols)

    def signal_group(self, signum: int) -> None:
        """Signal the program's process group (it is the session leader of the PTY)."""
        _killpg(self.pid, signum)
        self.release()  # a held process would keep the signal pending

    def hold(self) -> None:
        """Output flow control: stop the student's processes, as a terminal's full buffer
        would block their writes (see Agent.pump_output for why gVisor's is not enough)."""
        if not self.held:
            self.held = True
            self._signal_students(signal.SIGSTOP)

    def release(self) -> None:
        if self.held:
            self.held = False
            self._signal_students(signal.SIGCONT)

    def signal_chars(self) -> Dict[int, int]:
        """Bytes that should raise a signal now: ^C and ^\\ while the terminal has ISIG on."""
        try:
            attributes = termios.tcgetattr(self.master_fd)
        except termios.error:
            return {}
        if not attributes[3] & termios.ISIG:
            return {}
        chars = attributes[6]
        return {ord(chars[termios.VINTR]): signal.SIGINT, ord(chars[termios.VQUIT]): signal.SIGQUIT}

    def signal_foreground(self, signum: int) -> None:
        try:
            group = os.tcgetpgrp(self.master_fd)
        except OSError:
            group = self.pid
        if not _killpg(group, signum):
            _killpg(self.pid, signum)
        self.release()

    def kill_everything(self) -> None:
        """SIGKILL every process of the student's uid: whatever it forked or detached."""
        self.signal_group(signal.SIGKILL)
        self._signal_students(signal.SIGKILL)

    def _signal_students(self, signum: int) -> None:
        for pid in student_pids(self.uid):
            try:
                os.kill(pid, signum)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        for closer in (self.channel.close, lambda: os.close(self.master_fd)):
            try:
                closer()
            except OSError:
                pass


def _set_window_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _killpg(group: int, signum: int) -> bool:
    try:
        os.killpg(group, signum)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def describe_status(status: int) -> int:
    """Exit code as a shell would show it: 128+N for death by signal N."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)

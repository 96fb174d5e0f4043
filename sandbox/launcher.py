"""The student's program's own process: started before the claim, runs it on "go".

Started once per sandbox as the *zygote* (``launcher.py --zygote FD MODE``, as root): one
Python start-up that imports what every run needs (pygame or tkinter in display modes)
and then forks a launcher for each run of the session on the agent's request, in a few
milliseconds instead of a fresh interpreter's ~0.1 s (python) or ~1 s (pygame) in gVisor.
The forked launcher takes its PTY, becomes the student (uid, no capabilities, its own SysV
IPC namespace), finishes the warm-up that needs the X server, says "ready" and waits.
On "go" it becomes ``python <entry>``: the entry runs as ``__main__`` with
``sys.argv``/``sys.path`` as the desktop would set them, and an uncaught exception prints
the same traceback the desktop prints.

This file is run by path (not ``-m``) and imports only the standard library, so
nothing of pyplay is importable by the student's program.
"""
from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import runpy
import select
import signal
import socket
import sys
import termios
import traceback

# For annotations only: typing would cost the zygote's start-up an import (~5 ms, more in
# gVisor) that nothing at run time needs.  Type checkers take any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import types
    from collections.abc import Callable, Iterator
    from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_OWN_FILES = {os.path.abspath(__file__), runpy.__file__}
_ERRNO_LIMITS = {24: "open_files", 23: "open_files", 28: "disk", 27: "file_size", 11: "processes", 12: "memory"}
_CLONE_NEWIPC = 0x08000000
_PR_SET_DUMPABLE = 4
_SPAWN_FDS = 2            # the PTY's slave end, and the launcher's end of its channel
_MESSAGE_BYTES = 1 << 20  # a spawn request (the environment): far below this
# What a program raises when its window is closed under it: after the student pressed Stop
# these are pyplay's doing (the Stop closes the window first), not the program's.
_WINDOW_GONE = {("turtle", "Terminator"), ("_tkinter", "TclError"), ("pygame", "error")}
STOPPING = b"stopping\n"    # the agent's note on the channel when the student pressed Stop
# Written by scripts/build_sandbox_env.sh into the sandbox environment (sys.prefix).
_PACKAGES_FILE = ("share", "pyplay", "packages.txt")
_PREBUILT_CACHE = ("share", "pyplay", "cache")
_MIXER_AHEAD: dict[str, Any] = {}   # sandbox/mixer_ahead.py's names, loaded by the pygame zygote


def _report(channel: socket.socket, message: dict[str, str]) -> None:
    """Tell the agent which limit a fatal error came from (best effort)."""
    try:
        channel.sendall((json.dumps(message) + "\n").encode())
    except OSError:
        pass


def _limit_of(error: BaseException) -> str | None:
    if isinstance(error, MemoryError):
        return "memory"
    if isinstance(error, RuntimeError) and "can't start new thread" in str(error):
        return "processes"
    if isinstance(error, OSError) and error.errno in _ERRNO_LIMITS:
        if isinstance(error, BlockingIOError) and error.errno == 11:
            return "processes"
        return _ERRNO_LIMITS[error.errno]
    return None


def _user_traceback(tb: types.TracebackType | None, entry_dir: str) -> types.TracebackType | None:
    """Drop the launcher's and runpy's frames so the traceback starts in the student's code."""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename not in _OWN_FILES:
            return tb
        tb = tb.tb_next
    return None


def _stop_was_pressed(channel: socket.socket) -> bool:
    """Whether the agent noted a Stop; read only when the program is already dying."""
    try:
        return channel.recv(len(STOPPING), socket.MSG_DONTWAIT | socket.MSG_PEEK) == STOPPING
    except OSError:
        return False


def _window_gone(kind: type[BaseException]) -> bool:
    return any((base.__module__, base.__qualname__) in _WINDOW_GONE for base in kind.__mro__)


def _install_excepthook(channel: socket.socket, entry_dir: str) -> None:
    def hook(kind: type[BaseException], value: BaseException, tb: types.TracebackType | None) -> None:
        if _window_gone(kind) and _stop_was_pressed(channel):
            return  # the terminal says "Stopped."; a traceback here would be ours, not theirs
        limit = _limit_of(value)
        if limit:
            _report(channel, {"limit": limit})
        traceback.print_exception(kind, value, _user_traceback(tb, entry_dir))
        if isinstance(value, ModuleNotFoundError) and value.name:
            _hint_available(value.name)
    sys.excepthook = hook


def _size_turtle_window(width: int, height: int) -> None:
    """turtle's default window is half the screen's width and three quarters of its height;
    here it is the IDE's display pane, so a drawing is as big on a Chromebook as on a
    desktop.  A program's own ``turtle.setup(...)`` still decides, as on a desktop."""
    turtle = sys.modules.get("turtle")     # pre-imported by the turtle zygote; else nothing to do
    if turtle is not None:
        turtle._CFG.update(width=width, height=height)


def _hint_available(missing: str) -> None:
    """After the usual traceback, one line naming what can be imported here: a desktop's
    `pip install` is not something the student can do (list: build_sandbox_env.sh)."""
    try:
        with open(os.path.join(sys.prefix, *_PACKAGES_FILE), encoding="utf-8") as listing:
            packages = listing.read().strip()
    except OSError:
        return
    top = missing.partition(".")[0]
    print(f"pyplay: {top!r} is not installed here. Besides your own files and Python's standard library "
          f"you can import: {packages}.", file=sys.stderr)


class _LinkCacheOnImport:
    """A meta path finder that finds nothing: on the program's first ``import <package>`` it
    links the cache built at make time into the run's empty cache folder, then steps aside.

    matplotlib lists the machine's fonts on its first import (~0.5 s in gVisor) into
    $XDG_CACHE_HOME/matplotlib, which must be writable (a read-only MPLCONFIGDIR makes it
    warn and build the list again elsewhere).  Linked only on import, nothing appears in
    /tmp for the programs that do not use the package."""

    def __init__(self, package: str, prebuilt: str) -> None:
        self.package, self.prebuilt = package, prebuilt

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == self.package:
            sys.meta_path.remove(self)
            _link_cache(self.prebuilt, os.path.join(os.environ.get("XDG_CACHE_HOME", "/tmp/.cache"), name))


def _link_cache(prebuilt: str, folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(prebuilt):
            if not os.path.lexists(os.path.join(folder, name)):
                os.symlink(os.path.join(prebuilt, name), os.path.join(folder, name))
    except OSError:
        pass  # the package builds its own cache, as on a desktop's first run


def _offer_prebuilt_caches() -> None:
    caches = os.path.join(sys.prefix, *_PREBUILT_CACHE)
    try:
        packages = os.listdir(caches)
    except OSError:
        return
    for package in packages:
        sys.meta_path.insert(0, _LinkCacheOnImport(package, os.path.join(caches, package)))


def _limit_myself(limits: dict[str, int]) -> None:
    """Soft and hard both, so the program cannot raise them back; never above what we have."""
    for name, value in limits.items():
        kind = getattr(resource, name)
        _, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


def _wait_for_go(channel: socket.socket) -> dict[str, Any]:
    buffer = b""
    while not buffer.endswith(b"\n"):
        chunk = channel.recv(65536)
        if not chunk:
            os._exit(0)  # the agent went away before a claim: nothing to run
        buffer += chunk
    return json.loads(buffer)


def _focus_like_a_window_manager() -> None:
    """No window manager hands out keyboard focus here, so Tk's focus_set (listen(),
    textinput's entry field) must take the X focus itself, as focus_force does."""
    import tkinter
    tkinter.Misc.focus_set = tkinter.Misc.focus_force  # type: ignore[method-assign]  # a deliberate patch
    tkinter.Misc.focus = tkinter.Misc.focus_force


def _initialise_pygame_display() -> None:
    """pygame's display start-up (the X connection) costs 0.1-0.2 s in gVisor: done here, the
    program's own pygame.init() finds it done and its first frame comes that much sooner."""
    display = sys.modules.get("pygame.display")
    if display is not None:
        display.init()


def _open_mixer_ahead() -> Callable[[], None]:
    """The program's pygame.init() would spend 20-40 ms, most of it opening the sound device:
    done here instead, in pygame sandboxes with sound (sandbox/mixer_ahead.py says when the
    program's own settings win).  Returns what lets the device's audio thread go, at "go"."""
    pygame = sys.modules.get("pygame")
    if pygame is not None and _MIXER_AHEAD and os.environ.get("PULSE_SERVER"):
        return _MIXER_AHEAD["open_ahead"](pygame)
    return lambda: None


def _import_for(mode: str) -> None:
    """The zygote's share of the warm-up: imports only (no X connection survives a fork).
    pyplay's own modules are only borrowed for it: forgotten again, the program cannot import them."""
    sys.path.insert(0, os.path.dirname(_HERE))
    try:
        from sandbox import modes
        if modes.has_display(mode):
            from sandbox import preload
            preload.prewarm(["pygame"] if mode == "pygame" else ["tkinter", "turtle"])
        if mode == "pygame":
            _MIXER_AHEAD.update(runpy.run_path(os.path.join(_HERE, "mixer_ahead.py"), run_name="_pyplay_mixer_ahead"))
    finally:
        del sys.path[0]
        for name in [n for n in sys.modules if n == "sandbox" or n.startswith("sandbox.")]:
            del sys.modules[name]


def _finish_warm_up(mode: str) -> None:
    """The launcher's share, after the fork: what needs this run's X server."""
    if mode == "turtle":
        _focus_like_a_window_manager()
    elif mode == "pygame":
        _initialise_pygame_display()


# --- the zygote ----------------------------------------------------------------------

def _serve_spawns(control: socket.socket) -> socket.socket:
    """The zygote's loop: hand each request to a spare fork, report its pid and exit status.

    The spare is forked ahead, while the previous run still runs, so a reset does not wait
    for a fork (~10 ms in gVisor).  It stays root, holding nothing but its socket, until
    a request makes it the next run's launcher.  Returns only in that child, with the
    channel to the agent it should use."""
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()
    while True:
        forked = _fork_spare((wake_read, wake_write), control)
        if isinstance(forked, socket.socket):
            return forked
        spare_pid, spare = forked
        request, fds = _next_request(control, wake_read, children)
        socket.send_fds(spare, [request], fds)
        for fd in fds:
            os.close(fd)
        spare.close()
        children.add(spare_pid)
        control.sendall(json.dumps({"spawned": spare_pid}).encode())


def _fork_spare(zygote_fds: tuple[int, int], control: socket.socket) -> tuple[int, socket.socket] | socket.socket:
    """(pid, socket) in the zygote; the channel in the spare once it has a run.

    The spare closes the zygote's own ends; the control socket through its object, or that
    object's finalizer would later close whatever number the program reused it for."""
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid:
        child_end.close()
        return pid, parent_end
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in zygote_fds:
        os.close(fd)
    control.close()
    parent_end.close()
    request, fds, _, _ = socket.recv_fds(child_end, _MESSAGE_BYTES, _SPAWN_FDS)
    if not request:
        os._exit(0)  # the zygote has gone: so has the sandbox
    child_end.close()
    _become_program(fds[0], json.loads(request))
    return socket.socket(fileno=fds[1])


def _next_request(control: socket.socket, wake_read: int, children: set[int]) -> tuple[bytes, list[int]]:
    """Wait for the agent's next request, reporting launcher exits meanwhile."""
    while True:
        readable, _, _ = select.select([control.fileno(), wake_read], [], [])
        if wake_read in readable:
            _drain(wake_read)
            _report_exits(control, children)
        if control.fileno() in readable:
            request, fds, _, _ = socket.recv_fds(control, _MESSAGE_BYTES, _SPAWN_FDS)
            if not request:
                os._exit(0)  # the agent has gone: so has the sandbox
            return request, fds


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _report_exits(control: socket.socket, children: set[int]) -> None:
    """Tell the agent which launchers have exited, while any is out."""
    if not children:
        return
    for pid, status in reap_exited():
        children.discard(pid)
        control.sendall(json.dumps({"exited": pid, "status": status}).encode())
        if not children:
            return


def reap_exited() -> Iterator[tuple[int, int]]:
    """(pid, waitpid status) of each child that has exited, without waiting for the others.

    The agent reaps with it too: it lives here because this file may import nothing of pyplay."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status


def _become_program(tty: int, request: dict[str, Any]) -> None:
    """In the forked child, as root: the PTY as controlling terminal and stdio, a SysV IPC
    namespace of its own (the reset cannot list IPC objects in gVisor), then the student."""
    os.setsid()
    fcntl.ioctl(tty, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(tty, fd)
    if tty > 2:
        os.close(tty)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libc = ctypes.CDLL(None, use_errno=True)
    if request.get("isolate_ipc") and libc.unshare(_CLONE_NEWIPC) != 0:
        os._exit(70)  # never run a program that could see the previous run's IPC objects
    if os.getuid() == 0:
        uid = request["uid"]
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)  # as after an exec: the student's own process
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    _terminal_stdio()


def _terminal_stdio() -> None:
    """The interpreter chose stdio buffering when the zygote started, without a terminal:
    make them what a terminal gets (line-buffered), so output shows as it is printed.
    The __std*__ originals too, so code that restores them gets these; they stay open for
    the program's whole life (no ``with``)."""
    stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
    stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stdin = sys.__stdin__ = stdin  # type: ignore[misc]  # Final in typeshed, replaced on purpose
    sys.stdout = sys.__stdout__ = stdout  # type: ignore[misc]  # Final in typeshed, replaced on purpose
    sys.stderr = sys.__stderr__ = stderr  # type: ignore[misc]  # Final in typeshed, replaced on purpose


def _run(channel: socket.socket, mode: str) -> None:
    """A launcher: warm up, say ready, run the program when the agent says go."""
    os.set_inheritable(channel.fileno(), False)
    _finish_warm_up(mode)
    _offer_prebuilt_caches()
    channel.sendall(b"ready\n")
    release_audio = _open_mixer_ahead()   # after "ready", off a reset's path: a "go" waits for it at most
    go = _wait_for_go(channel)
    release_audio()
    entry = go["entry"]
    entry_dir = os.path.dirname(entry)
    os.chdir(go.get("cwd", entry_dir))
    os.environ.update(go.get("env", {}))
    _limit_myself(go.get("rlimits", {}))
    if go.get("screen"):
        _size_turtle_window(*go["screen"])
    sys.argv[:] = [entry]
    sys.path[0] = entry_dir
    _install_excepthook(channel, entry_dir)
    runpy.run_path(entry, run_name="__main__")


def main() -> None:
    if sys.argv[1] != "--zygote":
        raise SystemExit("usage: launcher.py --zygote CONTROL_FD MODE")
    control = socket.socket(fileno=int(sys.argv[2]))
    mode = sys.argv[3]
    _import_for(mode)
    control.sendall(json.dumps({"zygote": os.getpid()}).encode())
    channel = _serve_spawns(control)
    _run(channel, mode)


if __name__ == "__main__":
    main()

"""The student's program's own process: started before the claim, runs it on "go".

The agent spawns this file under the PTY while the sandbox waits in the warm pool,
so the interpreter (and, for display modes, pygame/tkinter) is already loaded when
the student presses Run.  On "go" it becomes ``python <entry>``: the entry runs as
``__main__`` with ``sys.argv``/``sys.path`` as the desktop would set them, and an
uncaught exception prints the same traceback the desktop prints.

This file is run by path (not ``-m``) and imports only the standard library, so
nothing of pyplay is importable by the student's program.
"""
import json
import os
import resource
import runpy
import socket
import sys
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))
_OWN_FILES = {os.path.abspath(__file__), runpy.__file__}
_ERRNO_LIMITS = {24: "open_files", 23: "open_files", 28: "disk", 27: "file_size", 11: "processes", 12: "memory"}


def _report(channel, message):
    """Tell the agent which limit a fatal error came from (best effort)."""
    try:
        channel.sendall((json.dumps(message) + "\n").encode())
    except OSError:
        pass


def _limit_of(error):
    if isinstance(error, MemoryError):
        return "memory"
    if isinstance(error, RuntimeError) and "can't start new thread" in str(error):
        return "processes"
    if isinstance(error, OSError) and error.errno in _ERRNO_LIMITS:
        if isinstance(error, BlockingIOError) and error.errno == 11:
            return "processes"
        return _ERRNO_LIMITS[error.errno]
    return None


def _user_traceback(tb, entry_dir):
    """Drop the launcher's and runpy's frames so the traceback starts in the student's code."""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename not in _OWN_FILES:
            return tb
        tb = tb.tb_next
    return None


def _install_excepthook(channel, entry_dir):
    def hook(kind, value, tb):
        limit = _limit_of(value)
        if limit:
            _report(channel, {"limit": limit})
        traceback.print_exception(kind, value, _user_traceback(tb, entry_dir))
    sys.excepthook = hook


def _limit_myself(limits):
    """Soft and hard both, so the program cannot raise them back; never above what we have."""
    for name, value in limits.items():
        kind = getattr(resource, name)
        _, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


def _wait_for_go(channel):
    buffer = b""
    while not buffer.endswith(b"\n"):
        chunk = channel.recv(65536)
        if not chunk:
            os._exit(0)  # the agent went away before a claim: nothing to run
        buffer += chunk
    return json.loads(buffer)


def _focus_like_a_window_manager():
    """No window manager hands out keyboard focus here, so Tk's focus_set (listen(),
    textinput's entry field) must take the X focus itself, as focus_force does."""
    import tkinter
    tkinter.Misc.focus_set = tkinter.Misc.focus_force
    tkinter.Misc.focus = tkinter.Misc.focus_force


def _initialise_pygame_display():
    """pygame's display start-up (the X connection) costs 0.1-0.2 s in gVisor: done here, the
    program's own pygame.init() finds it done and its first frame comes that much sooner."""
    display = sys.modules.get("pygame.display")
    if display is not None:
        display.init()


def _preload(mode):
    """Warm sandboxes of display modes have pygame or tkinter imported before the claim."""
    if mode not in ("pygame", "turtle"):
        return
    sys.path.insert(0, os.path.dirname(_HERE))
    try:
        from sandbox import preload
        preload.prewarm(["pygame"] if mode == "pygame" else ["tkinter", "turtle"])
        if mode == "turtle":
            _focus_like_a_window_manager()
        else:
            _initialise_pygame_display()
    finally:
        del sys.path[0]
        for name in [n for n in sys.modules if n == "sandbox" or n.startswith("sandbox.")]:
            del sys.modules[name]


def main():
    channel = socket.socket(fileno=int(sys.argv[1]))
    os.set_inheritable(channel.fileno(), False)
    _preload(sys.argv[2] if len(sys.argv) > 2 else "python")
    channel.sendall(b"ready\n")
    go = _wait_for_go(channel)
    entry = go["entry"]
    entry_dir = os.path.dirname(entry)
    os.chdir(go.get("cwd", entry_dir))
    os.environ.update(go.get("env", {}))
    _limit_myself(go.get("rlimits", {}))
    sys.argv[:] = [entry]
    sys.path[0] = entry_dir
    _install_excepthook(channel, entry_dir)
    runpy.run_path(entry, run_name="__main__")


if __name__ == "__main__":
    main()

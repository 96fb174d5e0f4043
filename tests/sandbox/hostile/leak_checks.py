"""Leak checks: nothing of one run may reach the next run of the same session.

Each check plants something in a first run and looks for it in a second run on the same
socket (so on the same sandbox, reset in place between them).  Each raises AssertionError
with ``LEAKED [...]`` when it finds what the first run left.  They run against the real
service (they must pass) and against one whose agents skip the reset (they must fail:
the sabotage check in tests/sandbox/hostile/test_sabotage.py).
"""
from __future__ import annotations

from typing import Awaitable, Callable, Dict

from testkit.client import run_program

MARK = "pyplay-leak"

PLANT_PROCESSES = f"""
import os, signal, socket, subprocess, sys, time
subprocess.Popen(['sleep', '300'])                       # a background process
stubborn = subprocess.Popen([sys.executable, '-c',
    'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)'])
middle = os.fork()
if middle == 0:                                          # a double-forked setsid daemon
    os.setsid()
    if os.fork() == 0:
        listener = socket.socket(socket.AF_UNIX)
        listener.bind('\\0{MARK}')                       # holding an abstract unix socket
        listener.listen()
        time.sleep(300)
    os._exit(0)
os.waitpid(middle, 0)
# Stopped last: a process exiting beside a stopped one in an orphaned group gets SIGHUP.
stopped = subprocess.Popen(['sleep', '300'])
os.kill(stopped.pid, signal.SIGSTOP)
time.sleep(0.5)
print('planted', flush=True)
"""

LOOK_PROCESSES = f"""
import os, socket
me = os.getpid()
found = []
for pid in os.listdir('/proc'):
    if pid.isdigit() and int(pid) != me:
        try:
            if os.stat('/proc/' + pid).st_uid == os.getuid():
                found.append(open('/proc/' + pid + '/cmdline', 'rb').read().replace(b'\\0', b' ').decode()[:60])
        except OSError:
            pass
client = socket.socket(socket.AF_UNIX)
try:
    client.connect('\\0{MARK}')
    found.append('abstract socket')
except OSError:
    pass
print('LEAKED', found)
"""

PLANT_FILES = f"""
import os
os.environ['{MARK.upper().replace('-', '_')}'] = '1'
os.putenv('{MARK.upper().replace('-', '_')}', '1')
for path in ['/workspace/{MARK}', '/tmp/{MARK}', '/dev/shm/{MARK}', os.path.expanduser('~/.{MARK}')]:
    open(path, 'w').write('x')
os.makedirs('/tmp/{MARK}-dir/inner')
os.chmod('/tmp/{MARK}-dir', 0)                            # a folder its owner cannot enter
os.symlink('/etc/passwd', '/workspace/{MARK}-link')
os.chdir('/tmp')
print('planted', flush=True)
"""

LOOK_FILES = f"""
import os
found = [folder + '/' + name for folder in ('/workspace', '/tmp', '/dev/shm')
         for name in os.listdir(folder) if name != 'main.py']
found += [name for name in os.environ if '{MARK.upper().replace('-', '_')}' in name]
if os.getcwd() != '/workspace':
    found.append('cwd ' + os.getcwd())
print('LEAKED', found)
"""

IPC_KEYS = (0x5079, 0x5080, 0x5081)
_IPC = f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
keys = {IPC_KEYS!r}
"""
PLANT_IPC = _IPC + """
libc.shmget(keys[0], 4096, 0o1600)                        # IPC_CREAT | 0600
libc.semget(keys[1], 1, 0o1600)
libc.msgget(keys[2], 0o1600)
print('planted', flush=True)
"""
LOOK_IPC = _IPC + """
found = [name for name, found in (('shm', libc.shmget(keys[0], 0, 0)), ('sem', libc.semget(keys[1], 0, 0)),
                                  ('msg', libc.msgget(keys[2], 0))) if found >= 0]
print('LEAKED', found)
"""

# X: a window that outlives its client (close-down mode RetainPermanent), a property on the
# root window, and the PRIMARY selection.  All through libX11, as a program could.
_X = """
import ctypes, ctypes.util, os
x = ctypes.CDLL(ctypes.util.find_library('X11'))
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
dpy = x.XOpenDisplay(os.environ['DISPLAY'].encode())
for name in ('XDefaultRootWindow', 'XInternAtom', 'XCreateSimpleWindow', 'XGetSelectionOwner'):
    getattr(x, name).restype = ctypes.c_ulong
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XCreateSimpleWindow.argtypes = ([ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_int] * 4 + [ctypes.c_uint]
                                  + [ctypes.c_ulong] * 2)
x.XStoreName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_char_p]
x.XChangeProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_int,
                              ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
x.XSetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
x.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x.XSetCloseDownMode.argtypes = [ctypes.c_void_p, ctypes.c_int]
x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                         ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                         ctypes.POINTER(ctypes.c_uint)]
x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
x.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
x.XGetWindowProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long, ctypes.c_long,
                                 ctypes.c_int, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                                 ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_ulong),
                                 ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_void_p)]
root = x.XDefaultRootWindow(dpy)
mark = x.XInternAtom(dpy, b'PYPLAY_LEAK', 0)
string = x.XInternAtom(dpy, b'STRING', 0)
primary = x.XInternAtom(dpy, b'PRIMARY', 0)
"""
PLANT_X = _X + """
window = x.XCreateSimpleWindow(dpy, root, 0, 0, 50, 50, 0, 0, 0)
x.XStoreName(dpy, window, b'pyplay-leak')
x.XChangeProperty(dpy, root, mark, string, 8, 0, b'x', 1)   # PropModeReplace
x.XSetSelectionOwner(dpy, primary, window, 0)
x.XSetCloseDownMode(dpy, 1)                                  # RetainPermanent: outlive this client
x.XSync(dpy, 0)
print('planted', flush=True)
"""
LOOK_X = _X + """
found = []
kind, fmt = ctypes.c_ulong(), ctypes.c_int()
count, after, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
x.XGetWindowProperty(dpy, root, mark, 0, 16, 0, 0, ctypes.byref(kind), ctypes.byref(fmt), ctypes.byref(count),
                     ctypes.byref(after), ctypes.byref(data))
if kind.value:
    found.append('root property')
if x.XGetSelectionOwner(dpy, primary):
    found.append('selection owner')
parent, top = ctypes.c_ulong(), ctypes.c_ulong()
children, n = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
x.XQueryTree(dpy, root, ctypes.byref(top), ctypes.byref(parent), ctypes.byref(children), ctypes.byref(n))
for i in range(n.value):
    name = ctypes.c_char_p()
    if x.XFetchName(dpy, children[i], ctypes.byref(name)) and name.value == b'pyplay-leak':
        found.append('window')
print('LEAKED', found)
"""


async def across_two_runs(ws, plant: str, look: str, mode: str = "python") -> None:
    first = await run_program(ws, plant, mode=mode, timeout=60)
    assert "planted" in first.text, first.text
    second = await run_program(ws, look, mode=mode, timeout=60)
    assert "LEAKED []" in second.text, second.text


def _check(plant: str, look: str, mode: str = "python") -> Callable[..., Awaitable[None]]:
    async def check(ws, service) -> None:
        await across_two_runs(ws, plant, look, mode)
    return check


LEAK_CHECKS: Dict[str, Callable[..., Awaitable[None]]] = {
    "processes": _check(PLANT_PROCESSES, LOOK_PROCESSES),
    "files": _check(PLANT_FILES, LOOK_FILES),
    "sysv_ipc": _check(PLANT_IPC, LOOK_IPC),
    "x_server": _check(PLANT_X, LOOK_X, mode="pygame"),
}

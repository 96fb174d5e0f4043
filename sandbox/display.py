"""The display of pygame and turtle runs: Xvnc, and a desktop that follows the program's window.

Runs inside the sandbox on Python 3.10 with the standard library only (ctypes on
libX11 and libXrandr). The recipe, measured in gVisor, is in docs/display.md:

* ``start_xvnc`` + ``wait_ready``: TigerVNC's Xvnc serving RFB on a unix socket only,
  no window manager.
* ``program_environment``: what the student's program needs to find the display
  (SDL's X11 driver, window at the origin, no GL-backed window surface, dummy audio).
* ``watch_window_size`` (a ``DesktopKeeper`` loop): main windows at the origin, keys to
  the topmost window, the VNC desktop exactly the size of the windows (RandR), pixels
  kept across resizes and after the program exits. libX11 ends the whole process
  when the X server goes away, so the agent runs the watcher as its own process:
  ``python -m sandbox.display watch :1`` prints one JSON line per desktop size.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from sandbox.errors import XlibFailed, XvncFailed

X11_SOCKET_DIR = "/tmp/.X11-unix"
XVNC_NAMES = ("Xtigervnc", "Xvnc")   # /usr/bin/Xvnc is an /etc/alternatives link
DPI = 96                             # Tk scales fonts by the screen's millimetre size
MIN_SIZE = (32, 32)                  # RandR minimum of Xvnc
DEFAULT_MAX_SIZE = (1920, 1080)
WINDOW_GAP = 8                       # between side-by-side toplevels: the backdrop shows they are two
PR_SET_PDEATHSIG = 1


# --- Xvnc -------------------------------------------------------------------------

@dataclasses.dataclass
class Xvnc:
    process: subprocess.Popen
    display: Optional[int]            # None until wait_ready when Xvnc picks a free one
    rfb_unix_path: str
    width: int
    height: int
    ready_fd: int                     # read end of -displayfd; closed by wait_ready

    @property
    def display_name(self) -> str:
        return f":{self.display}"

    @property
    def number(self) -> int:
        """The display number, for X clients: known once ``wait_ready`` has returned."""
        if self.display is None:
            raise XvncFailed("Xvnc has not said its display number yet (wait_ready first)")
        return self.display


def xvnc_binary() -> str:
    for name in XVNC_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise XvncFailed("TigerVNC's Xvnc is not installed (looked for Xtigervnc, Xvnc)")


def xvnc_arguments(display: Optional[int], width: int, height: int, rfb_unix_path: str,
                   ready_fd: int, desktop_name: str = "pyplay", frame_rate: int = 60) -> List[str]:
    chosen = [f":{display}"] if display is not None else []   # else: first free number
    return [
        xvnc_binary(), *chosen,
        "-geometry", f"{width}x{height}", "-depth", "24",
        "-displayfd", str(ready_fd),          # written once X clients can connect
        "-rfbunixpath", rfb_unix_path, "-rfbunixmode", "0600",
        "-rfbport", "-1",                     # no TCP RFB listener
        "-nolisten", "tcp", "-SecurityTypes", "None", "-AlwaysShared",
        "-AcceptSetDesktopSize=0",            # the program's window decides the size
        "-desktop", desktop_name, "-FrameRate", str(frame_rate),
    ]


def ensure_x11_socket_dir(path: str = X11_SOCKET_DIR) -> None:
    """Xvnc refuses to create /tmp/.X11-unix unless it runs as root."""
    os.makedirs(path, mode=0o1777, exist_ok=True)
    os.chmod(path, 0o1777)


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_xvnc(display: Optional[int], width: int, height: int, rfb_unix_path: str,
               log_path: Optional[str] = None, die_with_parent: bool = False,
               desktop_name: str = "pyplay", frame_rate: int = 60) -> Xvnc:
    """Start Xvnc on ``:display``; call ``wait_ready`` before starting X clients.

    ``die_with_parent`` (for tests on the host) ends Xvnc when the thread that started
    it ends; inside a sandbox the sandbox's end takes Xvnc with it anyway."""
    ensure_x11_socket_dir()
    read_fd, write_fd = os.pipe()
    args = xvnc_arguments(display, width, height, rfb_unix_path, write_fd,
                          desktop_name=desktop_name, frame_rate=frame_rate)
    with contextlib.ExitStack() as opened:   # Xvnc holds a copy of the log: ours is closed once it has started
        log = opened.enter_context(open(log_path, "ab")) if log_path else subprocess.DEVNULL
        try:
            process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       pass_fds=(write_fd,), start_new_session=True,
                                       preexec_fn=_die_with_parent if die_with_parent else None)
        except OSError as exc:
            os.close(read_fd)
            raise XvncFailed(f"cannot start Xvnc: {exc}") from exc
        finally:
            os.close(write_fd)
    return Xvnc(process, display, rfb_unix_path, width, height, read_fd)


def wait_ready(xvnc: Xvnc, timeout: float = 10.0) -> float:
    """Block until Xvnc accepts X clients and RFB connections; returns seconds waited."""
    start = time.monotonic()
    written = b""
    try:   # Xvnc writes the number, then "\n", and dies if the pipe closes in between
        while not written.endswith(b"\n") and len(written) < 64:
            remaining = start + timeout - time.monotonic()
            ready, _, _ = select.select([xvnc.ready_fd], [], [], max(0.0, remaining))
            chunk = os.read(xvnc.ready_fd, 64) if ready else b""
            if not chunk:
                break
            written += chunk
    finally:
        os.close(xvnc.ready_fd)
    if not written.strip().isdigit():
        code = xvnc.process.poll()
        why = f"exited with status {code}" if code is not None else f"not ready after {timeout} s"
        raise XvncFailed(f"Xvnc {why}")
    xvnc.display = int(written)
    return time.monotonic() - start


def stop_xvnc(xvnc: Xvnc, grace: float = 1.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if xvnc.process.poll() is None:
        xvnc.process.terminate()
        try:
            xvnc.process.wait(grace)
        except subprocess.TimeoutExpired:
            xvnc.process.kill()
            xvnc.process.wait()


def program_environment(display: int, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The student's program's environment for a display run."""
    env = dict(base or {})
    env.update({
        "DISPLAY": f":{display}",
        "SDL_VIDEODRIVER": "x11",
        "SDL_AUDIODRIVER": "dummy",         # no sound device in the sandbox (yet)
        "SDL_VIDEO_WINDOW_POS": "0,0",      # pygame reads it; SDL alone would centre
        # Without this SDL backs the window surface with a GL renderer: loading Mesa
        # makes set_mode take 0.35-0.55 s in gVisor instead of 0.03 s.
        "SDL_FRAMEBUFFER_ACCELERATION": "0",
        # pygame.SCALED windows get an SDL renderer; its OpenGL driver draws nothing under
        # gVisor (black screen), the software one draws everything.
        "SDL_RENDER_DRIVER": "software",
        # plt.show() opens a Tk window in the display (matplotlib would otherwise probe Qt and GTK first).
        "MPLBACKEND": "TkAgg",
        # fontconfig (pygame.font.SysFont, Tk) writes its cache under $HOME otherwise,
        # which is the student's workspace.
        "XDG_CACHE_HOME": "/tmp/.cache",
    })
    return env


# --- Xlib and RandR through ctypes ----------------------------------------------------

Window = ctypes.c_ulong
IS_VIEWABLE = 2
BACKGROUND_NONE = 0
REVERT_TO_POINTER_ROOT = 1
POINTER_ROOT = 1                     # XGetInputFocus: 0 is None, 1 is PointerRoot
INCLUDE_INFERIORS = 1
SUBSTRUCTURE_NOTIFY_MASK = 1 << 19
RR_ROTATE_0 = 1
CURRENT_TIME = 0
ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class _WindowAttributes(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int),
                ("height", ctypes.c_int), ("border_width", ctypes.c_int), ("depth", ctypes.c_int),
                ("visual", ctypes.c_void_p), ("root", Window), ("class_", ctypes.c_int),
                ("bit_gravity", ctypes.c_int), ("win_gravity", ctypes.c_int),
                ("backing_store", ctypes.c_int), ("backing_planes", ctypes.c_ulong),
                ("backing_pixel", ctypes.c_ulong), ("save_under", ctypes.c_int),
                ("colormap", ctypes.c_ulong), ("map_installed", ctypes.c_int),
                ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
                ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
                ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p)]


class _ModeInfo(ctypes.Structure):
    _fields_ = [("id", ctypes.c_ulong), ("width", ctypes.c_uint), ("height", ctypes.c_uint),
                ("dotClock", ctypes.c_ulong), ("hSyncStart", ctypes.c_uint),
                ("hSyncEnd", ctypes.c_uint), ("hTotal", ctypes.c_uint), ("hSkew", ctypes.c_uint),
                ("vSyncStart", ctypes.c_uint), ("vSyncEnd", ctypes.c_uint),
                ("vTotal", ctypes.c_uint), ("name", ctypes.c_char_p),
                ("nameLength", ctypes.c_uint), ("modeFlags", ctypes.c_ulong)]


class _ScreenResources(ctypes.Structure):
    _fields_ = [("timestamp", ctypes.c_ulong), ("configTimestamp", ctypes.c_ulong),
                ("ncrtc", ctypes.c_int), ("crtcs", ctypes.POINTER(ctypes.c_ulong)),
                ("noutput", ctypes.c_int), ("outputs", ctypes.POINTER(ctypes.c_ulong)),
                ("nmode", ctypes.c_int), ("modes", ctypes.POINTER(_ModeInfo))]


def _load(soname: str, short_name: str) -> ctypes.CDLL:
    try:
        return ctypes.CDLL(soname)
    except OSError:
        # find_library runs ldconfig and gcc: slow in gVisor, so only as a fallback
        found = ctypes.util.find_library(short_name)
        if found is None:
            raise XlibFailed(f"cannot load {soname}") from None
        return ctypes.CDLL(found)


def _bind_xlib(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i, u, w = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, Window
    lib.XOpenDisplay.restype, lib.XOpenDisplay.argtypes = p, [ctypes.c_char_p]
    lib.XDefaultRootWindow.restype, lib.XDefaultRootWindow.argtypes = w, [p]
    lib.XQueryTree.argtypes = [p, w, ctypes.POINTER(w), ctypes.POINTER(w),
                               ctypes.POINTER(ctypes.POINTER(w)), ctypes.POINTER(u)]
    lib.XGetWindowAttributes.argtypes = [p, w, ctypes.POINTER(_WindowAttributes)]
    lib.XSelectInput.argtypes = [p, w, ctypes.c_long]
    lib.XConnectionNumber.argtypes = [p]
    lib.XPending.argtypes = [p]
    lib.XNextEvent.argtypes = [p, p]
    lib.XSync.argtypes = [p, i]
    lib.XFree.argtypes = [p]
    lib.XCloseDisplay.argtypes = [p]
    lib.XSetErrorHandler.restype, lib.XSetErrorHandler.argtypes = p, [ERROR_HANDLER]
    lib.XGetTransientForHint.argtypes = [p, w, ctypes.POINTER(w)]
    lib.XGrabServer.argtypes = lib.XUngrabServer.argtypes = [p]
    lib.XCreateSimpleWindow.restype = w
    lib.XCreateSimpleWindow.argtypes = [p, w, i, i, u, u, u, ctypes.c_ulong, ctypes.c_ulong]
    lib.XSetWindowBackgroundPixmap.argtypes = [p, w, ctypes.c_ulong]
    lib.XSetWindowBackground.argtypes = [p, w, ctypes.c_ulong]
    lib.XClearWindow.argtypes = [p, w]
    lib.XMoveResizeWindow.argtypes = [p, w, i, i, u, u]
    lib.XMapWindow.argtypes = lib.XLowerWindow.argtypes = [p, w]
    lib.XDefaultScreen.argtypes = [p]
    lib.XDefaultDepth.argtypes = [p, i]
    lib.XCreatePixmap.restype, lib.XCreatePixmap.argtypes = ctypes.c_ulong, [p, w, u, u, u]
    lib.XFreePixmap.argtypes = [p, ctypes.c_ulong]
    lib.XCreateGC.restype, lib.XCreateGC.argtypes = p, [p, ctypes.c_ulong, ctypes.c_ulong, p]
    lib.XSetSubwindowMode.argtypes = [p, p, i]
    lib.XFreeGC.argtypes = [p, p]
    lib.XCopyArea.argtypes = [p, ctypes.c_ulong, ctypes.c_ulong, p, i, i, u, u, i, i]
    lib.XMoveWindow.argtypes = [p, w, i, i]
    lib.XSetInputFocus.argtypes = [p, w, i, ctypes.c_ulong]
    lib.XGetInputFocus.argtypes = [p, ctypes.POINTER(w), ctypes.POINTER(i)]
    return lib


def _bind_xrandr(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i, ul = ctypes.c_void_p, ctypes.c_int, ctypes.c_ulong
    lib.XRRGetScreenResourcesCurrent.restype = ctypes.POINTER(_ScreenResources)
    lib.XRRGetScreenResourcesCurrent.argtypes = [p, Window]
    lib.XRRFreeScreenResources.argtypes = [ctypes.POINTER(_ScreenResources)]
    lib.XRRCreateMode.restype, lib.XRRCreateMode.argtypes = ul, [p, Window, ctypes.POINTER(_ModeInfo)]
    lib.XRRAddOutputMode.argtypes = [p, ul, ul]
    lib.XRRSetCrtcConfig.argtypes = [p, ctypes.POINTER(_ScreenResources), ul, ul, i, i, ul,
                                     ctypes.c_ushort, ctypes.POINTER(ul), i]
    lib.XRRSetScreenSize.argtypes = [p, Window, i, i, i, i]
    return lib


_libs: Dict[str, ctypes.CDLL] = {}
_x_errors: List[int] = []            # error codes since the last check, appended by the handler


@ERROR_HANDLER
def _record_x_error(display: int, event: int) -> int:
    # XErrorEvent: type, display, resourceid, serial, then error_code (unsigned char)
    code = ctypes.cast(event, ctypes.POINTER(ctypes.c_ubyte))[32]
    _x_errors.append(code)          # the default handler would exit() the process
    return 0


def _xlib() -> Tuple[ctypes.CDLL, ctypes.CDLL]:
    if not _libs:
        xlib = _bind_xlib(_load("libX11.so.6", "X11"))
        xrandr = _bind_xrandr(_load("libXrandr.so.2", "Xrandr"))
        xlib.XSetErrorHandler(_record_x_error)
        _libs.update(x11=xlib, xrandr=xrandr)
    return _libs["x11"], _libs["xrandr"]


@dataclasses.dataclass(frozen=True)
class WindowBox:
    x: int
    y: int
    width: int
    height: int
    override_redirect: bool = False
    transient: bool = False          # a dialog (WM_TRANSIENT_FOR): stays where it was put
    window: int = 0


def focus_target(windows: Sequence[WindowBox]) -> Optional[WindowBox]:
    """The window keys should go to: the topmost managed one (a dialog over its main
    window). Without a window manager the X focus follows the pointer, so keys would
    get lost whenever the viewer's pointer rests outside the program's window."""
    managed = [box for box in windows if not box.override_redirect and box.width > 1 and box.height > 1]
    return managed[-1] if managed else None      # XQueryTree lists bottom to top


def is_main_window(box: WindowBox) -> bool:
    return not box.override_redirect and not box.transient and box.width > 1 and box.height > 1


def main_window_places(windows: Sequence[WindowBox], placed: Dict[int, Tuple[int, int]],
                       max_size: Tuple[int, int] = DEFAULT_MAX_SIZE) -> Dict[int, Tuple[int, int]]:
    """Where each main window belongs: the first at the origin, each later one beside the
    others (below them once a row is as wide as the desktop may be), so that several
    toplevels are all visible. A window keeps its place for its life: without a window
    manager nothing else moves them (turtle centres itself, programs set
    SDL_VIDEO_CENTERED) and a window that wandered is put back."""
    places = {box.window: placed[box.window] for box in windows if is_main_window(box) and box.window in placed}
    boxes = {box.window: box for box in windows}
    # A new window already at the free origin stays there (nothing to move, nothing to
    # repaint); the others follow in stacking order, which is the order they were mapped.
    newcomers = sorted((box for box in windows if is_main_window(box) and box.window not in places),
                       key=lambda box: (box.x, box.y) != (0, 0) or (0, 0) in places.values())
    for box in newcomers:
        right = max((x + boxes[w].width for w, (x, _) in places.items()), default=0)
        bottom = max((y + boxes[w].height for w, (_, y) in places.items()), default=0)
        if not places:
            places[box.window] = (0, 0)
        elif right + WINDOW_GAP + box.width <= max_size[0]:
            places[box.window] = (right + WINDOW_GAP, 0)
        else:
            places[box.window] = (0, bottom + WINDOW_GAP)
    return places


def desktop_size_for(windows: Iterable[WindowBox], max_size: Tuple[int, int] = DEFAULT_MAX_SIZE
                     ) -> Optional[Tuple[int, int]]:
    """The desktop that shows every managed top-level window from the origin, or None.

    Override-redirect windows (menus, tooltips, Tk's hidden helpers) never resize the
    desktop; a dialog placed beside the main window makes the desktop grow to show it.
    """
    right = bottom = 0
    for box in windows:
        if box.override_redirect or box.width <= 1 or box.height <= 1:
            continue
        right = max(right, box.x + box.width)
        bottom = max(bottom, box.y + box.height)
    if right <= 0 or bottom <= 0:
        return None
    width = min(max(right, MIN_SIZE[0]), max_size[0])
    height = min(max(bottom, MIN_SIZE[1]), max_size[1])
    return width, height


class XConnection:
    """One client connection to the X server of ``display`` (":1")."""

    def __init__(self, display: str) -> None:
        self.x11, self.xrandr = _xlib()
        self.dpy = self.x11.XOpenDisplay(display.encode())
        if not self.dpy:
            raise XlibFailed(f"cannot open X display {display}")
        self.root = self.x11.XDefaultRootWindow(self.dpy)
        self._event = ctypes.create_string_buffer(192)     # sizeof(XEvent)

    def close(self) -> None:
        if self.dpy:
            self.x11.XCloseDisplay(self.dpy)
            self.dpy = None

    def _attributes(self, window: int) -> Optional[_WindowAttributes]:
        attrs = _WindowAttributes()
        if not self.x11.XGetWindowAttributes(self.dpy, window, ctypes.byref(attrs)):
            return None                                   # destroyed meanwhile
        return attrs

    def screen_size(self) -> Tuple[int, int]:
        attrs = self._attributes(self.root)
        if attrs is None:
            raise XlibFailed("cannot read the root window")
        return attrs.width, attrs.height

    def _query_tree(self, window: int) -> Tuple[int, List[int]]:
        """(parent, children bottom to top) of ``window``."""
        root, parent = Window(), Window()
        children = ctypes.POINTER(Window)()
        count = ctypes.c_uint()
        if not self.x11.XQueryTree(self.dpy, window, ctypes.byref(root), ctypes.byref(parent),
                                   ctypes.byref(children), ctypes.byref(count)):
            raise XlibFailed(f"XQueryTree on window {window:#x} failed")
        windows = [children[i] for i in range(count.value)]
        if children:
            self.x11.XFree(children)
        return parent.value, windows

    def focused_top_level(self) -> int:
        """The top-level window holding the X input focus, 0 for none or PointerRoot."""
        window, revert = Window(), ctypes.c_int()
        self.x11.XGetInputFocus(self.dpy, ctypes.byref(window), ctypes.byref(revert))
        current = window.value
        while current > POINTER_ROOT and current != self.root:
            try:
                parent, _ = self._query_tree(current)
            except XlibFailed:
                return 0                                   # destroyed meanwhile
            if parent == self.root:
                return current
            current = parent
        return 0

    def top_level_windows(self) -> List[WindowBox]:
        """Mapped children of the root window (with no window manager: the program's)."""
        _, windows = self._query_tree(self.root)
        boxes = []
        for window in windows:
            attrs = self._attributes(window)
            if attrs is not None and attrs.map_state == IS_VIEWABLE:
                border = 2 * attrs.border_width
                owner = Window()
                transient = bool(self.x11.XGetTransientForHint(self.dpy, window, ctypes.byref(owner)))
                boxes.append(WindowBox(attrs.x, attrs.y, attrs.width + border, attrs.height + border,
                                       bool(attrs.override_redirect), transient, window))
        return boxes

    def create_backdrop(self, width: int, height: int) -> int:
        """A window under everything with background None. When the program's window
        goes away (the program ended) the server paints nothing there, so the last
        frame stays on the desktop: Xvnc cannot give its root window no background."""
        window = self.x11.XCreateSimpleWindow(self.dpy, self.root, 0, 0, width, height, 0, 0, 0)
        self.x11.XSetWindowBackgroundPixmap(self.dpy, window, BACKGROUND_NONE)
        self.x11.XLowerWindow(self.dpy, window)
        self.x11.XMapWindow(self.dpy, window)
        self.x11.XSync(self.dpy, 0)
        return window

    def fit_backdrop(self, window: int, width: int, height: int) -> None:
        self.x11.XMoveResizeWindow(self.dpy, window, 0, 0, width, height)
        self.x11.XLowerWindow(self.dpy, window)
        self.x11.XSync(self.dpy, 0)

    def focus(self, window: int) -> None:
        self.x11.XSetInputFocus(self.dpy, window, REVERT_TO_POINTER_ROOT, CURRENT_TIME)
        self.x11.XSync(self.dpy, 0)

    def move_windows(self, places: Iterable[Tuple[int, Tuple[int, int]]], backdrop: int) -> None:
        """Move windows, and blacken where they were: the backdrop paints nothing by
        itself (it keeps the last frame), so their old pixels would stay on the desktop."""
        for window, (x, y) in places:
            self.x11.XMoveWindow(self.dpy, window, x, y)
        self.x11.XSetWindowBackground(self.dpy, backdrop, 0)
        self.x11.XClearWindow(self.dpy, backdrop)
        self.x11.XSetWindowBackgroundPixmap(self.dpy, backdrop, BACKGROUND_NONE)
        self.x11.XSync(self.dpy, 0)

    def watch_root(self) -> None:
        """Deliver map/unmap/configure events of top-level windows (see ``wait_events``)."""
        self.x11.XSelectInput(self.dpy, self.root, SUBSTRUCTURE_NOTIFY_MASK)
        self.x11.XSync(self.dpy, 0)

    def wait_events(self, timeout: float, settle: float = 0.0) -> int:
        """Wait up to ``timeout`` s for X events, then drain them until ``settle`` s pass
        without one (toolkits map a window and then fix its size); returns how many."""
        drained, wait, give_up = 0, timeout, 0.0
        while True:
            if not self.x11.XPending(self.dpy):
                ready, _, _ = select.select([self.x11.XConnectionNumber(self.dpy)], [], [], wait)
                if not ready:
                    return drained
            while self.x11.XPending(self.dpy):
                self.x11.XNextEvent(self.dpy, self._event)
                drained += 1
            give_up = give_up or time.monotonic() + 0.25      # bounded for restless windows
            if settle <= 0 or time.monotonic() > give_up:
                return drained
            wait = settle

    # RandR: Xvnc resizes its framebuffer (and tells RFB clients) when the screen does.

    def resize(self, width: int, height: int) -> None:
        """Resize the screen, keeping what is on it: Xvnc's new framebuffer starts black
        and a program that drew once (pygame without a loop) never repaints it.
        The server is grabbed so that the program cannot draw in between."""
        old_width, old_height = self.screen_size()
        keep_width, keep_height = min(width, old_width), min(height, old_height)
        self.x11.XGrabServer(self.dpy)
        try:
            depth = self.x11.XDefaultDepth(self.dpy, self.x11.XDefaultScreen(self.dpy))
            saved = self.x11.XCreatePixmap(self.dpy, self.root, keep_width, keep_height, depth)
            gc = self.x11.XCreateGC(self.dpy, saved, 0, None)
            self.x11.XSetSubwindowMode(self.dpy, gc, INCLUDE_INFERIORS)
            self.x11.XCopyArea(self.dpy, self.root, saved, gc, 0, 0, keep_width, keep_height, 0, 0)
            try:
                self._resize_screen(width, height)
            finally:
                self.x11.XCopyArea(self.dpy, saved, self.root, gc, 0, 0, keep_width, keep_height, 0, 0)
                self.x11.XFreeGC(self.dpy, gc)
                self.x11.XFreePixmap(self.dpy, saved)
        finally:
            self.x11.XUngrabServer(self.dpy)
            self.x11.XSync(self.dpy, 0)

    def _resize_screen(self, width: int, height: int) -> None:
        """Make the screen (and the single VNC output) exactly ``width`` x ``height``."""
        del _x_errors[:]
        resources = self.xrandr.XRRGetScreenResourcesCurrent(self.dpy, self.root)
        if not resources:
            raise XlibFailed("the X server has no RandR")
        try:
            res = resources.contents
            if res.ncrtc < 1 or res.noutput < 1:
                raise XlibFailed("the X server has no RandR output to resize")
            crtc, output = res.crtcs[0], res.outputs[0]
            mode = self._mode_for(res, output, width, height)
            current = self.screen_size()
            if width > current[0] or height > current[1]:      # the CRTC must always fit
                self._set_screen_size(max(width, current[0]), max(height, current[1]))
            outputs = (ctypes.c_ulong * 1)(output)
            self.xrandr.XRRSetCrtcConfig(self.dpy, resources, crtc, CURRENT_TIME, 0, 0, mode,
                                         RR_ROTATE_0, outputs, 1)
            self._set_screen_size(width, height)
            self.x11.XSync(self.dpy, 0)
        finally:
            self.xrandr.XRRFreeScreenResources(resources)
        if _x_errors:
            raise XlibFailed(f"RandR refused {width}x{height} (X error code {_x_errors[0]})")

    def _mode_for(self, res: _ScreenResources, output: int, width: int, height: int) -> int:
        mode = next((res.modes[i].id for i in range(res.nmode)
                     if (res.modes[i].width, res.modes[i].height) == (width, height)), 0)
        if not mode:
            name = f"{width}x{height}".encode()
            info = _ModeInfo(width=width, height=height, dotClock=width * height * 60,
                             hSyncStart=width, hSyncEnd=width, hTotal=width,
                             vSyncStart=height, vSyncEnd=height, vTotal=height,
                             name=name, nameLength=len(name))
            mode = self.xrandr.XRRCreateMode(self.dpy, self.root, ctypes.byref(info))
        self.xrandr.XRRAddOutputMode(self.dpy, output, mode)   # no-op when already there
        return mode

    def _set_screen_size(self, width: int, height: int) -> None:
        millimetres = [int(round(px * 25.4 / DPI)) for px in (width, height)]
        self.xrandr.XRRSetScreenSize(self.dpy, self.root, width, height, *millimetres)


def resize_desktop(display: str, width: int, height: int) -> None:
    """One-shot resize of the X screen (and so of the VNC desktop)."""
    connection = XConnection(display)
    try:
        connection.resize(width, height)
    finally:
        connection.close()


class DesktopKeeper:
    """What a window manager would do, and no more: main windows at the origin, keys
    to the topmost window, the desktop exactly as big as the windows, the last frame
    kept on screen (see ``create_backdrop``)."""

    def __init__(self, connection: XConnection, max_size: Tuple[int, int] = DEFAULT_MAX_SIZE) -> None:
        self.connection, self.max_size = connection, max_size
        self.size = connection.screen_size()
        self.backdrop = connection.create_backdrop(*self.size)
        self.places: Dict[int, Tuple[int, int]] = {}
        self.shown: Set[int] = set()
        self.window_shown = False

    def program_windows(self) -> List[WindowBox]:
        return [box for box in self.connection.top_level_windows() if box.window != self.backdrop]

    def tidy(self) -> Optional[Tuple[int, int]]:
        """Apply the rules once; returns the desktop size when it changed, and when the
        program's first window appeared (the display is worth showing from then on)."""
        windows = self.program_windows()
        self.places = main_window_places(windows, self.places, self.max_size)
        wandered = [(box.window, self.places[box.window]) for box in windows
                    if box.window in self.places and (box.x, box.y) != self.places[box.window]]
        if wandered:
            self.connection.move_windows(wandered, self.backdrop)
            windows = self.program_windows()
        self._focus_new_windows(windows)
        wanted = desktop_size_for(windows, self.max_size)
        if wanted is None:                          # no window: keep size and last frame
            return None
        first, self.window_shown = not self.window_shown, True
        if wanted == self.size:                     # the first window is news even at the same size
            return wanted if first else None
        self.connection.resize(*wanted)
        self.connection.fit_backdrop(self.backdrop, *wanted)
        self.size = wanted
        return wanted

    def _focus_new_windows(self, windows: List[WindowBox]) -> None:
        """Keys go to a window when it appears (a dialog over its main window) or when the
        focused one went away; otherwise the focus stays where the program put it (Tk
        moves it to the Entry a student clicked, in any of its toplevels)."""
        shown = {box.window for box in windows if not box.override_redirect and box.width > 1 and box.height > 1}
        target = focus_target(windows)
        if target is not None and (shown - self.shown or self.connection.focused_top_level() not in shown):
            self.connection.focus(target.window)
        self.shown = shown


def watch_window_size(display: str, on_resize: Callable[[int, int], None],
                      stop: Optional[threading.Event] = None,
                      max_size: Tuple[int, int] = DEFAULT_MAX_SIZE, idle_poll: float = 1.0,
                      settle: float = 0.015) -> None:
    """Run a ``DesktopKeeper`` on ``display`` until ``stop``; ``on_resize(w, h)`` per change.

    Event driven (SubstructureNotify on the root window), so it costs nothing while the
    windows stay put; ``idle_poll`` only bounds how late ``stop`` is noticed.
    """
    connection = XConnection(display)
    stop = stop or threading.Event()
    try:
        keeper = DesktopKeeper(connection, max_size)
        connection.watch_root()
        while not stop.is_set():
            resized = keeper.tidy()
            if resized:
                on_resize(*resized)
            connection.wait_events(idle_poll, settle)
    finally:
        connection.close()


def _print_size(width: int, height: int) -> None:
    print(json.dumps({"width": width, "height": height}), flush=True)


def main(argv: Sequence[str]) -> int:
    """``watch :N`` prints a JSON line per desktop size; ``resize :N WxH`` resizes once."""
    if len(argv) == 2 and argv[0] == "watch":
        try:
            watch_window_size(argv[1], _print_size)
        except KeyboardInterrupt:
            return 0
        return 0
    if len(argv) == 3 and argv[0] == "resize":
        width, height = (int(part) for part in argv[2].split("x"))
        resize_desktop(argv[1], width, height)
        return 0
    print("usage: python -m sandbox.display watch :N | resize :N WxH", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

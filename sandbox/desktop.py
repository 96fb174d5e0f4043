"""The agent's side of a display run: Xvnc up before the claim, the window watcher after it,
window close on Stop, and the RFB endpoint (a unix socket locally, TCP under Nomad).

libX11 ends its whole process when the X server goes away, so everything that talks X
runs in a child process (``python -m sandbox.display watch``, ``python -m sandbox.desktop
closer``), never in the agent itself.

    python -m sandbox.desktop closer :N     # each line "close" on stdin: WM_DELETE_WINDOW to every window
"""
import asyncio
import ctypes
import json
import subprocess
import sys
from typing import Awaitable, Callable, Dict, Optional

from sandbox import display, sound
from sandbox.errors import SoundFailed

# Before the program opens its window the screen is this big: turtle sizes its window
# from the screen (half its width, three quarters of its height), as on a desktop.
INITIAL_SIZE = (1280, 960)
CLOSE_SECONDS = 2.0
HELPER_START_SECONDS = 20.0


class Desktop:
    def __init__(self, xvnc: display.Xvnc, pulse: Optional[subprocess.Popen] = None,
                 audio_path: Optional[str] = None) -> None:
        self.xvnc = xvnc
        self.size = (xvnc.width, xvnc.height)
        self.pulse = pulse                      # the sound server, when this run has sound
        self.audio_path = audio_path if pulse is not None else None
        self._watcher: Optional[asyncio.subprocess.Process] = None
        self._closer: Optional[asyncio.subprocess.Process] = None
        self._sound: Optional[asyncio.subprocess.Process] = None

    @classmethod
    def start(cls, rfb_unix_path: str, audio_path: Optional[str] = None, log_path: Optional[str] = None) -> "Desktop":
        """Xvnc, and the sound server beside it when ``audio_path`` asks for sound."""
        pulse = _start_sound_server() if audio_path else None
        xvnc = display.start_xvnc(None, INITIAL_SIZE[0], INITIAL_SIZE[1], rfb_unix_path, log_path)
        display.wait_ready(xvnc)
        if pulse is not None:
            pulse = _sound_server_ready(pulse)
        return cls(xvnc, pulse, audio_path)

    def environment(self, base: Dict[str, str]) -> Dict[str, str]:
        env = display.program_environment(self.xvnc.number, base)
        return {**env, **sound.program_environment()} if self.pulse is not None else env

    async def start_helpers(self, on_size: Callable[[int, int], Awaitable[None]]) -> None:
        """Start the window watcher and the closer before any claim, so neither costs a
        Python start-up (hundreds of ms in gVisor) when the student presses Run or Stop."""
        self._watcher = await self._helper("sandbox.display", "watch", stdout=asyncio.subprocess.PIPE)
        self._closer = await self._helper("sandbox.desktop", "closer", stdin=asyncio.subprocess.PIPE,
                                          stdout=asyncio.subprocess.PIPE)
        # All start at once; when the closer is connected to X the watcher is about there too.
        started = [self._closer]
        if self.audio_path is not None:
            self._sound = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sandbox.sound", "serve", self.audio_path,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
            started.append(self._sound)
        await asyncio.wait_for(asyncio.gather(*(_first_line(helper) for helper in started)), HELPER_START_SECONDS)
        asyncio.ensure_future(self._follow_sizes(on_size))

    async def _helper(self, module: str, command: str, stdin: int = asyncio.subprocess.DEVNULL,
                      stdout: int = asyncio.subprocess.DEVNULL) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", module, command, self.xvnc.display_name,
                                                    stdin=stdin, stdout=stdout, stderr=asyncio.subprocess.DEVNULL)

    async def _follow_sizes(self, on_size: Callable[[int, int], Awaitable[None]]) -> None:
        assert self._watcher is not None and self._watcher.stdout is not None
        while True:
            line = await self._watcher.stdout.readline()
            if not line:
                return
            try:
                size = json.loads(line)
                self.size = (int(size["width"]), int(size["height"]))
            except (ValueError, KeyError, TypeError):
                continue
            await on_size(*self.size)

    async def close_windows(self) -> None:
        """What the window's close button does: pygame gets QUIT, Tk its WM_DELETE_WINDOW."""
        if self._closer is None or self._closer.stdin is None or self._closer.returncode is not None:
            return
        try:
            self._closer.stdin.write(b"close\n")
            await asyncio.wait_for(self._closer.stdin.drain(), CLOSE_SECONDS)
        except (ConnectionError, asyncio.TimeoutError):
            pass

    def stop(self) -> None:
        for helper in (self._watcher, self._closer, self._sound):
            if helper is not None and helper.returncode is None:
                helper.kill()
        if self.pulse is not None and self.pulse.poll() is None:
            self.pulse.kill()
            self.pulse.wait()
        display.stop_xvnc(self.xvnc, grace=0.2)


async def _first_line(helper: asyncio.subprocess.Process) -> bytes:
    """A helper's first line: it is ready."""
    assert helper.stdout is not None
    return await helper.stdout.readline()


def _start_sound_server() -> Optional[subprocess.Popen]:
    try:
        return sound.start_pulse()
    except SoundFailed as error:
        print(f"agent: no sound this run: {error}", file=sys.stderr)
        return None


def _sound_server_ready(pulse: subprocess.Popen) -> Optional[subprocess.Popen]:
    """The sound server, once the program's mixer can reach it; None (a silent run) if not."""
    try:
        sound.wait_pulse_ready(pulse)
        return pulse
    except SoundFailed as error:
        print(f"agent: no sound this run: {error}", file=sys.stderr)
        pulse.kill()
        pulse.wait()
        return None


async def serve_unix_over_tcp(unix_path: str, host: str, port: int) -> asyncio.AbstractServer:
    """Under Nomad the proxy reaches RFB and the sound on the allocation's ports; Xvnc and the
    sound server stay on their unix sockets."""
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            inner_reader, inner_writer = await asyncio.open_unix_connection(unix_path)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, inner_writer), _pipe(inner_reader, writer), return_exceptions=True)

    return await asyncio.start_server(relay, host, port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


# --- closing windows the way a window manager would (runs in its own process) ---------

class _ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5), ("pad", ctypes.c_long * 12)]


CLIENT_MESSAGE = 33


def close_all_windows(connection: display.XConnection) -> int:
    x11 = connection.x11
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    protocols = x11.XInternAtom(connection.dpy, b"WM_PROTOCOLS", 0)
    delete = x11.XInternAtom(connection.dpy, b"WM_DELETE_WINDOW", 0)
    closed = 0
    for box in connection.top_level_windows():
        if box.override_redirect or box.width <= 1:
            continue
        event = _ClientMessage(type=CLIENT_MESSAGE, send_event=1, window=box.window,
                               message_type=protocols, format=32)
        event.data[0], event.data[1] = delete, 0
        x11.XSendEvent(connection.dpy, box.window, 0, 0, ctypes.byref(event))
        closed += 1
    x11.XFlush(connection.dpy)
    return closed


def serve_close_requests(display_name: str) -> int:
    """``closer :N``: each line "close" on stdin closes every window; EOF ends it.
    The X connection (and libX11's slow library lookup) is made before the first request."""
    connection = display.XConnection(display_name)
    print("ready", flush=True)
    try:
        for line in iter(sys.stdin.buffer.readline, b""):
            if line.strip() == b"close":
                close_all_windows(connection)
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "closer":
        sys.exit(serve_close_requests(sys.argv[2]))
    print("usage: python -m sandbox.desktop closer :N", file=sys.stderr)
    sys.exit(2)

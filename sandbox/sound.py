"""Sound for pygame runs: a PulseAudio server with a null sink inside the sandbox, and what
plays on it as Opus packets on a unix socket for the proxy.

host-uds cannot pass file descriptors across the sandbox boundary, so the sound server and
its clients (the program, and this module's encoder) all live in the sandbox. The encoder
records the sink's monitor only while a listener is connected: a program nobody listens to
costs no encoding.

    python -m sandbox.sound serve OUT_SOCKET    # Opus packets, each with a 2-byte length

Packets are 10 ms of 48 kHz stereo at 64 kbit/s (restricted-low-delay mode), recorded and
sent two at a time. A listener that falls behind loses the oldest packets, never the newest:
late sound is worse than a gap.
"""
import collections
import ctypes
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import Deque, Dict, List

from sandbox.errors import SoundFailed

PULSE_DIR = "/tmp/.pulse"                      # the socket: reachable by the student's uid
PULSE_SOCKET = os.path.join(PULSE_DIR, "native")
PULSE_STATE = "/tmp/.pulse-server"             # the server's own files: PulseAudio makes it 0700
SINK = "pyplay"
DRAIN = "pyplay_drain"                         # where the keep-awake loopback plays: nowhere
KEEP_AWAKE_MS = 100                            # the sink's longest block (see pulse_script)
RATE, CHANNELS = 48000, 2
FRAME_SAMPLES = RATE // 100                    # 10 ms
FRAME_BYTES = FRAME_SAMPLES * CHANNELS * 2     # s16le
# Read and sent two packets at a time: each trip through gVisor costs, and 100 a second of them
# was ~10 % of a core for a listened-to game; 20 ms more is well inside the latency budget.
FRAMES_PER_READ = 2
PROGRAM_LATENCY_MS = 30                        # what the program's libpulse asks (see program_environment)
BITRATE = 64000                                # well under a school's 128 kbit/s per student
MAX_PACKET = 1500
QUEUE_PACKETS = 20                             # 200 ms: what a slow listener may lag by
PULSE_START_SECONDS = 10.0


def pulse_arguments(script: str) -> List[str]:
    """A sound server set up by ``script`` alone: no D-Bus, no shared memory (gVisor), no
    autospawn, no exit when idle (the program may play late)."""
    return ["pulseaudio", "-n", "-F", script, "--daemonize=no", "--exit-idle-time=-1", "--disable-shm=yes",
            "--use-pid-file=no", "--system=no", "--log-target=stderr", "--log-level=error"]


def pulse_script() -> str:
    """One null sink the program plays into, reached on an anonymous unix socket, and kept awake.

    A null sink nobody listens to renders in 2 s blocks, and a stream that connects waits out
    the block under way: sounds a program played in its first ~2 s came up to 2 s late, and
    pygame.mixer.quit() blocked as long (SDL waits for the stream's next request).  A loopback
    from the sink's monitor into a second null sink asks for KEEP_AWAKE_MS, which keeps the
    blocks that short; suspending and resuming the sink restarts the block the server began
    with before the loopback was there."""
    return "\n".join([
        f"load-module module-null-sink sink_name={SINK} rate={RATE} channels={CHANNELS}",
        f"load-module module-null-sink sink_name={DRAIN} rate={RATE} channels={CHANNELS}",
        f"load-module module-loopback source={SINK}.monitor sink={DRAIN} latency_msec={KEEP_AWAKE_MS}"
        " source_dont_move=true sink_dont_move=true",
        f"set-default-sink {SINK}",
        f"suspend-sink {SINK} 1",
        f"suspend-sink {SINK} 0",
        f"load-module module-native-protocol-unix socket={PULSE_SOCKET} auth-anonymous=1",
        "",
    ])


def start_pulse() -> subprocess.Popen:
    os.makedirs(PULSE_DIR, mode=0o755, exist_ok=True)
    os.chmod(PULSE_DIR, 0o755)
    script = os.path.join(PULSE_DIR, "pyplay.pa")
    with open(script, "w", encoding="ascii") as file:
        file.write(pulse_script())
    env = {"HOME": PULSE_STATE, "XDG_RUNTIME_DIR": PULSE_STATE, "PULSE_RUNTIME_PATH": PULSE_STATE,
           "XDG_CONFIG_HOME": PULSE_STATE, "PATH": "/usr/bin:/bin"}
    try:
        return subprocess.Popen(pulse_arguments(script), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    except OSError as error:
        raise SoundFailed(f"cannot start the sound server: {error}") from error


def wait_pulse_ready(process: subprocess.Popen, timeout: float = PULSE_START_SECONDS) -> None:
    """Until the socket accepts: the program's mixer must find its server at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SoundFailed(f"the sound server exited with {process.returncode}")
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(PULSE_SOCKET)
            os.chmod(PULSE_SOCKET, 0o777)      # the student's uid plays into it
            return
        except OSError:
            time.sleep(0.02)
    raise SoundFailed(f"the sound server was not up within {timeout:g} s")


def program_environment() -> Dict[str, str]:
    """SDL plays into the sandbox's server; libpulse keeps its files out of the workspace."""
    return {"SDL_AUDIODRIVER": "pulseaudio", "PULSE_SERVER": f"unix:{PULSE_SOCKET}",
            "PULSE_LATENCY_MSEC": str(PROGRAM_LATENCY_MS),
            "PULSE_RUNTIME_PATH": "/tmp/.pulse-client", "PULSE_COOKIE": "/tmp/.pulse-client/cookie"}


# --- libopus and libpulse-simple through ctypes ------------------------------------------

OPUS_LIBRARY, PULSE_SIMPLE_LIBRARY = "libopus.so.0", "libpulse-simple.so.0"
OPUS_APPLICATION_RESTRICTED_LOWDELAY = 2051
OPUS_SET_BITRATE_REQUEST = 4002
PA_STREAM_RECORD = 2
PA_SAMPLE_S16LE = 3


class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]


class _BufferAttr(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in ("maxlength", "tlength", "prebuf", "minreq", "fragsize")]


def _library(soname: str) -> ctypes.CDLL:
    """By soname: ctypes.util.find_library runs ldconfig, a process start that delayed the
    first packet for a new listener by ~0.4 s in gVisor."""
    try:
        return ctypes.CDLL(soname)
    except OSError as error:
        raise SoundFailed(f"{soname} is missing: {error}") from error


class OpusEncoder:
    def __init__(self) -> None:
        self.lib = _library(OPUS_LIBRARY)
        self.lib.opus_encoder_create.restype = ctypes.c_void_p
        self.lib.opus_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                         ctypes.c_int32]
        self.lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
        error = ctypes.c_int()
        self.state = self.lib.opus_encoder_create(RATE, CHANNELS, OPUS_APPLICATION_RESTRICTED_LOWDELAY,
                                                  ctypes.byref(error))
        if not self.state or error.value != 0:
            raise SoundFailed(f"opus_encoder_create failed ({error.value})")
        self.lib.opus_encoder_ctl(ctypes.c_void_p(self.state), OPUS_SET_BITRATE_REQUEST, ctypes.c_int(BITRATE))
        self.out = ctypes.create_string_buffer(MAX_PACKET)

    def encode(self, pcm: bytes) -> bytes:
        size = self.lib.opus_encode(self.state, pcm, FRAME_SAMPLES, self.out, MAX_PACKET)
        if size < 0:
            raise SoundFailed(f"opus_encode failed ({size})")
        return self.out.raw[:size]

    def close(self) -> None:
        self.lib.opus_encoder_destroy(self.state)


class SinkRecorder:
    """The null sink's monitor: what the program plays, FRAMES_PER_READ packets' worth at a time."""

    def __init__(self) -> None:
        self.lib = _library(PULSE_SIMPLE_LIBRARY)
        self.lib.pa_simple_new.restype = ctypes.c_void_p
        self.lib.pa_simple_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                           ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                           ctypes.POINTER(ctypes.c_int)]
        self.lib.pa_simple_read.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                            ctypes.POINTER(ctypes.c_int)]
        self.lib.pa_simple_free.argtypes = [ctypes.c_void_p]
        spec = _SampleSpec(PA_SAMPLE_S16LE, RATE, CHANNELS)
        unset = 0xFFFFFFFF
        attr = _BufferAttr(unset, unset, unset, unset, FRAME_BYTES * FRAMES_PER_READ)
        error = ctypes.c_int()
        self.stream = self.lib.pa_simple_new(f"unix:{PULSE_SOCKET}".encode(), b"pyplay", PA_STREAM_RECORD,
                                             f"{SINK}.monitor".encode(), b"listener", ctypes.byref(spec), None,
                                             ctypes.byref(attr), ctypes.byref(error))
        if not self.stream:
            raise SoundFailed(f"cannot record the sink (pulse error {error.value})")
        self.buffer = ctypes.create_string_buffer(FRAME_BYTES * FRAMES_PER_READ)

    def read(self) -> bytes:
        error = ctypes.c_int()
        if self.lib.pa_simple_read(self.stream, self.buffer, FRAME_BYTES * FRAMES_PER_READ, ctypes.byref(error)) < 0:
            raise SoundFailed(f"recording stopped (pulse error {error.value})")
        return self.buffer.raw

    def close(self) -> None:
        self.lib.pa_simple_free(self.stream)


# --- the listener socket -------------------------------------------------------------------

class PacketQueue:
    """Bounded, newest kept: a slow listener loses the oldest sound."""

    def __init__(self, size: int = QUEUE_PACKETS) -> None:
        self.packets: Deque[bytes] = collections.deque(maxlen=size)
        self.ready = threading.Condition()
        self.closed = False

    def put(self, packets: List[bytes]) -> None:
        with self.ready:
            self.packets.extend(packets)
            self.ready.notify()

    def take_all(self) -> List[bytes]:
        """Every packet waiting (one send for them all); empty once closed."""
        with self.ready:
            while not self.packets and not self.closed:
                self.ready.wait()
            packets = list(self.packets)
            self.packets.clear()
            return packets

    def close(self) -> None:
        with self.ready:
            self.closed = True
            self.ready.notify_all()


def frame(packet: bytes) -> bytes:
    return struct.pack(">H", len(packet)) + packet


def _record_into(queue: PacketQueue) -> None:
    recorder, encoder = SinkRecorder(), OpusEncoder()
    try:
        while not queue.closed:
            pcm = recorder.read()
            queue.put([encoder.encode(pcm[at:at + FRAME_BYTES]) for at in range(0, len(pcm), FRAME_BYTES)])
    finally:
        recorder.close()
        encoder.close()
        queue.close()


def _serve_listener(connection: socket.socket) -> None:
    """Record and send while this listener stays; the next one starts afresh."""
    queue = PacketQueue()
    recorder = threading.Thread(target=_record_into, args=(queue,), daemon=True)
    recorder.start()
    try:
        while True:
            packets = queue.take_all()
            if not packets:
                return
            connection.sendall(b"".join(frame(packet) for packet in packets))
    except OSError:
        pass
    finally:
        queue.close()
        connection.close()
        recorder.join(timeout=1.0)


def serve(path: str) -> None:
    """One listener at a time (the proxy's relay); each gets its own recording."""
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    os.chmod(path, 0o600)
    server.listen(1)
    print("listening", flush=True)
    for soname in (OPUS_LIBRARY, PULSE_SIMPLE_LIBRARY):   # loaded now, not when a listener comes
        _library(soname)
    while True:
        connection, _ = server.accept()
        _serve_listener(connection)


def main(argv: List[str]) -> int:
    if len(argv) == 2 and argv[0] == "serve":
        try:
            serve(argv[1])
        except KeyboardInterrupt:
            return 0
        return 0
    print("usage: python -m sandbox.sound serve OUT_SOCKET", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

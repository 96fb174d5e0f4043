"""The agent: pid 1 of a sandbox.  Serves one session: many runs, one after another.

    python -m sandbox --listen unix:/run/pyplay/agent.sock --mode python   # sandbox/__main__.py

Before each claim it has already spawned the launcher under a PTY (warm start).
During a run it relays PTY bytes (rate-limited, and paused whenever the host stops
reading), applies resizes, signals and stops, and enforces the limits it can see
from inside.  After the run it sends EXIT, resets the sandbox in place (sandbox/reset.py:
the student's processes, files and IPC gone, a fresh X server, a fresh launcher) and
sends READY; or, when it cannot vouch for the sandbox (a limit tripped, a reset check
failed), it exits, which ends the sandbox and the host replaces it.
"""
import argparse
import asyncio
import fcntl
import json
import os
import platform
import signal
import struct
import sys
import termios
import time
import traceback
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sandbox import confine, modes, no_display, reset, wire
from sandbox.attendance import Attendance
from sandbox.desktop import Desktop, serve_unix_over_tcp
from sandbox.early import EarlyZygote
from sandbox.errors import DisplayError, WorkspaceError
from sandbox.launcher import reap_exited
from sandbox.limits import Limits
from sandbox.program import Program, describe_status, program_env
from sandbox.ratelimit import TokenBucket
from sandbox.workspace import decode_files, write_files
from sandbox.zygote import Zygote

READ_CHUNK = 16 * 1024
# After a read, the next waits this long: a printing loop then costs one wake-up per batch
# instead of one per line (in gVisor each wake-up is dear), and a lone line is not delayed.
OUTPUT_BATCH_SECONDS = 0.01
# Terminal output read but not yet sent: past this the program is held until it is sent.
OUTPUT_BACKLOG_LIMIT = 256 * 1024
WATCH_SECONDS = 0.5
LAUNCHER_WARM_SECONDS = 30.0
RFB_TCP_SOCKET = "/tmp/.pyplay-vnc.sock"  # Xvnc's socket when RFB is relayed over TCP
AUDIO_TCP_SOCKET = "/tmp/.pyplay-audio.sock"  # the sound's socket when it is relayed over TCP
# A run that ended through one of these may have left the sandbox short of something
# (memory, process slots, disk): the sandbox is replaced rather than reset.
UNTRUSTED_REASONS = ("memory", "output")
TRUSTED_LIMITS = (None, "wall", "idle")


def screen_of(claim: Dict[str, Any]) -> Optional[Tuple[int, int]]:
    """The IDE's display pane from the claim, if it sent one (checked by the host too)."""
    try:
        return modes.parse_screen(claim.get("screen"))
    except ValueError:
        return None


class Agent:
    def __init__(self, mode: str, workspace: str, uid: int, inherited_env: Dict[str, str],
                 rfb_unix_path: Optional[str] = None, scratch: Sequence[str] = (),
                 skip_reset: bool = False, early_zygote: Optional[EarlyZygote] = None,
                 audio_path: Optional[str] = None) -> None:
        self.mode = mode
        self.workspace = workspace
        self.uid = uid
        self.inherited_env = inherited_env
        self.rfb_unix_path = rfb_unix_path if modes.has_display(mode) else None
        self.audio_path = audio_path if mode == "pygame" else None   # sound: pygame runs only
        self.scratch = (workspace, *scratch)
        self.skip_reset = skip_reset
        self.desktop: Optional[Desktop] = None
        self.no_display: Optional[asyncio.AbstractServer] = None   # python mode: see sandbox/no_display.py
        self.zygote: Optional[Zygote] = None
        self.early_zygote = early_zygote
        self._program: Optional[Program] = None
        self.writer: Optional[asyncio.StreamWriter] = None   # the owner: the connection that claimed
        self.attendance = Attendance(time.monotonic())
        self.runs = 0
        self.claimable = False
        self.done = asyncio.Event()
        self._new_run_state()

    @property
    def program(self) -> Program:
        """The launcher of this run, or of the next: bring_up makes one before the agent
        listens, so a claim and everything after it has one."""
        if self._program is None:
            raise RuntimeError("no launcher yet: bring_up has not run")
        return self._program

    def _new_run_state(self) -> None:
        self.limits = Limits()
        self.running = False
        self.reason: Optional[str] = None
        self.limit: Optional[str] = None
        self.exit_status: Optional[int] = None
        self.output_total = 0
        self.last_activity = time.monotonic()
        self.started_at = 0.0
        self.program_exited = asyncio.Event()
        self.told_no_display = False
        self.claimed_files: List[str] = []
        self._timers: List[asyncio.TimerHandle] = []

    async def bring_up(self) -> None:
        """Zygote (once), X server and its helpers (display modes) and a warm launcher: what
        makes the next claim instant.  The zygote's imports, Xvnc's start and the helpers'
        start-ups run side by side."""
        desktop_up = None
        if self.rfb_unix_path and self.desktop is None:
            desktop_up = asyncio.ensure_future(self._start_desktop(self.rfb_unix_path))
        if self.zygote is None:
            self.zygote = await Zygote.adopt(self.early_zygote, self.mode, self.on_program_exit)
        if not modes.has_display(self.mode):
            await self._listen_for_display_requests()
        helpers = await desktop_up if desktop_up is not None else None
        # The sabotage switch leaves the run in the sandbox's IPC namespace, so its checks can see;
        # an agent that is not root (an image's USER) cannot make namespaces.
        self._program = await Program.spawn(self.zygote, self.workspace, self.program_environment(), self.uid,
                                            isolate_ipc=not self.skip_reset and os.getuid() == 0)
        if helpers is not None:
            await helpers
        await self.program.wait_until_warm(asyncio.get_running_loop(), LAUNCHER_WARM_SECONDS)
        self.claimable = True

    async def _start_desktop(self, rfb_unix_path: str) -> "asyncio.Future[None]":
        """Xvnc (its start blocks on a pipe: in a thread), then its helpers in the background."""
        desktop = await asyncio.get_running_loop().run_in_executor(None, Desktop.start, rfb_unix_path,
                                                                   self.audio_path)
        self.desktop = desktop
        return asyncio.ensure_future(desktop.start_helpers(self.on_display_size))

    def program_environment(self) -> Dict[str, str]:
        env = {**self.inherited_env, **program_env(self.workspace, {})}
        if self.desktop is not None:
            return self.desktop.environment(env)
        return {**env, **no_display.environment()} if not modes.has_display(self.mode) else env

    async def _listen_for_display_requests(self) -> None:
        if self.no_display is not None:   # an abstract socket: it outlives the resets of /tmp
            return
        try:
            self.no_display = await no_display.listen(self.on_display_request)
        except OSError as error:   # taken (an agent run outside a sandbox, a host X server): no notice
            print(f"agent: python mode will not notice window requests: {error}", file=sys.stderr)

    def on_display_request(self) -> None:
        """Once per run: the program asked for a window that python mode does not have."""
        if self.running and not self.told_no_display:
            self.told_no_display = True
            asyncio.ensure_future(self.send(wire.encode(wire.Kind.OUTPUT, no_display.NOTICE)))

    # -- connection ---------------------------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Every connection gets HELLO (health checks connect too); the first to CLAIM owns
        the sandbox for the rest of its life (one session, many runs), and when the owner
        goes away nobody is watching, so everything ends."""
        if self.writer is not None:
            writer.close()
            return
        self.attendance.opened()
        opened_at, spoke = time.monotonic(), False
        decoder = wire.FrameDecoder()
        try:
            writer.write(wire.encode_json(wire.Kind.HELLO, {
                "version": wire.VERSION, "python": platform.python_version(), "mode": self.mode,
                "pid": os.getpid(), "reset": True}))
            await writer.drain()
            while not self.done.is_set():
                data = await reader.read(65536)
                if not data:
                    break
                for frame in decoder.feed(data):
                    spoke = True
                    if self.writer is None and frame.kind == wire.Kind.CLAIM:
                        self.writer = writer
                    if self.writer is writer:
                        await self.on_frame(frame)
        except (wire.WireError, ConnectionError, ValueError) as error:
            print(f"agent: connection dropped: {error}", file=sys.stderr)
        except Exception:  # noqa: BLE001 - a bug must end the sandbox, not leave it half-claimed
            traceback.print_exc()
        finally:
            self.attendance.closed(time.monotonic(), opened_at, spoke)
        if self.writer is writer:
            self.end("stopped")
            self.done.set()

    def watch_for_orphaning(self) -> None:
        """Unclaimed and nobody connected for a while: the host that made us is gone."""
        if self.attendance.orphaned(time.monotonic(), claimed=self.writer is not None):
            self.done.set()
        elif not self.done.is_set():
            asyncio.get_running_loop().call_later(1.0, self.watch_for_orphaning)

    async def send_json(self, kind: wire.Kind, obj: Any) -> None:
        await self.send(wire.encode_json(kind, obj))

    async def send(self, data: bytes) -> None:
        if self.writer is None or self.writer.is_closing():
            return
        self.writer.write(data)
        try:
            await self.writer.drain()
        except ConnectionError:
            self.end("stopped")

    async def on_frame(self, frame: wire.Frame) -> None:
        if frame.kind == wire.Kind.CLAIM:
            await self.claim(frame.json())
        elif not self.running:
            return  # between runs (resetting): keystrokes and stops have nothing to reach
        elif frame.kind == wire.Kind.STDIN:
            self.last_activity = time.monotonic()
            self.write_stdin(frame.payload)
        elif frame.kind == wire.Kind.RESIZE:
            self.resize_terminal(frame.json())
        elif frame.kind == wire.Kind.STOP:
            self.end("stopped")

    # -- the run ------------------------------------------------------------------------------
    async def claim(self, claim: Dict[str, Any]) -> None:
        if not self.claimable or self._program is None:
            print("agent: a claim came before READY; ending the sandbox", file=sys.stderr)
            self.done.set()
            return
        self.claimable = False
        self.limits = Limits.from_wire(claim.get("limits") or {})
        try:
            files = decode_files(claim.get("files") or [], self.limits.upload_bytes,
                                 self.limits.upload_files, self.limits.path_bytes)
            self.claimed_files = list(files)
            write_files(self.workspace, files, self.uid)
            entry = claim.get("entry")
            if entry not in files:
                raise WorkspaceError(f"the entry file {entry!r} is not among the files")
        except (WorkspaceError, ValueError, TypeError) as error:
            await self.send_json(wire.Kind.EXIT, {"code": -1, "reason": "failed", "limit": None,
                                                  "detail": str(error), "reusable": True})
            self._end_program(self.program)
            await self.reset_for_next_run()
            return
        self.resize_terminal(claim.get("term") or {})
        entry_path = os.path.join(self.workspace, entry)
        self.program.go(entry_path, os.path.dirname(entry_path), {}, self.limits, screen_of(claim))
        self.running = True
        self.started_at = self.last_activity = time.monotonic()
        display = None
        if self.desktop is not None:
            display = {"width": self.desktop.size[0], "height": self.desktop.size[1]}
        await self.send_json(wire.Kind.STARTED, {"display": display})
        loop = asyncio.get_running_loop()
        asyncio.ensure_future(self.pump_output())
        asyncio.ensure_future(self.watch_limits())
        self.program.channel.setblocking(False)
        loop.add_reader(self.program.channel.fileno(), self.read_reports)

    def resize_terminal(self, size: Dict[str, Any]) -> None:
        """The terminal's size from the client's JSON, kept within bounds (the host checked it too)."""
        self.program.resize(modes.clamp(size.get("rows"), modes.MAX_ROWS, modes.DEFAULT_ROWS),
                            modes.clamp(size.get("cols"), modes.MAX_COLS, modes.DEFAULT_COLS))

    async def on_display_size(self, width: int, height: int) -> None:
        if self.running:
            await self.send_json(wire.Kind.DISPLAY, {"width": width, "height": height})

    def write_stdin(self, data: bytes) -> None:
        """Keystrokes into the PTY.  gVisor's line discipline does not turn ^C or ^\\ into
        signals, so the agent does what a terminal's ISIG would: signal the foreground group."""
        signals = self.program.signal_chars()
        start = 0
        for index, byte in enumerate(data):
            signum = signals.get(byte)
            if signum is not None:
                self._write_pty(data[start:index])
                self.program.signal_foreground(signum)
                asyncio.ensure_future(self.send(wire.encode(wire.Kind.OUTPUT, b"^" + bytes([byte + 64]))))
                start = index + 1
        self._write_pty(data[start:])

    def _write_pty(self, data: bytes) -> None:
        try:
            if data:
                os.write(self.program.master_fd, data[:4096])
        except OSError:
            pass  # the program is not reading and the line buffer is full: drop, as a terminal would beep

    async def pump_output(self) -> None:
        """PTY to client at the output rate, holding the writer while output is queued.

        gVisor's PTY hands output to the reader a line at a time and wakes a blocked writer
        after each read; on the ptrace platform that ping-pong cost a print loop most of a
        core, and its neighbours their speed.  Holding the program (SIGSTOP) while the PTY
        still has output the agent has not read, or while the agent's backlog is full, lets
        it write in batches: the flood's cost fell from ~80% of a core to ~12%."""
        bucket = TokenBucket(rate=self.limits.output_rate, burst=max(READ_CHUNK, self.limits.output_rate // 4))
        fd, backlog, pty_open = self.program.master_fd, bytearray(), True
        while True:
            pty_open = pty_open and read_available(fd, backlog, OUTPUT_BACKLOG_LIMIT)
            if pty_open and (len(backlog) >= OUTPUT_BACKLOG_LIMIT or pending_bytes(fd) > 0):
                self.program.hold()
            else:
                self.program.release()
            if backlog:
                chunk = bytes(backlog[:READ_CHUNK])
                del backlog[:READ_CHUNK]
                if not await self.send_output(chunk):
                    break
                await asyncio.sleep(max(OUTPUT_BATCH_SECONDS, bucket.take(len(chunk))))
            elif not pty_open or self.program_exited.is_set():
                break
            else:
                await self.until_readable_or_exit(fd)
        await self.program_exited.wait()
        await self.finish()

    async def send_output(self, chunk: bytes) -> bool:
        """False once the run's output limit is reached (the run is then ended)."""
        self.last_activity = time.monotonic()
        self.output_total += len(chunk)
        await self.send(wire.encode(wire.Kind.OUTPUT, chunk))
        if self.output_total > self.limits.output_bytes:
            self.end("output")
            return False
        return True

    async def until_readable_or_exit(self, fd: int) -> None:
        """Watch the PTY only while waiting for it.  A reader left registered during the
        rate limiter's sleep or a slow client's back-pressure fires on every loop turn
        (epoll is level-triggered): the agent spun a whole core while a flood was held back."""
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()

        def on_readable() -> None:
            if not readable.done():
                readable.set_result(None)
        loop.add_reader(fd, on_readable)
        exited = asyncio.ensure_future(self.program_exited.wait())
        either: List[asyncio.Future[Any]] = [readable, exited]
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_reader(fd)
            exited.cancel()

    async def finish(self) -> None:
        self.read_reports()  # a report written just before the exit may not have been read yet
        for timer in self._timers:
            timer.cancel()
        program = self.program
        asyncio.get_running_loop().remove_reader(program.channel.fileno())
        self._end_program(program)
        status = self.exit_status if self.exit_status is not None else 0
        reason = self.reason or "exited"
        reusable = reason not in UNTRUSTED_REASONS and self.limit in TRUSTED_LIMITS
        await self.send_json(wire.Kind.EXIT, {"code": describe_status(status), "reason": reason,
                                              "limit": self.limit,
                                              "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                                              "seconds": round(time.monotonic() - self.started_at, 3),
                                              "reusable": reusable})
        if reusable:
            await self.reset_for_next_run()
        else:
            self.done.set()

    def _end_program(self, program: Program) -> None:
        """The run's own processes end with it; the reset then sweeps the rest of the uid
        (the sabotage switch leaves that sweep out, so its checks see what would leak)."""
        if self.skip_reset:
            program.signal_group(signal.SIGKILL)
        else:
            program.kill_everything()
        program.close()

    async def reset_for_next_run(self) -> None:
        """Leave nothing of the last run, start a fresh launcher, say READY; or end the sandbox."""
        self.running = False
        if self.writer is None or self.writer.is_closing():
            self.done.set()  # nobody to run for: the session is over
            return
        problem = None
        if self.skip_reset:
            _remove_quietly(self.workspace, self.claimed_files)  # else the next claim's cannot be written
        else:
            if self.desktop is not None:  # windows, properties, selections, grabs: a new X server
                self.desktop.stop()
                self.desktop = None
            problem = await reset.reset(self.uid, self.scratch)
        if problem is None:
            try:
                await self.bring_up()
            except (OSError, DisplayError, asyncio.TimeoutError) as error:  # ZygoteGone is an OSError
                problem = f"the sandbox could not be made warm again: {error!r}"
        if problem is not None:
            print(f"agent: cannot vouch for this sandbox: {problem}", file=sys.stderr)
            self.done.set()
            return
        self.runs += 1
        self._new_run_state()
        await self.send_json(wire.Kind.READY, {"runs": self.runs})

    def end(self, reason: str, limit: Optional[str] = None) -> None:
        """End the run for ``reason``: polite signal now, SIGKILL after the grace period."""
        if self.reason is None and (limit is not None or not self.program_exited.is_set()):
            self.reason, self.limit = reason, limit
        if not self.running:
            if self.writer is None or self.writer.is_closing():
                self.done.set()
            return
        if self.program_exited.is_set():
            return
        if reason == "stopped" and self.desktop is not None:
            asyncio.ensure_future(self.stop_display_program(self.desktop))
            return
        self.program.signal_group(signal.SIGTERM if reason == "stopped" else signal.SIGKILL)
        self._kill_after_grace()

    def _kill_after_grace(self) -> None:
        """The run's last resort; cancelled when the run ends, so it never hits the next launcher."""
        self._timers.append(asyncio.get_running_loop().call_later(
            self.limits.stop_grace_seconds, self.program.kill_everything))

    async def stop_display_program(self, desktop: Desktop) -> None:
        """Stop = the window's close button first (pygame.QUIT, Tk's WM_DELETE_WINDOW), then signals."""
        self.program.note_stopping()
        await desktop.close_windows()
        try:
            await asyncio.wait_for(self.program_exited.wait(), self.limits.stop_grace_seconds)
            return
        except asyncio.TimeoutError:
            pass
        self.program.signal_group(signal.SIGTERM)
        self._kill_after_grace()

    def on_child(self) -> None:
        """Reap the agent's children and whatever was orphaned to pid 1 (a student's daemons)."""
        for pid, status in reap_exited():
            self.on_program_exit(pid, status)  # the launcher is orphaned here if the zygote died

    def on_program_exit(self, pid: int, status: int) -> None:
        """The zygote reaps the launchers it forked and reports their status here."""
        if self._program is not None and pid == self._program.pid and not self.program_exited.is_set():
            self.exit_status = status
            self.program_exited.set()

    def read_reports(self) -> None:
        """The launcher says which limit a fatal error came from (MemoryError, EMFILE, ...)."""
        try:
            data = self.program.channel.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.program.channel.fileno())
            return
        for line in data.splitlines():
            try:
                limit = json.loads(line).get("limit")
            except (ValueError, AttributeError):
                continue
            if limit:  # the program is dying of it anyway; threads may keep it alive
                self.end("memory" if limit == "memory" else "failed", limit)

    async def watch_limits(self) -> None:
        exited, started_at = self.program_exited, self.started_at  # this run's, not the next one's
        while not exited.is_set():
            await asyncio.sleep(WATCH_SECONDS)
            if exited.is_set():
                return
            now = time.monotonic()
            if now - started_at > self.limits.wall_seconds:
                self.end("timeout", "wall")
            elif now - self.last_activity > self.limits.idle_seconds:
                self.end("timeout", "idle")
            elif any(_disk_full(folder) for folder in self.scratch):
                self.end("failed", "disk")
            elif len(reset.student_pids(self.uid)) >= self.limits.processes:
                self.end("failed", "processes")


def _remove_quietly(root: str, paths: List[str]) -> None:
    for path in paths:
        try:
            os.unlink(os.path.join(root, path))
        except OSError:
            pass


def _disk_full(path: str) -> bool:
    try:
        stats = os.statvfs(path)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


def read_available(fd: int, backlog: bytearray, limit: int) -> bool:
    """Read what the PTY has, up to ``limit`` buffered; False once it is closed (EOF or EIO)."""
    while len(backlog) < limit:
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return True
        except OSError:  # EIO: every holder of the PTY's other end has gone
            return False
        if not data:
            return False
        backlog += data
    return True


def pending_bytes(fd: int) -> int:
    """Output the PTY reports as queued (FIONREAD on the master).  Under gVisor a read can
    answer EAGAIN while this is still non-zero: the program is ahead of the reader."""
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return 0


async def serve(agent: Agent, listen: str, over_tcp: Sequence[Tuple[str, str]] = ()) -> None:
    """``over_tcp``: (unix socket, host:port) pairs served over TCP (Nomad reaches the display
    and the sound on the allocation's ports; Xvnc and the sound server stay on unix sockets)."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGCHLD, agent.on_child)
    # Only listen once everything is warm: a HELLO means "ready to run at once".
    await agent.bring_up()
    relays = []
    for unix_path, tcp in over_tcp:   # each connects per connection: it outlives X server restarts
        host, _, port = tcp.rpartition(":")
        relays.append(await serve_unix_over_tcp(unix_path, host or "0.0.0.0", int(port)))
    kind, _, address = listen.partition(":")
    if kind == "unix":
        server = await asyncio.start_unix_server(agent.handle, path=address)
    else:
        host, _, port = address.rpartition(":")
        server = await asyncio.start_server(agent.handle, host or "0.0.0.0", int(port))
    agent.watch_for_orphaning()
    await agent.done.wait()
    server.close()
    for relay in relays:
        relay.close()
    if agent.desktop is not None:
        agent.desktop.stop()
    if agent.zygote is not None:
        agent.zygote.close()
    if agent.writer is not None:
        await _close_quietly(agent.writer)


def _listen_address(listen: Optional[str], tcp_socket: str) -> Tuple[Optional[str], Optional[str]]:
    """``unix:/path`` or ``tcp:host:port`` -> (the unix socket, the TCP address or None); served
    over TCP, the unix socket is ``tcp_socket`` inside the sandbox."""
    kind, _, address = (listen or "").partition(":")
    if not address:
        return None, None
    return (address, None) if kind == "unix" else (tcp_socket, address)


async def _close_quietly(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except (ConnectionError, asyncio.TimeoutError):
        pass


def main(early_zygote: Optional[EarlyZygote] = None) -> None:
    parser = argparse.ArgumentParser(description="pyplay sandbox agent")
    parser.add_argument("--listen", required=True, help="unix:/path or tcp:host:port")
    parser.add_argument("--mode", default="python", choices=modes.MODES)
    parser.add_argument("--workspace", default="/workspace")
    parser.add_argument("--uid", type=int, default=1000)
    parser.add_argument("--vnc-listen", help="display modes: unix:/path (Xvnc's own socket) or tcp:host:port")
    parser.add_argument("--audio-listen", help="pygame mode: unix:/path where the run's sound is served (Opus)")
    parser.add_argument("--scratch", action="append", default=[],
                        help="a folder emptied between runs besides the workspace (/tmp, /dev/shm)")
    parser.add_argument("--unsafe-inherit-env", action="store_true",
                        help="TEST ONLY: give the program this process's environment (sabotage check)")
    parser.add_argument("--unsafe-skip-reset", action="store_true",
                        help="TEST ONLY: start the next run without resetting (sabotage check)")
    args = parser.parse_args()
    confine.protect_agent()
    if os.getuid() == 0:
        os.chown(args.workspace, args.uid, args.uid)
    rfb_unix_path, rfb_tcp = _listen_address(args.vnc_listen, RFB_TCP_SOCKET)
    audio_path, audio_tcp = _listen_address(args.audio_listen, AUDIO_TCP_SOCKET)
    agent = Agent(args.mode, args.workspace, args.uid, dict(os.environ) if args.unsafe_inherit_env else {},
                  rfb_unix_path, args.scratch, args.unsafe_skip_reset, early_zygote, audio_path=audio_path)
    over_tcp = [(path, tcp) for path, tcp in ((agent.rfb_unix_path, rfb_tcp), (agent.audio_path, audio_tcp))
                if path and tcp]
    asyncio.run(serve(agent, args.listen, over_tcp))


if __name__ == "__main__":
    main()

"""The agent's side of the zygote: one pre-imported Python per sandbox that forks launchers.

A fresh interpreter costs ~0.1 s in gVisor before it runs a line, and importing pygame
~1 s more; a reset that started one per run made every re-run wait that long.  The
zygote (``sandbox/launcher.py --zygote``, root, its own session, launched by
sandbox/early.py) pays both once per sandbox; each run's launcher is a fork of it
(sandbox/launcher.py: ``_serve_spawns``).

Messages on a SOCK_SEQPACKET pair, one JSON object each:
    zygote -> agent  {"zygote": pid}                  imports done, ready for requests
    agent -> zygote  {"uid", "cwd", "env", "isolate_ipc"} + fds [pty slave, launcher channel]
    zygote -> agent  {"spawned": pid}                 answers requests in order
    zygote -> agent  {"exited": pid, "status": n}     a launcher ended (waitpid status)
"""
from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import socket
from typing import Any, Callable, Deque, Dict, List, Optional

from sandbox.early import EarlyZygote, launch_zygote
from sandbox.errors import ZygoteGone

MESSAGE_BYTES = 4096
START_SECONDS = 60.0   # pygame's import on a busy 2-core machine
SPAWN_SECONDS = 10.0

OnExit = Callable[[int, int], None]


class Zygote:
    def __init__(self, pid: int, control: socket.socket, on_exit: OnExit) -> None:
        self.pid = pid
        self._control = control
        self._on_exit = on_exit
        self._started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._spawns: Deque[asyncio.Future[int]] = collections.deque()
        self.gone = False
        asyncio.get_running_loop().add_reader(control.fileno(), self._on_readable)

    @classmethod
    async def adopt(cls, early: Optional[EarlyZygote], mode: str, on_exit: OnExit) -> Zygote:
        """The zygote sandbox/__main__.py launched (or one launched now), once its imports are done."""
        early = early or launch_zygote(mode)
        early.control.setblocking(False)
        zygote = cls(early.pid, early.control, on_exit)
        try:
            await asyncio.wait_for(asyncio.shield(zygote._started), START_SECONDS)
        except BaseException:
            zygote.close()
            raise
        return zygote

    async def spawn(self, fds: List[int], request: Dict[str, Any]) -> int:
        """A launcher with these fds (pty slave, channel); its pid."""
        if self.gone:
            raise ZygoteGone("the zygote has exited")
        answer = asyncio.get_running_loop().create_future()
        self._spawns.append(answer)
        socket.send_fds(self._control, [json.dumps(request).encode()], fds)
        try:
            return await asyncio.wait_for(answer, SPAWN_SECONDS)
        except asyncio.TimeoutError:
            # Its answers are matched to requests in order: one missing would pair the next
            # request with this one's pid.  A zygote that falls silent is done with.
            self._lose("the zygote did not answer a spawn request")
            raise ZygoteGone("the zygote did not answer a spawn request") from None

    def _on_readable(self) -> None:
        try:
            data = self._control.recv(MESSAGE_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        message = _parse(data)
        if message is None:
            self._lose("the zygote exited" if not data else f"the zygote sent {data[:80]!r}")
        elif "zygote" in message and not self._started.done():
            self._started.set_result(int(message["zygote"]))
        elif "spawned" in message and self._spawns:
            _resolve(self._spawns.popleft(), int(message["spawned"]))
        elif "exited" in message:
            self._on_exit(int(message["exited"]), int(message["status"]))

    def _lose(self, why: str) -> None:
        self.gone = True
        asyncio.get_running_loop().remove_reader(self._control.fileno())
        for waiting in [self._started, *self._spawns]:
            if not waiting.done():
                waiting.set_exception(ZygoteGone(why))
        self._spawns.clear()

    def close(self) -> None:
        if not self.gone:
            self._lose("closed")
        self._control.close()
        try:
            os.kill(self.pid, signal.SIGKILL)  # pid 1 (the agent) reaps it
        except ProcessLookupError:
            pass


def _parse(data: bytes) -> Optional[Dict[str, Any]]:
    try:
        message = json.loads(data)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _resolve(future: asyncio.Future[int], value: int) -> None:
    if not future.done():
        future.set_result(value)

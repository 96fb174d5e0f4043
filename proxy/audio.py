"""The sound WebSocket: the run's Opus packets from the sandbox to the browser, one packet
per binary message (sandbox/sound.py makes them: 10 ms of 48 kHz stereo each).

Stop ends the sound at once: the socket closes when the student presses Stop, without waiting
for the program to end (a program deaf to its window's close can take seconds).

Bounded end to end: the relay reads the next packet only once the last one is sent, and
while it does not read, the sandbox's encoder drops its oldest packets; so a browser that
never reads makes nothing grow here, and one that stalls hears the present, not the past.
"""
from __future__ import annotations

import asyncio
import struct
from typing import Any, Optional

from common.logs import get_logger
from proxy.relay import Message, pump, until_either_ends
from proxy.run import Run
from scheduler.errors import SandboxFailed

log = get_logger("pyplay.audio")
MAX_PACKET = 4000     # an Opus packet is at most 1275 bytes; anything bigger is a broken stream


async def relay_audio(ws: Any, run: Run) -> None:
    try:
        reader, writer = await run.sandbox.open_audio()
    except (OSError, SandboxFailed) as error:
        log.warning("audio_unreachable", run=run.id, error=str(error) or repr(error))
        await ws.close(code=1011, reason="sound not available")
        return

    async def next_packet() -> Optional[Message]:
        try:
            (size,) = struct.unpack(">H", await reader.readexactly(2))
            if size > MAX_PACKET:
                return None
            return await reader.readexactly(size)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def ignore_browser() -> None:
        while await ws.recv() is not None:
            pass      # the browser has nothing to say; reading notices when it leaves

    try:
        await until_either_ends(pump(next_packet, ws.send), ignore_browser(), run.silenced.wait())
    finally:
        writer.close()

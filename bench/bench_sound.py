"""Sound of a pygame run at a listener of its sound socket (what the IDE plays):

- key -> sound: a key sent on the session socket until the decoded sound is loud, beside the
  same key's printed echo (the terminal's own latency, measured in the same runs);
- Stop -> silence: `stop` until the listener's sound is quiet;
- bandwidth: kbit/s while a tone plays and while the program is silent.
Replit documents 100-300 ms of added latency for its sound; Guacamole sends ~280 ms chunks."""
from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import List, Tuple

import websockets

from bench.stats import summary_row, table
from testkit.client import connect, next_json, read_until
from testkit.opus import OpusDecoder, rms
from testkit.service import Service

BEEPER = """
import array, math, sys
import pygame
pygame.mixer.init(48000, -16, 2, 256)
pygame.init()
screen = pygame.display.set_mode((200, 150))
rate = pygame.mixer.get_init()[0]
wave = array.array('h', [int(12000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(rate // 5) for _ in (0, 1)])
beep = pygame.mixer.Sound(buffer=wave.tobytes())
tone = pygame.mixer.Sound(buffer=(wave * 5).tobytes())
print('ready', flush=True)
for line in sys.stdin:
    if line.strip() == 'tone':
        tone.play(loops=-1)
    else:
        beep.play()
    print('beep', flush=True)
"""
LOUD = 2000


class Listener:
    """Decodes the sound socket as it arrives and notes when it is loud or quiet."""

    def __init__(self, ws) -> None:
        self.ws, self.decoder = ws, OpusDecoder()
        self.loudness: List[Tuple[float, float]] = []   # (arrival, rms) per packet
        self.bytes = 0
        self.closed_at = 0.0           # the socket closing is silence too (Stop closes it)
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for packet in self.ws:
                self.bytes += len(packet)
                self.loudness.append((time.monotonic(), rms(self.decoder.decode(packet))))
        finally:
            self.closed_at = time.monotonic()

    async def until(self, loud: bool, after: float, timeout: float = 10) -> float:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for arrived, level in self.loudness:
                if arrived >= after and (level > LOUD) == loud:
                    return arrived - after
            if self.closed_at and not loud:
                return self.closed_at - after
            await asyncio.sleep(0.002)
        raise TimeoutError("the sound never changed")


async def _start(service: Service, ws):
    await ws.send(json.dumps({"type": "run", "mode": "pygame", "files": [{"path": "main.py", "text": BEEPER}]}))
    started = await next_json(ws, 60)
    await read_until(ws, b"ready", 30)
    return websockets.connect(f"ws://127.0.0.1:{service.port}{started['display']['audio']}",
                              subprotocols=["binary"], max_size=None)


async def _keys(service: Service, ws, rounds: int) -> Tuple[List[float], List[float], float, float]:
    """Beeps on keys, and the bandwidth of silence and of a steady tone, in one run."""
    keys, echoes = [], []
    async with await _start(service, ws) as sound:
        listener = Listener(sound)
        await asyncio.sleep(1)
        quiet_start, quiet_bytes = time.monotonic(), listener.bytes
        await asyncio.sleep(2)
        silent_kbps = (listener.bytes - quiet_bytes) * 8 / 1000 / (time.monotonic() - quiet_start)
        for _ in range(rounds):
            sent = time.monotonic()
            await ws.send(json.dumps({"type": "stdin", "data": "\r"}))
            await read_until(ws, b"beep", 10)
            echoes.append(time.monotonic() - sent)
            keys.append(await listener.until(True, sent))
            await listener.until(False, time.monotonic())
            await asyncio.sleep(0.3)
        await ws.send(json.dumps({"type": "stdin", "data": "tone\r"}))
        await listener.until(True, time.monotonic())
        tone_start, tone_bytes = time.monotonic(), listener.bytes
        await asyncio.sleep(2)
        tone_kbps = (listener.bytes - tone_bytes) * 8 / 1000 / (time.monotonic() - tone_start)
        await _stop(ws, listener)
    return keys, echoes, tone_kbps, silent_kbps


async def _stop(ws, listener: Listener) -> float:
    sent = time.monotonic()
    await ws.send(json.dumps({"type": "stop"}))
    took = await listener.until(False, sent)
    while (await next_json(ws, 30))["type"] != "exit":
        pass
    listener.task.cancel()
    return took


async def _stops(service: Service, ws, runs: int) -> List[float]:
    """A tone playing, then Stop: until the listener hears silence (or its socket closes)."""
    stops = []
    for _ in range(runs):
        async with await _start(service, ws) as sound:
            listener = Listener(sound)
            await ws.send(json.dumps({"type": "stdin", "data": "tone\r"}))
            await listener.until(True, time.monotonic())
            stops.append(await _stop(ws, listener))
    return stops


async def measure(rounds: int, stop_runs: int) -> Tuple[List[float], List[float], List[float], Tuple[float, float]]:
    service = Service({"PYPLAY_POOL_PYTHON": "0", "PYPLAY_POOL_PYGAME": "1"}).start()
    try:
        ws = await connect(service.url)
        keys, echoes, tone_kbps, silent_kbps = await _keys(service, ws, rounds)
        stops = await _stops(service, ws, stop_runs)
        await ws.close()
    finally:
        service.stop()
        service.cleanup()
    return keys, echoes, stops, (tone_kbps, silent_kbps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--stops", type=int, default=10)
    args = parser.parse_args()
    keys, echoes, stops, (tone_kbps, silent_kbps) = asyncio.run(measure(args.rounds, args.stops))
    base = sorted(echoes)[len(echoes) // 2]
    rows = [summary_row("key -> its printed echo (baseline)", echoes, base),
            summary_row("key -> its sound at the listener", keys, base),
            summary_row("stop -> silence at the listener", stops, base)]
    print(table("sound of a pygame run", rows, ["what", "n", "median ms", "p95 ms", "vs baseline"]))
    print(f"bandwidth: {tone_kbps:.0f} kbit/s while a tone plays, {silent_kbps:.0f} kbit/s while silent "
          f"(a school network's budget: 128 kbit/s per student)")


if __name__ == "__main__":
    main()

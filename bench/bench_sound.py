"""Sound of a pygame run at a listener of its sound socket (what the IDE plays):

- key -> sound: a key sent on the session socket until the decoded sound is loud, beside the
  same key's printed echo (the terminal's own latency, measured in the same runs);
- Stop -> silence: `stop` until the listener's sound is quiet;
- a sound played as the program starts: `Sound.play()` right after pygame.init() until it is
  loud at a listener that connects on `started`, as the IDE does (the sound device opened ahead
  and the sink kept awake: before, the first ~2 s of a program's sound came up to 2 s late);
- bandwidth: kbit/s while a tone plays and while the program is silent;
- CPU: the service and every sandbox, while a 30 fps game plays music, against the same game
  silent, both listened to, and the music with nobody listening.
Replit documents 100-300 ms of added latency for its sound; Guacamole sends ~280 ms chunks."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import time
from typing import Dict, List, Tuple

import websockets

from bench.classroom_sim import ProcessTree
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
START_TONE = """
import array, math, time
import pygame
pygame.init()
rate, _, channels = pygame.mixer.get_init()
wave = array.array('h', [int(12000 * math.sin(2 * math.pi * 440 * i / rate))
                         for i in range(rate) for _ in range(channels)])
tone = pygame.mixer.Sound(buffer=wave.tobytes())
tone.play()
print('playing', flush=True)
time.sleep(3)
"""
MUSIC_GAME = """
import os, select, sys
import pygame, pygame.examples
pygame.init()
screen = pygame.display.set_mode((320, 240))
music = os.path.join(os.path.dirname(pygame.examples.__file__), 'data', 'house_lo.ogg')
clock, x = pygame.time.Clock(), 0
print('ready', flush=True)
while True:
    if select.select([sys.stdin], [], [], 0)[0]:
        sys.stdin.readline()
        pygame.mixer.music.load(music)
        pygame.mixer.music.play(-1)
        print('music', flush=True)
    pygame.event.pump()
    x = (x + 2) % 320
    screen.fill((30, 144, 255))
    pygame.draw.circle(screen, (255, 255, 255), (x, 120), 20)
    pygame.display.flip()
    clock.tick(30)
"""
CPU_SECONDS = 5.0
CPU_ROWS = ("silent, sound off (SDL's dummy driver)", "silent, listened to", "music, listened to",
            "music, nobody listening")


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


async def _run(ws, program: str) -> dict:
    """Sends a pygame run; its `started`."""
    await ws.send(json.dumps({"type": "run", "mode": "pygame", "files": [{"path": "main.py", "text": program}]}))
    return await next_json(ws, 60)


async def _start(service: Service, ws, program: str = BEEPER):
    """The run once it printed "ready", and its sound socket (to be entered)."""
    started = await _run(ws, program)
    await read_until(ws, b"ready", 30)
    return _sound_socket(service, started)


def _sound_socket(service: Service, started: dict):
    return websockets.connect(f"ws://127.0.0.1:{service.port}{started['display']['audio']}",
                              subprotocols=["binary"], max_size=None)


async def _start_sounds(service: Service, ws, runs: int) -> List[float]:
    """Sound.play() as the program starts -> loud at a listener connected on `started`, from the
    moment its print right after play() reaches the session socket."""
    delays = []
    for _ in range(runs):
        sent = time.monotonic()
        started = await _run(ws, START_TONE)
        async with _sound_socket(service, started) as sound:
            listener = Listener(sound)
            await read_until(ws, b"playing", 30)
            printed = time.monotonic()
            delays.append(sent + await listener.until(True, sent) - printed)
            await _stop(ws, listener)
    return delays


async def _cpu_percent(tree: ProcessTree, seconds: float = CPU_SECONDS) -> float:
    before, began = tree.cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    return 100 * (tree.cpu_seconds() - before) / (time.monotonic() - began)


async def _music_cpu(service: Service, ws, runs: int) -> Dict[str, List[float]]:
    """% of a core for the whole service, in one run each: the game with sound off (SDL's dummy
    driver: what it cost before there was sound), then silent and with music while listened to,
    then the music with the listener gone."""
    tree = ProcessTree(service.process.pid)
    cpu: Dict[str, List[float]] = {name: [] for name in CPU_ROWS}
    for _ in range(runs):
        await _run(ws, "import os\nos.environ['SDL_AUDIODRIVER'] = 'dummy'\n" + MUSIC_GAME)
        await read_until(ws, b"ready", 30)
        await asyncio.sleep(1)
        cpu[CPU_ROWS[0]].append(await _cpu_percent(tree))
        await _stop_run(ws)
        async with await _start(service, ws, MUSIC_GAME) as socket:
            listener = Listener(socket)
            await asyncio.sleep(1)
            cpu[CPU_ROWS[1]].append(await _cpu_percent(tree))
            await ws.send(json.dumps({"type": "stdin", "data": "\r"}))
            await read_until(ws, b"music", 10)
            await listener.until(True, time.monotonic())
            cpu[CPU_ROWS[2]].append(await _cpu_percent(tree))
            listener.task.cancel()
        await asyncio.sleep(1)
        cpu[CPU_ROWS[3]].append(await _cpu_percent(tree))
        await _stop_run(ws)
    return cpu


async def _stop_run(ws) -> None:
    """Stop, and wait for the run's `exit`."""
    await ws.send(json.dumps({"type": "stop"}))
    while (await next_json(ws, 30))["type"] != "exit":
        pass


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
    """Stop -> silence at the listener."""
    sent = time.monotonic()
    stopping = asyncio.ensure_future(_stop_run(ws))
    took = await listener.until(False, sent)
    await stopping
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


@dataclasses.dataclass
class Measured:
    keys: List[float]
    echoes: List[float]
    stops: List[float]
    start_sounds: List[float]
    tone_kbps: float
    silent_kbps: float
    cpu: Dict[str, List[float]]


async def measure(rounds: int, runs: int) -> Measured:
    service = Service({"PYPLAY_POOL_PYTHON": "0", "PYPLAY_POOL_TURTLE": "0", "PYPLAY_POOL_PYGAME": "1"}).start()
    try:
        ws = await connect(service.url)
        keys, echoes, tone_kbps, silent_kbps = await _keys(service, ws, rounds)
        stops = await _stops(service, ws, runs)
        start_sounds = await _start_sounds(service, ws, runs)
        cpu = await _music_cpu(service, ws, max(1, runs // 3))
        await ws.close()
    finally:
        service.stop()
        service.cleanup()
    return Measured(keys, echoes, stops, start_sounds, tone_kbps, silent_kbps, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    m = asyncio.run(measure(args.rounds, args.runs))
    base = statistics.median(m.echoes)
    rows = [summary_row("key -> its printed echo (baseline)", m.echoes, base),
            summary_row("key -> its sound at the listener", m.keys, base),
            summary_row("Sound.play() at the program's start -> heard (from its print)", m.start_sounds, base),
            summary_row("stop -> silence at the listener", m.stops, base)]
    print(table("sound of a pygame run", rows, ["what", "n", "median ms", "p95 ms", "vs baseline"]))
    print(f"bandwidth: {m.tone_kbps:.0f} kbit/s while a tone plays, {m.silent_kbps:.0f} kbit/s while silent "
          f"(a school network's budget: 128 kbit/s per student)")
    off, silent = (statistics.median(m.cpu[name]) for name in CPU_ROWS[:2])
    print(table(f"CPU of the service and its sandboxes, % of one core over {CPU_SECONDS:g} s windows, "
                "a 30 fps game (one warm spare sandbox idles beside it)",
                [[name, len(values), f"{statistics.median(values):.1f}", f"{statistics.median(values) - off:+.1f}",
                  f"{statistics.median(values) - silent:+.1f}"] for name, values in m.cpu.items()],
                ["game", "n", "median % CPU", "vs sound off (baseline)", "vs silent"]))

if __name__ == "__main__":
    main()

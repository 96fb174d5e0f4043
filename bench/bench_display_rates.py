"""Display throughput and latency at an RFB client: frames per second for a 640x480 sprite game
and for an 800x600 animation that changes the whole screen every frame, bytes per second on the
socket, and key-to-pixel latency.  Warm gVisor sandbox via the display WebSocket, against the
same programs natively on a host Xvnc, read over its unix socket (the baseline) and through
a plain WebSocket relay (websockify's place, so a cost of the service's own socket shows)."""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import time
from typing import Awaitable, Callable, Dict, List, Tuple

from bench.bench_first_output import python310
from bench.native_display import native_xvnc
from bench.stats import percentile, table
from testkit.client import connect, next_json
from testkit.rfb import RFBClient
from testkit.service import Service
from testkit.waiting import until
from testkit.websocket_relay import websocket_relay

SPRITES = """
import pygame, random
pygame.init()
screen = pygame.display.set_mode((640, 480))
clock = pygame.time.Clock()
balls = [[random.randrange(600), random.randrange(440), random.choice((-4, 4)), random.choice((-3, 3))]
         for _ in range(12)]
while True:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            raise SystemExit
    screen.fill((20, 24, 40))
    for ball in balls:
        ball[0] = (ball[0] + ball[2]) % 600
        ball[1] = (ball[1] + ball[3]) % 440
        pygame.draw.circle(screen, (250, 200, 60), (ball[0] + 20, ball[1] + 20), 18)
    pygame.display.flip()
    clock.tick(60)
"""
FULL_SCREEN = """
import pygame
pygame.init()
screen = pygame.display.set_mode((800, 600))
clock = pygame.time.Clock()
frame = 0
while True:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            raise SystemExit
    frame += 1
    screen.fill(((frame * 7) % 256, (frame * 3) % 256, 255 - (frame * 5) % 256))
    pygame.display.flip()
    clock.tick(60)
"""
KEYS = """
import pygame
pygame.init()
screen = pygame.display.set_mode((200, 200))
colours = [(255, 0, 0), (0, 0, 255)]
index = 0
while True:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            raise SystemExit
        if event.type == pygame.KEYDOWN:
            index = 1 - index
    screen.fill(colours[index])
    pygame.display.flip()
    pygame.time.wait(2)
"""


async def measure_rates(client: RFBClient, seconds: float) -> Tuple[List[int], float]:
    """Distinct frames seen in each whole second, and bytes per second on the socket."""
    await client.wait_for_updates(3, 30)
    began, start_bytes = time.monotonic(), client.bytes_received
    per_second, last = [0] * int(seconds), None
    while time.monotonic() - began < len(per_second):
        await client.wait_for_updates(1, 5)
        digest = hashlib.sha1(bytes(client.framebuffer)).digest()
        second = int(time.monotonic() - began)
        if digest != last and second < len(per_second):
            per_second[second] += 1
            last = digest
    return per_second, (client.bytes_received - start_bytes) / (time.monotonic() - began)


async def measure_key_to_pixel(client: RFBClient, samples: int) -> List[float]:
    latencies = []
    await client.wait_for(lambda c: c.width >= 200 and c.pixel(100, 100) in ((255, 0, 0), (0, 0, 255)), 30, "keys")
    for _ in range(samples):
        before = client.pixel(100, 100)
        sent = time.monotonic()
        await client.key(0x61, True)
        # Awaited within this iteration, so the closure never saw a later `before`; bound anyway.
        await client.wait_for(lambda c, before=before: c.pixel(100, 100) != before, 10, "the colour to flip")
        latencies.append(time.monotonic() - sent)
        await client.key(0x61, False)
        await asyncio.sleep(0.1)
    return latencies


Opener = Callable[[str], Awaitable[Tuple[RFBClient, Callable[[], Awaitable[None]]]]]


async def sandbox_opener(service: Service) -> Opener:
    async def open_program(program: str):
        await until(lambda: service.pool_ready("pygame"), 120, "the pygame pool to refill")
        ws = await connect(service.url)
        await ws.send(json.dumps({"type": "run", "mode": "pygame", "files": [{"path": "main.py", "text": program}]}))
        started = await next_json(ws, timeout=60)
        client = await RFBClient.open_websocket(f"ws://127.0.0.1:{service.port}{started['display']['url']}")

        async def close():
            await client.close()
            await ws.send(json.dumps({"type": "stop"}))
            await next_json(ws, timeout=30)
            await ws.close()
        return client, close
    return open_program


def native_opener(socket_path: str, env: Dict[str, str], relay_url: str = "") -> Opener:
    """The program natively on a host Xvnc, read over its unix socket or through a relay."""
    async def open_program(program: str):
        process = subprocess.Popen([python310(), "-c", program], env=env, stdout=subprocess.DEVNULL)
        client = await (RFBClient.open_websocket(relay_url) if relay_url else RFBClient.open_unix(socket_path))

        async def close():
            await client.close()
            process.kill()
            process.wait()
        return client, close
    return open_program


async def measure(open_program: Opener, seconds: float, samples: int) -> List[object]:
    results: List[object] = []
    for program in (SPRITES, FULL_SCREEN):
        client, close = await open_program(program)
        try:
            per_second, rate = await measure_rates(client, seconds)
        finally:
            await close()
        results += [f"{statistics.median(per_second):.0f} ({min(per_second)})", f"{rate / 2 ** 20:.2f}"]
    client, close = await open_program(KEYS)
    try:
        latencies = await measure_key_to_pixel(client, samples)
    finally:
        await close()
    results += [f"{statistics.median(latencies) * 1000:.0f}", f"{percentile(latencies, 0.95) * 1000:.0f}"]
    return results


async def main_async(seconds: float, samples: int) -> None:
    with native_xvnc(800, 600) as (socket_path, env):
        native = await measure(native_opener(socket_path, env), seconds, samples)
        async with websocket_relay(socket_path) as relay_url:
            relayed = await measure(native_opener(socket_path, env, relay_url), seconds, samples)
    service = Service({"PYPLAY_POOL_PYTHON": "0", "PYPLAY_POOL_TURTLE": "0", "PYPLAY_POOL_PYGAME": "1"}).start()
    try:
        sandboxed = await measure(await sandbox_opener(service), seconds, samples)
    finally:
        service.stop()
        service.cleanup()
    print(table(f"display rates at an RFB client over {seconds:.0f} s (fps: median of 1 s windows, worst in "
                f"brackets), key-to-pixel over {samples} keys, "
                f"{os.cpu_count()} cores",
                [["native pygame + host Xvnc, unix socket (baseline)", *native],
                 ["native pygame + host Xvnc, plain WebSocket relay (websockify's place)", *relayed],
                 ["warm gVisor sandbox, display WebSocket", *sandboxed]],
                ["path", "sprites fps", "sprites MiB/s", "full-screen fps", "full-screen MiB/s",
                 "key-to-pixel median ms", "p95 ms"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main_async(args.seconds, args.samples))


if __name__ == "__main__":
    main()

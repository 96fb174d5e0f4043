"""A pygame program's sound reaches a listener of the run's sound socket, through the real
service: PulseAudio and the Opus encoder in gVisor, the relay, and libopus decoding here."""
from __future__ import annotations

import asyncio

import websockets

from testkit.opus import decode_all, dominant_frequency, rms, strength
from tests.e2e.display_run import start

# A student's tone: 440 Hz made with the standard library, looped, and a blue window.
TONE_GAME = """
import array, math
import pygame
pygame.mixer.init(48000, -16, 2, 512)
pygame.init()
screen = pygame.display.set_mode((200, 150))
rate = pygame.mixer.get_init()[0]
wave = array.array('h', [int(12000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(rate) for _ in (0, 1)])
pygame.mixer.Sound(buffer=wave.tobytes()).play(loops=-1)
print('playing', flush=True)
while True:
    for event in pygame.event.get():
        if event.type == pygame.QUIT:
            raise SystemExit
    screen.fill((30, 144, 255))
    pygame.display.flip()
    pygame.time.wait(20)
"""


async def listen(url: str, seconds: float, or_until_the_end: bool = False) -> list:
    """``seconds`` of sound (100 packets a second), however long a busy machine takes to send it;
    or less if ``or_until_the_end`` and the program ends first (its sound socket closes)."""
    packets: list = []
    async with websockets.connect(url, subprotocols=["binary"], max_size=None) as ws:
        try:
            while len(packets) < int(seconds * 100):
                packets.append(await asyncio.wait_for(ws.recv(), 30))
        except websockets.ConnectionClosedOK:
            if not or_until_the_end:
                raise
    return packets


async def test_a_pygame_tone_is_heard_at_440_hz_and_the_picture_still_arrives(display_service):
    run = await start(display_service, TONE_GAME)
    audio = run.started["display"].get("audio")
    assert audio and audio.startswith(f"/v1/runs/{run.started['run']}/audio?ticket="), run.started
    await run.wait_output("playing")
    packets = await listen(f"ws://127.0.0.1:{display_service.port}{audio}", 1.5)
    samples = decode_all(packets)[-48000:]          # the last second: the tone is playing by then
    assert rms(samples) > 2000, "sound, not silence"
    loudest = dominant_frequency(samples, range(300, 1001, 10))
    assert abs(loudest - 440) <= 10, f"the loudest frequency is {loudest} Hz"
    rfb = await run.rfb()
    try:
        await rfb.wait_for(lambda c: c.is_uniform((30, 144, 255)), 30, "the game's picture")
    finally:
        await rfb.close()
    assert (await run.stop())["reason"] == "stopped"


async def test_a_listener_that_never_reads_makes_nothing_grow_in_the_service(display_service):
    run = await start(display_service, TONE_GAME)
    await run.wait_output("playing")
    url = f"ws://127.0.0.1:{display_service.port}{run.started['display']['audio']}"
    before = _rss_kib(display_service.process.pid)
    async with websockets.connect(url, subprotocols=["binary"], max_size=None, max_queue=1) as ws:
        await asyncio.sleep(6)                # 600 packets sent to nobody
        after = _rss_kib(display_service.process.pid)
        await ws.recv()                       # still alive: it gets sound when it reads
    assert after - before < 4096, f"the service grew by {after - before} KiB"
    assert (await run.stop())["reason"] == "stopped"


def _loudest_window(samples: list, window: int = 4800) -> list:
    """The loudest 100 ms: a starved machine's gaps of silence spoil an average, not this."""
    return max((samples[start:start + window] for start in range(0, len(samples) - window + 1, window)), key=rms)


def _peak_rms(samples: list) -> float:
    return rms(_loudest_window(samples))


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


async def test_a_python_or_turtle_run_offers_no_sound(display_service):
    run = await start(display_service, "import turtle\nturtle.done()\n")
    assert "audio" not in run.started["display"]
    assert (await run.stop())["reason"] == "stopped"


async def test_the_mixer_leaves_nothing_in_the_students_folder(display_service):
    program = ("import os, pygame\npygame.mixer.init()\npygame.mixer.quit()\n"
               "print('files', sorted(os.listdir('.')), flush=True)\n")
    run = await start(display_service, program, mode="pygame")
    await run.wait_output("files")
    assert "files ['main.py']" in bytes(run.output).decode(), bytes(run.output)
    await run.exit


async def test_stop_closes_the_sound_at_once_even_if_the_program_ignores_its_window(display_service):
    deaf = TONE_GAME.replace("    for event in pygame.event.get():\n        if event.type == pygame.QUIT:\n"
                             "            raise SystemExit\n", "")
    run = await start(display_service, deaf)
    await run.wait_output("playing")
    url = f"ws://127.0.0.1:{display_service.port}{run.started['display']['audio']}"
    async with websockets.connect(url, subprotocols=["binary"], max_size=None) as sound:
        await sound.recv()
        await run.ws.send('{"type": "stop"}')
        # The program still runs (it ignores the window's close) while its sound is cut off.
        await asyncio.wait_for(sound.wait_closed(), 5)
        assert not run.exit.done(), "the sound ended before the program did"
    assert (await run.exit)["reason"] == "stopped"


# pygame's own aliens example, run from where it installs: its music (house_lo) and its
# effects (boom.wav on every hit) go through the mixer; "Warning, no sound" means no mixer.
ALIENS = "import runpy\nrunpy.run_module('pygame.examples.aliens', run_name='__main__')\n"


async def test_pygames_aliens_example_is_heard_without_errors(display_service):
    run = await start(display_service, ALIENS, mode="pygame")
    url = f"ws://127.0.0.1:{display_service.port}{run.started['display']['audio']}"
    # With nobody playing, a bomb ends the game within a few seconds: then the socket closes.
    packets = await listen(url, 4.0, or_until_the_end=True)
    output = bytes(run.output).decode(errors="replace")
    assert "Warning, no sound" not in output and "Traceback" not in output, output
    assert len(packets) >= 100 and rms(decode_all(packets)) > 300, "its music is heard"
    assert (await run.stop())["reason"] in ("stopped", "exited")


# Music in three formats from pygame's own example data, two effects on two channels at once,
# and a channel's volume: what games use.
MIXER_TOUR = """
import array, math, os, sys, time
import pygame
import pygame.examples
pygame.mixer.init(48000, -16, 2, 512)
data = os.path.join(os.path.dirname(pygame.examples.__file__), 'data')
for name in ('house_lo.ogg', 'house_lo.mp3', 'house_lo.wav'):
    pygame.mixer.music.load(os.path.join(data, name))
    pygame.mixer.music.play()
    time.sleep(0.3)
    print('music', name, pygame.mixer.music.get_busy(), flush=True)
pygame.mixer.music.stop()
rate = pygame.mixer.get_init()[0]
def tone(hz):
    return pygame.mixer.Sound(buffer=array.array('h', [int(8000 * math.sin(2 * math.pi * hz * i / rate))
                                                       for i in range(rate) for _ in (0, 1)]).tobytes())
low, high = tone(440), tone(660)
sys.stdin.readline()
first, second = low.play(loops=-1), high.play(loops=-1)
print('two channels', pygame.mixer.get_busy(), flush=True)
sys.stdin.readline()
first.set_volume(0.1)
second.set_volume(0.1)
print('quiet', flush=True)
sys.stdin.readline()
"""


async def test_music_in_three_formats_two_channels_at_once_and_volume(display_service):
    run = await start(display_service, MIXER_TOUR, mode="pygame")
    url = f"ws://127.0.0.1:{display_service.port}{run.started['display']['audio']}"
    for name in ("house_lo.ogg", "house_lo.mp3", "house_lo.wav"):
        await run.wait_output(f"music {name} True")
    await run.ws.send('{"type": "stdin", "data": "\\r"}')
    await run.wait_output("two channels True")
    loud = decode_all(await listen(url, 1.0))[-24000:]
    window = _loudest_window(loud)
    assert strength(window, 440) > 4 * strength(window, 550) and strength(window, 660) > 4 * strength(window, 550), \
        "both tones at once"
    await run.ws.send('{"type": "stdin", "data": "\\r"}')
    await run.wait_output("quiet")
    quiet = decode_all(await listen(url, 1.0))[-24000:]
    loudest, quietest = _peak_rms(loud), _peak_rms(quiet)
    assert quietest < loudest / 4, f"volume 0.1 is quieter: {quietest:.0f} vs {loudest:.0f}"
    assert "Traceback" not in bytes(run.output).decode(errors="replace")
    assert (await run.stop())["reason"] == "stopped"


# The warm sandbox opens the sound device ahead with pygame's defaults (sandbox/mixer_ahead.py);
# what a program asks for before its first opening must still be what it gets, as on a desktop.
REPORT = "print('mixer', pygame.mixer.get_init(), pygame.mixer.get_driver(), flush=True)\n"
ASKED_AND_GOT = [
    ("import pygame\npygame.init()\n", "mixer (44100, -16, 2) pulseaudio"),
    ("import pygame\npygame.mixer.pre_init(22050, -16, 1)\npygame.init()\n", "mixer (22050, -16, 1) pulseaudio"),
    ("import pygame\npygame.mixer.init(frequency=48000)\n", "mixer (48000, -16, 2) pulseaudio"),
    ("import os\nos.environ['SDL_AUDIODRIVER'] = 'dummy'\nimport pygame\npygame.init()\n",
     "mixer (44100, -16, 2) dummy"),
    # After the first opening pre_init changes nothing until the mixer is closed, as on a desktop.
    ("import pygame\npygame.init()\npygame.mixer.pre_init(22050, -16, 1)\npygame.init()\n",
     "mixer (44100, -16, 2) pulseaudio"),
]


async def test_the_device_opened_ahead_gives_way_to_the_settings_a_program_asks_for(display_service):
    for program, expected in ASKED_AND_GOT:
        run = await start(display_service, program + REPORT, mode="pygame")
        await run.wait_output("mixer ")
        assert expected in bytes(run.output).decode(), (program, bytes(run.output))
        assert (await run.exit)["reason"] == "exited"

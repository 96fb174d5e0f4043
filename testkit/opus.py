"""Decoding the service's sound in tests and benchmarks: libopus through ctypes, and the
strength of one frequency in PCM (Goertzel), with no numpy."""
from __future__ import annotations

import array
import ctypes
import ctypes.util
import math
from typing import Iterable, List, Sequence

RATE, CHANNELS = 48000, 2
MAX_FRAME = 5760          # 120 ms at 48 kHz: the longest Opus frame


class OpusDecoder:
    def __init__(self) -> None:
        self.lib = ctypes.CDLL(ctypes.util.find_library("opus") or "libopus.so.0")
        self.lib.opus_decoder_create.restype = ctypes.c_void_p
        self.lib.opus_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                                         ctypes.POINTER(ctypes.c_int16), ctypes.c_int, ctypes.c_int]
        self.lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        error = ctypes.c_int()
        self.state = self.lib.opus_decoder_create(RATE, CHANNELS, ctypes.byref(error))
        if not self.state or error.value:
            raise RuntimeError(f"opus_decoder_create failed ({error.value})")
        self.pcm = (ctypes.c_int16 * (MAX_FRAME * CHANNELS))()

    def decode(self, packet: bytes) -> List[int]:
        """The left channel's samples of one packet."""
        samples = self.lib.opus_decode(self.state, packet, len(packet), self.pcm, MAX_FRAME, 0)
        if samples < 0:
            raise ValueError(f"not an Opus packet (error {samples})")
        return list(self.pcm[0:samples * CHANNELS:CHANNELS])

    def close(self) -> None:
        self.lib.opus_decoder_destroy(self.state)


def decode_all(packets: Iterable[bytes]) -> List[int]:
    decoder = OpusDecoder()
    try:
        return [sample for packet in packets for sample in decoder.decode(packet)]
    finally:
        decoder.close()


def strength(samples: List[int], frequency: float, rate: int = RATE) -> float:
    """Goertzel: the power of one frequency in ``samples``, normalised by their number."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    return (previous * previous + before * before - coefficient * previous * before) / max(1, len(samples)) ** 2


def dominant_frequency(samples: List[int], candidates: Sequence[float], window: int = RATE // 10,
                       loud: float = 1000.0) -> float:
    """The frequency most often loudest across the sound's loud 100 ms windows: a gap or a
    glitch (a starved machine) spoils a window or two, not the answer."""
    winners = [max(candidates, key=lambda frequency: strength(samples[start:start + window], frequency))
               for start in range(0, len(samples) - window + 1, window)
               if rms(samples[start:start + window]) > loud]
    if not winners:
        return 0.0
    return max(set(winners), key=winners.count)


def rms(samples: List[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def tone(frequency: float, seconds: float, amplitude: int = 12000, rate: int = RATE) -> bytes:
    """Stereo s16 PCM of a sine, as a program would hand to pygame.mixer.Sound(buffer=...)."""
    count = int(seconds * rate)
    return array.array("h", [int(amplitude * math.sin(2 * math.pi * frequency * i / rate))
                             for i in range(count) for _ in range(CHANNELS)]).tobytes()

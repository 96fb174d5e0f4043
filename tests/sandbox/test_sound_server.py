"""The sandbox's PulseAudio script (sandbox/sound.py): kept awake before any client can connect."""
from __future__ import annotations

from sandbox import sound


def test_the_sink_is_kept_awake_and_restarted_before_the_socket_opens():
    lines = sound.pulse_script().splitlines()
    loopback = next(i for i, line in enumerate(lines) if "module-loopback" in line)
    assert f"source={sound.SINK}.monitor" in lines[loopback]
    assert f"latency_msec={sound.KEEP_AWAKE_MS}" in lines[loopback]
    assert sound.KEEP_AWAKE_MS <= 100, "a new stream waits out at most one block of this"
    suspend, resume = lines.index(f"suspend-sink {sound.SINK} 1"), lines.index(f"suspend-sink {sound.SINK} 0")
    socket = next(i for i, line in enumerate(lines) if "module-native-protocol-unix" in line)
    assert loopback < suspend < resume < socket, "no client connects before the sink's first short block"
    assert f"set-default-sink {sound.SINK}" in lines, "programs play into the recorded sink, not the drain"

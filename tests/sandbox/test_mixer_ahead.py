"""Which init/pre_init calls make the device opened ahead step aside (sandbox/mixer_ahead.py)."""
from __future__ import annotations

import pytest

from sandbox.mixer_ahead import asks_otherwise

OPENED = (44100, -16, 2)


@pytest.mark.parametrize("args, kwargs", [
    ((), {}),
    ((44100, -16, 2, 512), {}),
    ((0, 0, 0, 4096), {}),                      # 0 is pygame's default; the buffer only sets latency
    ((), {"buffer": 2048, "allowedchanges": 0}),
    ((None,), {"devicename": None}),
])
def test_the_defaults_or_only_a_buffer_keep_the_device(args, kwargs):
    assert not asks_otherwise(OPENED, args, kwargs)


@pytest.mark.parametrize("args, kwargs", [
    ((22050,), {}),
    ((44100, 16), {}),                          # unsigned samples
    ((44100, -16, 1), {}),
    ((), {"channels": 1}),
    ((), {"frequency": 48000}),
    ((), {"devicename": "some device"}),
])
def test_other_settings_or_a_named_device_close_it(args, kwargs):
    assert asks_otherwise(OPENED, args, kwargs)

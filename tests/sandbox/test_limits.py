"""Each limit trips with its reason and a plain message; the next run still works."""
from __future__ import annotations

import pytest

from testkit.client import run_program

LIMIT_CASES = {
    "wall": ("import time\nwhile True:\n    print('.', end='', flush=True)\n    time.sleep(0.2)",
             "timeout", "ran for more than"),
    "idle": ("input('waiting ')", "timeout", "with nothing happening"),
    "memory": ("chunks = []\nwhile True:\n    chunks.append(bytes(20_000_000))", "memory", "too much memory"),
    "processes": ("import os, time\nwhile True:\n    os.fork()", "failed", "too many processes"),
    "threads": ("import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,)).start()",
                "failed", "too many processes"),
    "open_files": ("files = []\nwhile True:\n    files.append(open('main.py'))", "failed", "too many files"),
    "workspace": ("i = 0\nwhile True:\n    open(f'part{i}.bin', 'wb').write(b'x' * 1_000_000)\n    i += 1",
                  "failed", "files got too big"),
    "file_size": ("with open('/tmp/one.bin', 'wb') as f:\n    f.write(b'x' * 3_000_000)",
                  "failed", "a file bigger than"),
    "output": ("while True:\n    print('spam ' * 20)", "output", "printed too much"),
}


@pytest.mark.parametrize("name", sorted(LIMIT_CASES))
async def test_limit_ends_the_run_with_its_reason_and_the_next_run_works(tight_ws, name):
    program, reason, words = LIMIT_CASES[name]
    result = await run_program(tight_ws, program, timeout=30)
    assert result.exit["reason"] == reason, (result.exit, result.text[-500:])
    assert words in result.exit["message"]
    follow_up = await run_program(tight_ws, "print('still fine')")
    assert follow_up.text.strip() == "still fine"


async def test_output_flood_is_slowed_not_buffered(tight_ws, tight_service):
    """The print loop is throttled at the agent: the proxy's memory stays flat."""
    result = await run_program(tight_ws, "while True:\n    print('x' * 100)", timeout=30)
    assert result.exit["reason"] == "output"
    assert len(result.output) <= 256 * 1024 + 64 * 1024

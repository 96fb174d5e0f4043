"""The baseline for display benchmarks: a host Xvnc and the sandbox's own Python and pygame."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Dict, Iterator, Tuple

from sandbox import display
from testkit.service import REPO


@contextlib.contextmanager
def native_xvnc(width: int, height: int) -> Iterator[Tuple[str, Dict[str, str]]]:
    """(RFB unix socket path, environment for a native pygame program on it)."""
    directory = tempfile.mkdtemp(prefix="pyplay-bench-")
    socket_path = os.path.join(directory, "vnc.sock")
    xvnc = display.start_xvnc(None, width, height, socket_path)
    try:
        display.wait_ready(xvnc)
        site = os.path.join(REPO, "build", "sandbox", "env", "lib", "python3.10", "site-packages")
        yield socket_path, display.program_environment(
            xvnc.display, {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": site})
    finally:
        display.stop_xvnc(xvnc)
        shutil.rmtree(directory, ignore_errors=True)


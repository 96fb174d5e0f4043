"""Fixtures for the display tests: a host Xvnc, and the prerequisites of gVisor runs."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from typing import AsyncIterator, Iterator

import pytest

from sandbox import display
from testkit.rfb import RFBClient


def require_binary(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"needs `{name}` on the PATH: `make test` installs it (apt-get install {package})")
    return found


class HostDisplay:
    """An Xvnc on this machine (not sandboxed) at a free display number."""

    def __init__(self, width: int = 800, height: int = 600) -> None:
        require_binary("Xtigervnc", "tigervnc-standalone-server")
        self.dir = tempfile.mkdtemp(prefix="pyplay-xvnc-")
        self.rfb_path = os.path.join(self.dir, "rfb")
        self.xvnc = display.start_xvnc(None, width, height, self.rfb_path, die_with_parent=True,
                                       log_path=os.path.join(self.dir, "xvnc.log"))
        display.wait_ready(self.xvnc)
        self.name = self.xvnc.display_name
        self.children: list = []

    def env(self, **extra: str) -> dict:
        return {**os.environ, "DISPLAY": self.name, **extra}

    def spawn(self, args: list, **extra_env: str) -> subprocess.Popen:
        """An X client of this display; ended when the display is closed."""
        child = subprocess.Popen(args, env=self.env(**extra_env), stdout=subprocess.PIPE, text=True)
        self.children.append(child)
        return child

    def tk(self, script: str) -> subprocess.Popen:
        return self.spawn([sys.executable, "-c", script])

    def close(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
            child.wait()
        display.stop_xvnc(self.xvnc)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def host_display() -> Iterator[HostDisplay]:
    host = HostDisplay()
    try:
        yield host
    finally:
        host.close()
    assert host.xvnc.process.poll() is not None, "Xvnc still running after the test"


@pytest.fixture
async def rfb(host_display: HostDisplay) -> AsyncIterator[RFBClient]:
    client = await RFBClient.open_unix(host_display.rfb_path)
    try:
        yield client
    finally:
        await client.close()

"""Shared fixtures: real pyplay services (real gVisor) on loopback, and clients for them."""
from __future__ import annotations

import os
import shutil

import pytest

from testkit.client import connect
from testkit.service import REPO, Service

TIGHT_LIMITS = {
    "PYPLAY_LIMIT_WALL_SECONDS": "4", "PYPLAY_LIMIT_IDLE_SECONDS": "2",
    "PYPLAY_LIMIT_MEMORY_BYTES": str(200 * 1024 * 1024), "PYPLAY_LIMIT_PROCESSES": "24",
    "PYPLAY_LIMIT_OPEN_FILES": "64", "PYPLAY_LIMIT_WORKSPACE_BYTES": str(8 * 1024 * 1024),
    "PYPLAY_LIMIT_FILE_BYTES": str(2 * 1024 * 1024), "PYPLAY_LIMIT_OUTPUT_BYTES": str(256 * 1024),
    "PYPLAY_LIMIT_UPLOAD_BYTES": str(64 * 1024), "PYPLAY_LIMIT_UPLOAD_FILES": "5",
    "PYPLAY_MAX_MESSAGE_BYTES": str(1024 * 1024), "PYPLAY_POOL_PYTHON": "1", "PYPLAY_SANDBOX_IDLE_SECONDS": "3",
}


def _require_sandbox_tools() -> None:
    missing = [tool for tool in ("runsc",) if shutil.which(tool) is None]
    if missing or not os.path.isdir(os.path.join(REPO, "build", "sandbox", "env")):
        pytest.fail(f"missing {missing or 'build/sandbox'}: run the tests with `make test`, which installs them")


def _service(env: dict):
    _require_sandbox_tools()
    service = Service(env).start()
    yield service
    code = service.stop()
    leftovers = service.runsc_ids()
    dirs = os.listdir(os.path.join(service.state_dir, "sandboxes"))
    log = service.log()
    service.cleanup()
    assert code == 0, f"service exited with {code}: {log[-2000:]}"
    assert leftovers == [] and dirs == [], f"sandboxes left behind: {leftovers} {dirs}"


@pytest.fixture(scope="session")
def service():
    yield from _service({})


@pytest.fixture(scope="session")
def tight_service():
    yield from _service(TIGHT_LIMITS)


@pytest.fixture(scope="session")
def display_service():
    yield from _service({"PYPLAY_POOL_PYTHON": "0", "PYPLAY_POOL_PYGAME": "1", "PYPLAY_POOL_TURTLE": "1"})


@pytest.fixture
async def ws(service):
    socket = await connect(service.url)
    yield socket
    await socket.close()


@pytest.fixture
async def tight_ws(tight_service):
    socket = await connect(tight_service.url)
    yield socket
    await socket.close()

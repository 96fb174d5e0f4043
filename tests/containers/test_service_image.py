"""The control-service image runs as jobspecs/pyplay.nomad.hcl runs it (read-only root, no
capabilities, not root): health and readiness pass, and a student's run goes through it to a
sandbox container that the fake Nomad started."""
from __future__ import annotations

import urllib.request
from typing import Iterator

import pytest

from testkit.client import connect, run_program
from testkit.docker_engine import LABEL, DockerEngine
from testkit.service import free_port
from testkit.waiting import until_sync
from tests.containers.conftest import service_env
from tests.scheduler.nomad.fake_cluster import FakeCluster


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status
    except OSError:
        return 0


@pytest.fixture(scope="module")
def service_container(engine: DockerEngine, container_cluster: FakeCluster) -> Iterator[str]:
    port, admin = free_port(), free_port()
    env = service_env(container_cluster, PYPLAY_HOST="127.0.0.1", PYPLAY_PORT=str(port),
                      PYPLAY_ADMIN_HOST="127.0.0.1", PYPLAY_ADMIN_PORT=str(admin))
    # The host's loopback is where the fakes and the published sandbox ports are; the
    # service binds loopback only.
    options = ["run", "--detach", "--label", LABEL, "--network", "host", "--read-only", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges"]
    for key, value in env.items():
        options += ["--env", f"{key}={value}"]
    container = engine.run(*options, engine.service_image).strip()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        logs = engine.run("logs", container)
        engine.remove([container])
        assert "Traceback" not in logs, logs[-3000:]


def test_health_and_readiness_pass(service_container, engine):
    until_sync(lambda: _status(f"http://{service_container}/healthz") == 200, 60, "/healthz to answer 200")
    until_sync(lambda: _status(f"http://{service_container}/readyz") == 200, 60, "/readyz to answer 200")


async def test_a_run_goes_through_the_service_container_to_a_sandbox_container(service_container, container_cluster):
    until_sync(lambda: _status(f"http://{service_container}/readyz") == 200, 60, "/readyz to answer 200")
    ws = await connect(f"ws://{service_container}/")
    try:
        result = await run_program(ws, "import os\nprint('from', os.getuid())", timeout=90)
    finally:
        await ws.close()
    assert result.text.strip() == "from 1000" and result.exit["code"] == 0, result.text

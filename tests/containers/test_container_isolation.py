"""Isolation on the container path: the deny checks (no host files, no host environment, no
network, no other processes), a non-root program and every limit, against the service with
PYPLAY_SCHEDULER=nomad and its sandboxes as gVisor containers started from the jobspec.

The sabotage check: the same task with gVisor and its isolation removed (testkit/
containers.py, TaskSpec.sabotaged) fails every deny check, so these can fail."""
from __future__ import annotations

from typing import Iterator

import pytest

from testkit.client import connect, run_program
from testkit.containers import ContainerSandboxHost
from testkit.service import Service
from tests.conftest import TIGHT_LIMITS
from tests.containers.conftest import _cluster, service_env
from tests.sandbox.hostile.deny_checks import DENY_CHECKS
from tests.sandbox.hostile.test_sabotage import EVIDENCE
from tests.sandbox.test_limits import LIMIT_CASES
from tests.scheduler.nomad.fake_cluster import FakeCluster

COLD = 90.0


def _service(cluster: FakeCluster, **env: str) -> Iterator[Service]:
    service = Service(service_env(cluster, **env)).start(wait_ready=60)
    yield service
    code = service.stop()
    log = service.log()
    service.cleanup()
    assert code == 0, f"service exited with {code}: {log[-2000:]}"


@pytest.fixture(scope="module")
def tight_service(container_cluster) -> Iterator[Service]:
    yield from _service(container_cluster, **{**TIGHT_LIMITS, "PYPLAY_POOL_PYTHON": "0"})


@pytest.fixture
async def ws(nomad_service):
    socket = await connect(nomad_service.url)
    yield socket
    await socket.close()


@pytest.mark.parametrize("name", sorted(DENY_CHECKS))
async def test_denied_in_a_container(ws, nomad_service, name):
    await DENY_CHECKS[name](ws, nomad_service)


async def test_the_program_is_not_root_and_has_no_capabilities(ws):
    program = ("import os\nstatus = dict(line.split(':\\t') for line in open('/proc/self/status').read().splitlines()"
               " if ':\\t' in line)\nprint('IDS', os.getuid(), os.geteuid(), os.getgid(), status['CapEff'].strip())")
    result = await run_program(ws, program, timeout=COLD)
    assert "IDS 1000 1000 1000 0000000000000000" in result.text, result.text


@pytest.mark.parametrize("name", sorted(LIMIT_CASES))
async def test_limit_in_a_container(tight_service, name):
    program, reason, words = LIMIT_CASES[name]
    ws = await connect(tight_service.url)
    try:
        result = await run_program(ws, program, timeout=COLD)
        assert result.exit["reason"] == reason, (result.exit, result.text[-500:])
        assert words in result.exit["message"]
        assert (await run_program(ws, "print('still fine')", timeout=COLD)).text.strip() == "still fine"
    finally:
        await ws.close()


@pytest.fixture(scope="module")
def sabotaged_service(engine, nomad_spec) -> Iterator[Service]:
    host = ContainerSandboxHost(engine)
    host.task = host.task.sabotaged()
    for cluster in _cluster(engine, nomad_spec, host):
        yield from _service(cluster)


@pytest.mark.parametrize("name", sorted(DENY_CHECKS))
async def test_deny_check_fails_on_a_sabotaged_container(sabotaged_service, name):
    ws = await connect(sabotaged_service.url)
    try:
        with pytest.raises(AssertionError, match=EVIDENCE[name]):
            await DENY_CHECKS[name](ws, sabotaged_service)
    finally:
        await ws.close()

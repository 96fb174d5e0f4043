"""Fixtures for the container tests: the Docker engine `make test` started, a fake Nomad and
Consul whose allocations are real gVisor containers, and the service in front of them.

Nothing may be left behind: after the session no container with the tests' label exists
(a leftover is removed and fails the session), and no image but the built ones.
"""
from __future__ import annotations

from typing import Dict, Iterator, Optional

import pytest

from testkit.containers import ContainerSandboxHost, usable_engine
from testkit.docker_engine import DockerEngine
from testkit.service import Service
from testkit.waiting import until_sync
from tests.scheduler.nomad.fake_cluster import FakeCluster
from tests.scheduler.nomad.openapi_spec import SPEC_PATH, NomadSpec


@pytest.fixture(scope="session")
def engine() -> Iterator[DockerEngine]:
    found, why = usable_engine()
    if found is None:
        pytest.skip(why)
    images = set(found.run("image", "ls", "--quiet", "--no-trunc").split())
    yield found
    leftovers = found.labelled()
    found.remove(leftovers)
    assert leftovers == [], f"containers left behind: {leftovers}"
    added = set(found.run("image", "ls", "--quiet", "--no-trunc").split()) - images
    assert not added, f"image layers left behind: {added}"


@pytest.fixture(scope="session")
def nomad_spec() -> NomadSpec:
    if not SPEC_PATH.is_file():
        pytest.skip(f"needs Nomad's OpenAPI spec at {SPEC_PATH} (shared/nomad/openapi.yaml next to the repo)")
    return NomadSpec.load(SPEC_PATH)


def _cluster(engine: DockerEngine, nomad_spec: NomadSpec,
             host: Optional[ContainerSandboxHost] = None) -> Iterator[FakeCluster]:
    cluster = FakeCluster(nomad_spec, sandboxes=host or ContainerSandboxHost(engine))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
    assert cluster.violations() == [], "requests or answers outside Nomad's OpenAPI spec"
    assert engine.labelled() == [], "a stopped allocation's container is still there"


@pytest.fixture(scope="module")
def container_cluster(engine: DockerEngine, nomad_spec: NomadSpec) -> Iterator[FakeCluster]:
    yield from _cluster(engine, nomad_spec)


# A real container takes seconds to start under gVisor: bounds for that, not the fakes' 5 s.
# A stray child is one older than two API timeouts (scheduler/nomad/settings.py).
SLOW_SETTINGS = dict(start_seconds=90.0, connect_seconds=10.0, api_timeout_seconds=90.0, poll_seconds=0.1,
                     maintain_seconds=1.0, stray_seconds=240.0)


def service_env(cluster: FakeCluster, **extra: str) -> Dict[str, str]:
    """The environment of a service with PYPLAY_SCHEDULER=nomad pointed at ``cluster``."""
    settings = cluster.settings(**SLOW_SETTINGS)
    env = {"PYPLAY_SCHEDULER": "nomad", "NOMAD_ADDR": settings.nomad_addr, "CONSUL_HTTP_ADDR": settings.consul_addr,
           "PYPLAY_POOL_PYTHON": "0", "PYPLAY_POOL_PYGAME": "0", "PYPLAY_POOL_TURTLE": "0",
           "PYPLAY_ACQUIRE_SECONDS": "120"}
    for field in ("job", "service", "owner", "start_seconds", "connect_seconds", "api_timeout_seconds",
                  "poll_seconds", "maintain_seconds", "stray_seconds"):
        env[f"PYPLAY_NOMAD_{field.upper()}"] = str(getattr(settings, field))
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def nomad_service(container_cluster: FakeCluster) -> Iterator[Service]:
    service = Service(service_env(container_cluster)).start(wait_ready=60)
    yield service
    code = service.stop()
    log = service.log()
    service.cleanup()
    assert code == 0, f"service exited with {code}: {log[-2000:]}"
    # Nomad stops a purged job's allocation after the purge answers (the fake does too): wait
    # for the containers to go, as an operator would, rather than look at once.
    until_sync(lambda: container_cluster.live_sandboxes() == [], 60, "the service's sandboxes to be purged")

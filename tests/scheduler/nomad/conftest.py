"""Fixtures for the Nomad tests: a fake cluster per test, and schedulers that are closed after it.

Every test's fake cluster must end without a spec violation: a request the OpenAPI spec
does not allow, or an answer of the fake that the spec does not allow, fails the test.
No thread of the fakes or of the scheduler's executor may outlive the test.
"""
from __future__ import annotations

import threading
from typing import Any, AsyncIterator, Callable, Iterator, List

import pytest

from common.config import Config
from scheduler.nomad import NomadScheduler
from testkit.waiting import until_sync
from tests.scheduler.nomad.fake_cluster import FakeCluster
from tests.scheduler.nomad.openapi_spec import SPEC_PATH, NomadSpec

OUR_THREADS = ("fake-", "pyplay-nomad")


@pytest.fixture(scope="session")
def nomad_spec() -> NomadSpec:
    if not SPEC_PATH.is_file():
        pytest.skip(f"needs Nomad's OpenAPI spec at {SPEC_PATH} (shared/nomad/openapi.yaml next to the repo)")
    return NomadSpec.load(SPEC_PATH)


def _our_threads() -> List[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(OUR_THREADS)]


@pytest.fixture
def no_leftover_threads() -> Iterator[None]:
    yield
    until_sync(lambda: not _our_threads(), 2, lambda: f"the test's threads to end: {_our_threads()} still running",
               interval=0.02)


@pytest.fixture
def cluster(nomad_spec: NomadSpec, no_leftover_threads: None) -> Iterator[FakeCluster]:
    fake = FakeCluster(nomad_spec)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
    assert fake.violations() == [], "requests or answers outside Nomad's OpenAPI spec"


def config_for_tests(**overrides: Any) -> Config:
    values: dict = dict(pool_sizes=(("python", 0), ("pygame", 0), ("turtle", 0)),
                        acquire_seconds=5.0, max_sandboxes=16)
    values.update(overrides)
    return Config(**values)


@pytest.fixture
async def make_scheduler(cluster: FakeCluster) -> AsyncIterator[Callable[..., Any]]:
    """make_scheduler(config_overrides..., settings=dict(...)) -> a started NomadScheduler."""
    made: List[NomadScheduler] = []

    async def make(settings: dict | None = None, start: bool = True, **config: Any) -> NomadScheduler:
        scheduler = NomadScheduler(config_for_tests(**config), cluster.settings(**(settings or {})))
        made.append(scheduler)
        if start:
            await scheduler.start()
        return scheduler

    yield make
    for scheduler in made:
        await scheduler.close()

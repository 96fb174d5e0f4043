"""Finding the replica that owns a run: configuration locally, Consul under Nomad.

ConsulPeers is checked against the fake Consul of tests/scheduler/nomad (a FAKE: this
machine has no Consul; it serves GET /v1/health/service/<name> as Consul documents it and
records any other call as a violation)."""
from __future__ import annotations

from typing import Iterator

import pytest

from app.peers import ConsulPeers, peer_directory
from common.config import Config
from proxy.replicas import StaticPeers
from scheduler.nomad import NomadSettings
from tests.scheduler.nomad.fake_consul import FakeConsul, Registration


@pytest.fixture
def consul() -> Iterator[FakeConsul]:
    fake = FakeConsul(token="secret")
    fake.start()
    yield fake
    fake.stop()
    assert fake.violations == []


def _replica(name: str, port: int, status: str = "passing") -> Registration:
    return Registration(service_id=f"_nomad-task-{name}", service="pyplay-internal", address="127.0.0.1",
                        port=port, tags=(f"replica:{name}",), meta={}, status=status)


async def test_consul_peers_find_a_live_replica_by_its_tag(consul: FakeConsul) -> None:
    consul.register(_replica("a1b2c3d4", 18001))
    consul.register(_replica("e5f6a7b8", 18002))
    config = Config(peer_discovery="consul")
    peers = ConsulPeers(config, NomadSettings(consul_addr=consul.address, consul_token="secret"))
    assert await peers.address("e5f6a7b8") == "127.0.0.1:18002"
    assert await peers.address("a1b2c3d4") == "127.0.0.1:18001"
    # A stale read: any Consul server answers, not only the leader (scheduler/nomad/consul.py).
    assert "GET /v1/health/service/pyplay-internal?tag=replica%3Ae5f6a7b8&stale=" in consul.requests


async def test_a_replica_whose_check_fails_or_is_unknown_is_not_found(consul: FakeConsul) -> None:
    """A dead replica: its students must hear `gone`, not wait on an address that never answers."""
    consul.register(_replica("deadbeef", 18003, status="critical"))
    peers = ConsulPeers(Config(peer_discovery="consul"), NomadSettings(consul_addr=consul.address,
                                                                        consul_token="secret"))
    assert await peers.address("deadbeef") is None
    assert await peers.address("nobody") is None


async def test_consul_that_does_not_answer_means_no_peer(consul: FakeConsul) -> None:
    peers = ConsulPeers(Config(peer_discovery="consul"), NomadSettings(consul_addr=consul.address,
                                                                        consul_token="wrong"))
    consul.register(_replica("a1b2c3d4", 18001))
    assert await peers.address("a1b2c3d4") is None   # 403 from Consul: unknown, so `gone`


async def test_static_peers_come_from_configuration() -> None:
    peers = peer_directory(Config(peers=("r0=127.0.0.1:9001", "r1=127.0.0.1:9002")))
    assert isinstance(peers, StaticPeers)
    assert await peers.address("r1") == "127.0.0.1:9002" and await peers.address("r2") is None

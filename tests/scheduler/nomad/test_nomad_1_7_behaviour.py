"""NomadScheduler against the fakes' model of Nomad 1.7.7 and Consul (issue 16).

Each test here pins one defect the audit found: it fails on the scheduler as it was
before the fix (checked by running it there) and passes now.  The behaviours the fakes
model are listed in tests/scheduler/nomad/README.md.
"""
from __future__ import annotations

import asyncio
import socket

import pytest

from scheduler.errors import Unavailable
from scheduler.nomad.api import NodeState
from testkit.waiting import until
from tests.scheduler.nomad.fake_cluster import CONTAINER_ADDRESS, NODE_ADDRESS
from tests.scheduler.nomad.fake_nomad import HOLD
from tests.scheduler.nomad.helpers import claim_and_run, exit_of

# ---------------------------------------------------------------- 1. the advertised address


async def test_consul_advertises_the_host_address_and_port_the_proxies_reach(cluster, make_scheduler):
    scheduler = await make_scheduler()

    sandbox = await scheduler.acquire("pygame")

    (registration,) = cluster.consul.registrations()
    (fake,) = cluster.live_sandboxes()
    assert (registration.address, registration.port) == (NODE_ADDRESS, fake.pty_port), "host mode"
    assert exit_of(await claim_and_run(sandbox.agent))["code"] == 0
    reader, writer = await sandbox.display()
    assert await reader.readexactly(12) == b"RFB 003.008\n", "the display at the host's VNC port"
    writer.close()


async def test_without_host_address_mode_the_sandbox_is_unreachable(cluster, make_scheduler, monkeypatch):
    """What the fake models of Nomad when the service is left on address_mode "auto" on the
    pyplay-sandbox Docker network: the container's address and inner port are advertised,
    the check (host mode) passes anyway, and nobody can connect."""
    monkeypatch.delitem(cluster.jobspec.service, "address_mode")
    scheduler = await make_scheduler(settings=dict(dispatch_attempts=1))

    with pytest.raises(Unavailable, match=f"the agent at {CONTAINER_ADDRESS}:7000 did not say hello"):
        await scheduler.acquire("python")


# ---------------------------------------------------------------- 3. drains and scale-in


async def test_a_pooled_sandbox_on_a_node_the_autoscaler_scales_in_is_not_handed_out(cluster, make_scheduler):
    """The autoscaler's scale-in first makes the node ineligible; nothing marks the batch
    allocations, so the node's eligibility is what tells."""
    scheduler = await make_scheduler(pool_sizes=(("python", 1),))
    await until(lambda: scheduler.stats()["pool_ready_python"] == 1, what="the pool to fill")
    (before,) = cluster.nomad.dispatched
    node = cluster.nomad.node_of(before)

    node.eligible = False

    await until(lambda: before in cluster.nomad.purged, what="the pooled sandbox to be dropped")
    sandbox = await scheduler.acquire("python")
    assert sandbox.id != before and cluster.nomad.node_of(sandbox.id).id != node.id


async def test_node_reads_are_cached_across_the_sandboxes_of_a_node(cluster, make_scheduler):
    scheduler = await make_scheduler(pool_sizes=(("python", 3),), settings=dict(node_cache_seconds=60))
    await until(lambda: scheduler.stats()["pool_ready_python"] == 3, what="the pool to fill")
    await until(lambda: sum("/v1/node/" in r for r in cluster.nomad.requests) >= 1, what="a node read")
    await asyncio.sleep(0.5)     # several upkeep rounds (maintain_seconds=0.1)

    assert sum("/v1/node/" in r for r in cluster.nomad.requests) == 1


def test_a_node_says_why_its_sandboxes_must_go():
    assert NodeState("n", "ready", eligible=True, draining=False).leaving == ""
    assert "draining" in NodeState("n", "ready", eligible=False, draining=True).leaving
    assert "ineligible" in NodeState("n", "ready", eligible=False, draining=False).leaving
    assert "down" in NodeState("n", "down", eligible=True, draining=False).leaving


# ---------------------------------------------------------------- 6. bound to its allocation


async def test_a_pooled_sandbox_whose_node_was_lost_is_not_followed_to_its_replacement(cluster, make_scheduler):
    """Nomad replaces a lost allocation whatever reschedule says; the replacement is another
    agent, and the pooled connection still points at the lost node."""
    scheduler = await make_scheduler(pool_sizes=(("python", 1),))
    await until(lambda: scheduler.stats()["pool_ready_python"] == 1, what="the pool to fill")
    (before,) = cluster.nomad.dispatched

    cluster.nomad.lose_node(cluster.nomad.node_of(before))
    await until(lambda: len(cluster.nomad.allocations_of(before)) == 2, what="Nomad to place a replacement")

    await until(lambda: before in cluster.nomad.purged, what="the sandbox to be dropped, replacement and all")
    sandbox = await scheduler.acquire("python")
    assert sandbox.id != before


async def test_an_unknown_allocation_is_not_handed_out(cluster, make_scheduler):
    scheduler = await make_scheduler(pool_sizes=(("python", 1),))
    await until(lambda: scheduler.stats()["pool_ready_python"] == 1, what="the pool to fill")
    (before,) = cluster.nomad.dispatched

    cluster.nomad.disconnect_node(cluster.nomad.node_of(before))

    await until(lambda: before in cluster.nomad.purged, what="the disconnected sandbox to be dropped")


async def test_a_start_whose_allocation_is_replaced_is_not_taken_for_the_replacement(cluster, make_scheduler):
    cluster.nomad.default_outcome = HOLD
    scheduler = await make_scheduler(settings=dict(dispatch_attempts=1))
    acquiring = asyncio.ensure_future(scheduler.acquire("python"))
    await until(lambda: len(cluster.nomad.dispatched) == 1, what="the dispatch")
    await asyncio.sleep(0.1)      # the start has seen (and bound) its pending allocation
    (job,) = cluster.nomad.dispatched

    cluster.nomad.lose_node(cluster.nomad.node_of(job))
    cluster.nomad.gate.set()

    with pytest.raises(Unavailable, match="lost"):
        await acquiring


async def test_the_agent_link_has_tcp_keepalive_so_a_dead_host_is_noticed(cluster, make_scheduler):
    scheduler = await make_scheduler(settings=dict(agent_keepalive_seconds=9))

    sandbox = await scheduler.acquire("python")

    sock = sandbox.agent._writer.get_extra_info("socket")
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 9
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3


# ---------------------------------------------------------------- 7. idempotency and leaks


async def test_the_child_of_a_slow_first_dispatch_that_raced_its_retry_is_purged(cluster, make_scheduler):
    """Nomad checks the idempotency token against a snapshot taken before the first
    request's Raft apply: a retry arriving in between makes a second child."""
    cluster.nomad.apply_delays.extend([1.0])
    scheduler = await make_scheduler(settings=dict(api_timeout_seconds=0.4, stray_seconds=1.0,
                                                   sweep_seconds=0.2, block_seconds=0.2))

    sandbox = await scheduler.acquire("python")
    await until(lambda: len(cluster.nomad.dispatched) == 2, what="the slow first request to apply")
    (loser,) = [job for job in cluster.nomad.dispatched if job != sandbox.id]

    await until(lambda: loser in cluster.nomad.purged, timeout=10, what="the raced child to be swept")
    assert cluster.nomad.children() == [sandbox.id]
    assert scheduler.stats()["strays_purged"] == 1


async def test_a_child_made_by_dispatches_whose_answers_were_lost_is_purged(cluster, make_scheduler):
    cluster.nomad.drop_dispatch_responses = 2
    scheduler = await make_scheduler(settings=dict(dispatch_attempts=1, stray_seconds=1.0, sweep_seconds=0.2,
                                                   api_timeout_seconds=0.5))

    with pytest.raises(Unavailable, match="dispatching"):
        await scheduler.acquire("python")
    (made,) = cluster.nomad.dispatched

    await until(lambda: cluster.nomad.children() == [], timeout=10, what="the unreported child to be swept")
    assert made in cluster.nomad.purged


async def test_children_of_a_replica_that_was_scaled_away_are_purged(cluster, make_scheduler):
    control = "pyplay"
    mine, gone, alive = f"{control}/alloc-mine", f"{control}/alloc-gone", f"{control}/alloc-alive"
    running = {"alloc-mine", "alloc-alive"}
    cluster.nomad.pending_seconds = 0
    orphan = cluster.nomad.dispatch_directly({"mode": "python", "owner": gone})
    neighbour = cluster.nomad.dispatch_directly({"mode": "python", "owner": alive})
    manual = cluster.nomad.dispatch_directly({"mode": "python", "pool": "manual"})
    scheduler = await make_scheduler(start=False, settings=dict(owner=mine, control_job=control,
                                                                stray_seconds=1.0, sweep_seconds=0.2,
                                                                api_timeout_seconds=0.5))
    scheduler._cluster.nomad.running_allocations = lambda job: running if job == control else None
    await scheduler.start()

    await until(lambda: orphan in cluster.nomad.purged, timeout=10, what="the scaled-away replica's child")
    await asyncio.sleep(0.5)
    assert sorted(cluster.nomad.children()) == sorted([neighbour, manual]), "a live replica's and a manual one stay"


# ---------------------------------------------------------------- 10. stale and blocking reads


async def test_starts_wait_on_stale_blocking_queries_not_leader_polls(cluster, make_scheduler):
    cluster.nomad.pending_seconds = 0.5
    scheduler = await make_scheduler()

    await scheduler.acquire("python")

    reads = [r for r in cluster.nomad.requests if r.startswith("GET") and "/allocations" in r]
    assert reads and all("stale=true" in r for r in reads), "any server may answer"
    assert all("index=" in r for r in reads[1:]), "after the first look, blocking queries only"
    consul_polls = len(cluster.consul.requests)
    assert len(reads) <= 2 + consul_polls, f"no polling while the allocation is pending (0.5 s): {reads}"
    assert all("stale" in r for r in cluster.consul.requests)

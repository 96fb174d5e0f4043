"""The fakes behave as Nomad 1.7.7 and Consul do where the scheduler's correctness depends
on it (issue 16 item 9).  Each test states one behaviour, with where Nomad does it; the
list is in tests/scheduler/nomad/README.md."""
from __future__ import annotations

import threading

import requests

from scheduler.nomad.api import NomadAPI
from testkit.waiting import until_sync
from tests.scheduler.nomad.fake_nomad import HOLD


def _dispatch(cluster, token: str) -> dict:
    answer = requests.post(f"{cluster.nomad.address}/v1/job/pyplay-sandbox/dispatch",
                           params={"idempotency_token": token}, json={"Meta": {"mode": "python"}}, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _running(cluster, job_id: str) -> bool:
    allocations = cluster.nomad.allocations_of(job_id)
    return bool(allocations) and allocations[0].status == "running"


def test_a_repeated_idempotency_token_answers_the_child_and_no_evaluation(cluster):
    """nomad/job_endpoint.go Dispatch: an existing child with the token is returned as is."""
    first, again = _dispatch(cluster, "t"), _dispatch(cluster, "t")
    assert again["DispatchedJobID"] == first["DispatchedJobID"]
    assert first["EvalID"] and again["EvalID"] == ""


def test_a_retry_racing_a_slow_first_dispatch_makes_a_second_child(cluster):
    """The token is checked on a state snapshot before the Raft apply."""
    cluster.nomad.apply_delays.extend([0.5])
    answers = []
    slow = threading.Thread(target=lambda: answers.append(_dispatch(cluster, "race")), name="fake-test-dispatch")
    slow.start()
    until_sync(lambda: len(cluster.nomad.requests) == 1, 5, "the first dispatch to arrive", interval=0.01)
    quick = _dispatch(cluster, "race")
    slow.join(5)
    assert answers[0]["DispatchedJobID"] != quick["DispatchedJobID"]
    assert len(cluster.nomad.children()) == 2


def test_stops_are_asynchronous(cluster):
    api = NomadAPI(address=cluster.nomad.address)
    try:
        child = api.dispatch("pyplay-sandbox", {"mode": "python"}, "stop-me")
        until_sync(lambda: _running(cluster, child), 5, "the allocation to run", interval=0.01)
        cluster.nomad.stop_seconds = 0.3
        api.purge(child)
        (allocation,) = cluster.nomad.allocations_of(child)
        assert (allocation.desired, allocation.status) == ("stop", "running"), "the client has not killed it yet"
        assert len(cluster.live_sandboxes()) == 1
        until_sync(lambda: not cluster.live_sandboxes(), 5, "the client to kill the task", interval=0.01)
    finally:
        api.close()


def test_checks_take_time_to_pass(cluster):
    cluster.check_seconds = 0.3
    child = cluster.nomad.dispatch_directly({"mode": "python"})
    until_sync(lambda: cluster.consul.registrations(), 5, "the registration", interval=0.01)
    (registration,) = cluster.consul.registrations()
    assert registration.current_status() == "critical"
    until_sync(lambda: registration.current_status() == "passing", 5, "the first pass", interval=0.01)
    assert cluster.nomad.job(child) is not None


def test_a_drain_leaves_batch_allocations_until_the_deadline_then_stops_them(cluster):
    """nomad/drainer: batch allocations are never marked before the deadline; at it they are
    migrated (stopped, Migrate set) and, as the `nomad node drain` docs say, not replaced."""
    api = NomadAPI(address=cluster.nomad.address)
    try:
        child = api.dispatch("pyplay-sandbox", {"mode": "python"}, "drained")
        until_sync(lambda: _running(cluster, child), 5, "the allocation to run", interval=0.01)
        node = cluster.nomad.node_of(child)
        cluster.nomad.drain(node, deadline_seconds=0.5)
        state = api.node(node.id)
        assert state.draining and not state.eligible
        assert not cluster.nomad.allocations_of(child)[0].migrate, "untouched before the deadline"
        until_sync(lambda: cluster.nomad.allocations_of(child)[0].migrate, 5, "the deadline", interval=0.01)
        (original,) = cluster.nomad.allocations_of(child)
        assert original.desired == "stop"
        until_sync(lambda: not cluster.live_sandboxes(), 5, "the client to stop it", interval=0.01)
    finally:
        api.close()


def test_lost_allocations_are_replaced_whatever_the_reschedule_policy(cluster):
    child = cluster.nomad.dispatch_directly({"mode": "python"})
    until_sync(lambda: _running(cluster, child), 5, "the allocation to run", interval=0.01)
    cluster.nomad.lose_node(cluster.nomad.node_of(child))
    original, replacement = cluster.nomad.allocations_of(child)
    assert original.status == "lost" and replacement.status == "pending"
    until_sync(lambda: sorted(r.current_status() for r in cluster.consul.registrations()) == ["critical", "passing"],
               5, "the replacement to pass its check while the lost one's node fails Serf", interval=0.01)


def test_a_blocking_query_waits_for_a_change(cluster):
    child = cluster.nomad.dispatch_directly({"mode": "python"}, outcome=HOLD)
    api = NomadAPI(address=cluster.nomad.address)
    try:
        (pending,), index = api.allocations(child)
        assert pending.status == "pending"
        threading.Timer(0.3, cluster.nomad.gate.set).start()
        (running,), later = api.allocations(child, index, wait_seconds=1.5)
        assert running.status == "running" and later > index
    finally:
        api.close()

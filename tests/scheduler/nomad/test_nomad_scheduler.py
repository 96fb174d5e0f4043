"""NomadScheduler against the fake cluster (fake Nomad validated by Nomad's OpenAPI spec,
fake Consul, fake sandboxes).  Each test is a behaviour a student or an operator sees."""
from __future__ import annotations

import asyncio
import time

import pytest

from proxy.errors import public_error
from scheduler.errors import Busy, Unavailable
from scheduler.interface import Exited, Output
from testkit.waiting import until
from tests.scheduler.nomad.fake_nomad import FAIL, HOLD, SILENT, UNHEALTHY, UNPLACED
from tests.scheduler.nomad.fake_sandbox import AUDIO_PACKET
from tests.scheduler.nomad.helpers import Session, claim_and_run, exit_of

PYTHON_ONLY_POOL = (("python", 2), ("pygame", 0), ("turtle", 0))


async def test_dispatch_then_running_then_healthy_then_claimed(cluster, make_scheduler):
    scheduler = await make_scheduler()

    sandbox = await scheduler.acquire("python")

    child = cluster.nomad.job(sandbox.id)
    assert child is not None and child["ParentID"] == "pyplay-sandbox"
    assert child["Meta"] == {"mode": "python", "pool": "cold", "owner": "test-owner"}
    assert child["DispatchIdempotencyToken"], "the idempotency token must reach Nomad (query string)"
    assert (sandbox.mode, sandbox.warm, sandbox.display) == ("python", False, None)
    assert sandbox.agent.hello == {"version": 1, "python": "3.10.13", "mode": "python", "pid": 1, "reset": True}
    assert sandbox.created_at <= sandbox.ready_at

    events = await claim_and_run(sandbox.agent)
    assert [type(e) for e in events] == [Output, Exited]
    assert exit_of(events)["code"] == 0 and exit_of(events)["reusable"] is True
    assert await sandbox.agent.reset(5.0), "READY: reset and warm again"
    (fake,) = cluster.live_sandboxes()
    assert fake.claims == 1
    assert scheduler.stats()["sandboxes_created"] == 1
    await scheduler.release(sandbox)


async def test_display_mode_gets_the_allocations_vnc_port(cluster, make_scheduler):
    scheduler = await make_scheduler()

    sandbox = await scheduler.acquire("pygame")

    (fake,) = cluster.live_sandboxes()
    reader, writer = await sandbox.open_display()
    assert writer.get_extra_info("peername")[:2] == ("127.0.0.1", fake.vnc_port)
    assert await reader.readexactly(12) == b"RFB 003.008\n"
    writer.close()
    await scheduler.release(sandbox)


async def test_pygame_mode_gets_the_allocations_sound_port_and_turtle_none(cluster, make_scheduler):
    scheduler = await make_scheduler()

    sandbox = await scheduler.acquire("pygame")
    (fake,) = cluster.live_sandboxes()
    reader, writer = await sandbox.open_audio()
    assert writer.get_extra_info("peername")[:2] == ("127.0.0.1", fake.audio_port)
    assert await reader.readexactly(5) == AUDIO_PACKET
    writer.close()
    await scheduler.release(sandbox)

    turtle = await scheduler.acquire("turtle")
    assert turtle.audio is None and turtle.display is not None
    await scheduler.release(turtle)


async def test_failed_allocation_is_retried_and_the_student_still_gets_a_run(cluster, make_scheduler):
    cluster.nomad.outcomes.extend([FAIL])
    scheduler = await make_scheduler()

    sandbox = await scheduler.acquire("python")

    first, second = cluster.nomad.dispatched
    assert sandbox.id == second
    assert exit_of(await claim_and_run(sandbox.agent))["reason"] == "exited"
    await until(lambda: first in cluster.nomad.purged, what="the failed child to be purged")
    assert scheduler.stats()["start_failures"] == 1


async def test_agent_that_never_says_hello_is_retried(cluster, make_scheduler):
    cluster.nomad.outcomes.extend([SILENT])
    scheduler = await make_scheduler(settings=dict(connect_seconds=0.3))

    sandbox = await scheduler.acquire("turtle")

    assert len(cluster.nomad.dispatched) == 2
    assert sandbox.agent.hello["mode"] == "turtle"
    await until(lambda: cluster.nomad.dispatched[0] in cluster.nomad.purged, what="purge of the silent one")


async def test_health_never_passing_is_unavailable_within_the_bound(cluster, make_scheduler):
    cluster.nomad.default_outcome = UNHEALTHY
    # 3 s: on a loaded CI machine the fake's API alone took over 1 s to show the allocation running.
    scheduler = await make_scheduler(settings=dict(start_seconds=3.0), acquire_seconds=3.0)

    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        await scheduler.acquire("python")
    elapsed = time.monotonic() - started

    # The bound (3 s), not the 30 s of a start that nobody cut short; slack for a busy machine.
    assert 2.9 <= elapsed < 8.0, elapsed
    assert "Consul health: critical" in str(caught.value)
    code, sentence = public_error(caught.value)
    assert code == "unavailable" and "try again" in sentence
    await until(lambda: cluster.nomad.children() == [], what="the unhealthy child to be purged")


async def test_no_placement_is_unavailable_and_says_why(cluster, make_scheduler):
    cluster.nomad.default_outcome = UNPLACED
    scheduler = await make_scheduler(settings=dict(start_seconds=0.5), acquire_seconds=0.5)

    with pytest.raises(Unavailable, match="no allocation placed"):
        await scheduler.acquire("python")
    await until(lambda: cluster.nomad.children() == [], what="the unplaced child to be purged")


async def test_every_attempt_failing_is_unavailable_after_the_configured_attempts(cluster, make_scheduler):
    cluster.nomad.default_outcome = FAIL
    scheduler = await make_scheduler(settings=dict(dispatch_attempts=3))

    with pytest.raises(Unavailable, match="fake failure"):
        await scheduler.acquire("python")
    assert len(cluster.nomad.dispatched) == 3
    await until(lambda: cluster.nomad.children() == [], what="all failed children to be purged")


async def test_pool_refills_after_claims(cluster, make_scheduler):
    scheduler = await make_scheduler(pool_sizes=PYTHON_ONLY_POOL)
    await until(lambda: scheduler.stats()["pool_ready_python"] == 2, what="the pool to fill")
    assert {cluster.nomad.job(j)["Meta"]["pool"] for j in cluster.nomad.dispatched} == {"warm"}

    first = await scheduler.acquire("python")
    assert first.warm and len(cluster.nomad.dispatched) == 2, "a pooled sandbox needs no dispatch"
    await until(lambda: scheduler.stats()["pool_ready_python"] == 2, what="the pool to refill")
    assert len(cluster.nomad.dispatched) == 3

    more = [await scheduler.acquire("python") for _ in range(2)]
    assert all(s.warm for s in more)
    await until(lambda: scheduler.stats()["pool_ready_python"] == 2, what="the pool to refill again")
    assert len(cluster.nomad.dispatched) == 5
    assert scheduler.stats()["acquired_warm"] == 3


async def test_pooled_sandboxes_on_a_draining_node_are_replaced(cluster, make_scheduler):
    """Nomad's drainer leaves batch allocations alone until the deadline (it never sets
    DesiredTransition.Migrate before it): the drain is seen on the node itself."""
    scheduler = await make_scheduler(pool_sizes=(("python", 1),))
    await until(lambda: scheduler.stats()["pool_ready_python"] == 1, what="the pool to fill")
    (before,) = cluster.nomad.dispatched
    node = cluster.nomad.node_of(before)

    cluster.nomad.drain(node, deadline_seconds=600)

    await until(lambda: before in cluster.nomad.purged, what="the pooled sandbox to leave the node")
    assert not cluster.nomad.allocations_of(before) or not cluster.nomad.allocations_of(before)[0].migrate, \
        "gone long before the drain deadline"
    await until(lambda: scheduler.stats()["pool_ready_python"] == 1, what="a replacement")
    sandbox = await scheduler.acquire("python")
    assert sandbox.id != before
    assert cluster.nomad.node_of(sandbox.id).id != node.id, "the replacement runs on a node that stays"


async def test_acquire_takes_a_refill_already_on_its_way(cluster, make_scheduler):
    cluster.nomad.default_outcome = HOLD
    scheduler = await make_scheduler(pool_sizes=(("python", 1),))
    await until(lambda: len(cluster.nomad.dispatched) == 1, what="the pool's first dispatch")

    heard = []
    waiting = asyncio.ensure_future(scheduler.acquire("python", lambda what, position: heard.append(what)))
    await until(lambda: heard == ["starting"], what="the acquire to wait for a sandbox to start")
    assert not waiting.done(), "nothing is ready yet: the acquire waits for the refill on its way"
    cluster.nomad.gate.set()
    sandbox = await asyncio.wait_for(waiting, 5)

    assert sandbox.id in cluster.nomad.dispatched, "it took a refill that was on its way"
    pools = [cluster.nomad.job(j)["Meta"]["pool"] for j in cluster.nomad.dispatched if cluster.nomad.job(j)]
    assert "cold" not in pools, "no cold dispatch of its own"
    await until(lambda: scheduler.stats()["pool_ready_python"] == 1, what="the pool to refill")


async def test_at_the_dispatch_cap_acquire_queues_and_busy_only_past_the_line(cluster, make_scheduler):
    cluster.nomad.default_outcome = HOLD
    scheduler = await make_scheduler(settings=dict(max_dispatching=2), queue_limit=1)

    starting = [asyncio.ensure_future(scheduler.acquire("python")) for _ in range(2)]
    await until(lambda: len(cluster.nomad.dispatched) == 2, what="two dispatches in flight")
    heard = []
    queued = asyncio.ensure_future(scheduler.acquire("python", lambda *notice: heard.append(notice)))
    await until(lambda: heard == [("queued", 1)], what="the third acquire to queue")
    started = time.monotonic()
    with pytest.raises(Busy) as caught:
        await scheduler.acquire("python")

    assert time.monotonic() - started < 0.1, "a full line is Busy at once, not after a wait"
    assert public_error(caught.value)[0] == "busy"
    assert len(cluster.nomad.dispatched) == 2, "nothing dispatched past the cap"
    cluster.nomad.gate.set()
    done = await asyncio.wait_for(asyncio.gather(*starting), 5)
    third = await asyncio.wait_for(queued, 5)
    assert heard == [("queued", 1), ("starting", 0)]
    assert len({s.id for s in [*done, third]}) == 3
    assert scheduler.stats()["busy"] == 1


async def test_busy_past_max_sandboxes_and_readyz_says_so(cluster, make_scheduler):
    scheduler = await make_scheduler(max_sandboxes=1, queue_limit=0)
    assert scheduler.ready_problem() is None
    await scheduler.acquire("python")
    with pytest.raises(Busy):
        await scheduler.acquire("python")
    assert scheduler.ready_problem() == "at capacity: 1 sandboxes live"


async def test_a_closing_scheduler_sends_its_queue_away_unavailable(cluster, make_scheduler):
    scheduler = await make_scheduler(max_sandboxes=1, acquire_seconds=30.0)
    await scheduler.acquire("python")
    queued = asyncio.ensure_future(scheduler.acquire("python"))
    await until(lambda: scheduler.stats()["admission_waiting"] == 1, what="the acquire to queue")

    await scheduler.close()

    with pytest.raises(Unavailable):
        await asyncio.wait_for(queued, 2)
    assert cluster.nomad.children() == []


async def test_one_dispatch_serves_all_runs_of_a_session(cluster, make_scheduler):
    scheduler = await make_scheduler()
    session = Session(scheduler._config, scheduler)

    results = [await session.run() for _ in range(3)]

    assert len({sandbox.id for sandbox, _ in results}) == 1
    assert len(cluster.nomad.dispatched) == 1, "a dispatch per session, not per run"
    (fake,) = cluster.live_sandboxes()
    assert fake.claims == 3 and fake.hellos == 1, "every claim went over the one connection"
    await session.close()
    assert cluster.nomad.purged == [results[0][0].id]
    await until(lambda: cluster.live_sandboxes() == [], what="Nomad's client to stop the task (asynchronous)")


@pytest.mark.parametrize("reason, limit", [("memory", None), ("output", None), ("failed", "processes"),
                                           ("timeout", "wall"), ("failed", None)])
async def test_the_fake_agent_vouches_for_its_sandbox_as_the_real_one_does(cluster, make_scheduler,
                                                                           reason, limit):
    scheduler = await make_scheduler()
    session = Session(scheduler._config, scheduler)

    first, result = await session.run(f"# fake exit: {reason} {limit or ''}\n")
    second, _ = await session.run()

    reusable = reason not in ("memory", "output") and limit in (None, "wall", "idle")
    assert (result["reason"], result["limit"], result["reusable"]) == (reason, limit, reusable)
    assert (second.id == first.id) == reusable
    assert len(cluster.nomad.dispatched) == (1 if reusable else 2)
    if not reusable:
        await until(lambda: first.id in cluster.nomad.purged, what="the untrusted sandbox's purge")
    await session.close()


async def test_a_start_finishing_after_shutdown_is_purged_not_handed_out(cluster, make_scheduler):
    cluster.nomad.default_outcome = HOLD
    scheduler = await make_scheduler()
    acquiring = asyncio.ensure_future(scheduler.acquire("python"))
    await until(lambda: len(cluster.nomad.dispatched) == 1, what="the dispatch")
    closing = asyncio.ensure_future(scheduler.close())
    await until(lambda: scheduler.ready_problem() == "the Nomad scheduler is shut down", what="the shutdown to begin")
    cluster.nomad.gate.set()

    with pytest.raises(Unavailable):
        await acquiring
    await closing
    await until(lambda: cluster.nomad.children() == [], what="the late sandbox to be purged")


async def test_release_stops_and_purges_the_dispatched_job(cluster, make_scheduler):
    scheduler = await make_scheduler()
    sandbox = await scheduler.acquire("python")
    assert len(cluster.consul.registrations()) == 1

    await scheduler.release(sandbox)

    assert cluster.nomad.job(sandbox.id) is None, "purged, not only stopped"
    assert cluster.nomad.purged == [sandbox.id]
    assert sandbox.agent.closed
    await until(lambda: cluster.consul.registrations() == [] and cluster.live_sandboxes() == [],
                what="Nomad's client to stop the task and deregister it (asynchronous)")
    deletes = sum(1 for r in cluster.nomad.requests if r.startswith("DELETE"))
    await scheduler.release(sandbox)
    assert sum(1 for r in cluster.nomad.requests if r.startswith("DELETE")) == deletes, "idempotent"


async def test_a_cancelled_acquire_leaves_no_job_behind(cluster, make_scheduler):
    cluster.nomad.default_outcome = HOLD
    scheduler = await make_scheduler()
    acquiring = asyncio.ensure_future(scheduler.acquire("python"))
    await until(lambda: len(cluster.nomad.dispatched) == 1, what="the dispatch")

    acquiring.cancel()

    await until(lambda: cluster.nomad.children() == [], what="the cancelled start to be purged")


async def test_close_purges_pooled_and_claimed_sandboxes(cluster, make_scheduler):
    scheduler = await make_scheduler(pool_sizes=(("python", 1),))
    await until(lambda: scheduler.stats()["pool_ready_python"] == 1, what="the pool to fill")
    await scheduler.acquire("pygame")

    await scheduler.close()

    assert cluster.nomad.children() == []
    await until(lambda: cluster.live_sandboxes() == [], what="Nomad's client to stop the tasks (asynchronous)")
    with pytest.raises(Unavailable):
        await scheduler.acquire("python")
    assert scheduler.ready_problem()


async def test_orphans_from_before_a_restart_are_purged(cluster, make_scheduler):
    ours = [cluster.nomad.dispatch_directly({"mode": "python", "owner": "test-owner"}) for _ in range(2)]
    theirs = cluster.nomad.dispatch_directly({"mode": "python", "owner": "another-control-instance"})
    manual = cluster.nomad.dispatch_directly({"mode": "python", "pool": "manual"})

    scheduler = await make_scheduler()

    assert sorted(cluster.nomad.children()) == sorted([theirs, manual])
    assert set(ours) <= set(cluster.nomad.purged)
    assert scheduler.stats()["orphans_purged"] == 2


async def test_healthy_unclaimed_orphans_are_adopted_into_the_pool(cluster, make_scheduler):
    cluster.nomad.pending_seconds = 0
    orphans = [cluster.nomad.dispatch_directly({"mode": "python", "owner": "test-owner"}) for _ in range(2)]
    await until(lambda: all(cluster.nomad.job(job)["Status"] == "running" for job in orphans)
                and len(cluster.consul.registrations()) == 2, what="the orphans to run, as before a restart")

    scheduler = await make_scheduler(settings=dict(orphans="adopt"), pool_sizes=(("python", 1),))

    assert scheduler.stats()["orphans_adopted"] == 1
    assert scheduler.stats()["orphans_purged"] == 1, "more than the pool needs are purged"
    sandbox = await scheduler.acquire("python")
    assert sandbox.warm and sandbox.id in orphans
    assert cluster.nomad.dispatched == orphans, "adoption needed no dispatch"


async def test_claimed_orphans_are_not_adopted(cluster, make_scheduler):
    cluster.nomad.pending_seconds = 0
    first = await make_scheduler()
    claimed = await first.acquire("python")
    await claim_and_run(claimed.agent)
    first._in_use.clear()  # a crash: the first instance forgets without purging

    second = await make_scheduler(settings=dict(orphans="adopt", connect_seconds=0.3),
                                  pool_sizes=(("python", 1),))

    assert second.stats()["orphans_adopted"] == 0
    assert claimed.id in cluster.nomad.purged


async def test_a_lost_dispatch_answer_is_retried_without_a_second_child(cluster, make_scheduler):
    cluster.nomad.drop_dispatch_responses = 1
    scheduler = await make_scheduler()

    sandbox = await scheduler.acquire("python")

    assert cluster.nomad.dispatched == [sandbox.id], "the same token returned the same child"
    posts = [r for r in cluster.nomad.requests if r.startswith("POST")]
    assert len(posts) == 2 and posts[0] == posts[1]


async def test_blocking_api_calls_stay_off_the_event_loop(cluster, make_scheduler):
    scheduler = await make_scheduler()
    cluster.nomad.latency_seconds = 0.15
    worst_gap = 0.0

    async def ticker() -> None:
        nonlocal worst_gap
        last = time.monotonic()
        while True:
            # A measurement, not synchronisation: a 10 ms tick that comes late shows the loop was blocked.
            await asyncio.sleep(0.01)
            now = time.monotonic()
            worst_gap, last = max(worst_gap, now - last), now

    ticking = asyncio.ensure_future(ticker())
    started = time.monotonic()
    sandbox = await scheduler.acquire("python")
    took = time.monotonic() - started
    ticking.cancel()

    assert took > 0.3, "several slow API calls were made"
    assert worst_gap < 0.1, f"the event loop stalled for {worst_gap:.3f}s"
    await scheduler.release(sandbox)


async def test_missing_parameterized_job_is_a_clear_readiness_problem(cluster, make_scheduler):
    scheduler = await make_scheduler(settings=dict(job="pyplay-nonexistent"))

    assert "not registered" in scheduler.ready_problem()
    assert "nomad job run jobspecs/sandbox.nomad.hcl" in scheduler.ready_problem()
    with pytest.raises(Unavailable):
        await scheduler.acquire("python")
    assert cluster.nomad.rejections == ["parameterized job not found"]


async def test_the_acl_token_is_sent_and_a_wrong_one_is_reported(cluster, make_scheduler):
    cluster.nomad.token = "s3cret-token"

    wrong = await make_scheduler(settings=dict(nomad_token="wrong"))
    right = await make_scheduler(settings=dict(nomad_token="s3cret-token"))

    assert "403" in wrong.ready_problem()
    assert right.ready_problem() is None
    sandbox = await right.acquire("python")
    await right.release(sandbox)


async def test_the_agent_link_is_checked_against_the_requested_mode(cluster, make_scheduler):
    scheduler = await make_scheduler()
    for mode in ("python", "pygame", "turtle"):
        sandbox = await scheduler.acquire(mode)
        assert sandbox.agent.hello["mode"] == mode == sandbox.mode
        assert (sandbox.display is None) == (mode == "python")
        await scheduler.release(sandbox)

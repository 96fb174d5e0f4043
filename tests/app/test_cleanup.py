"""Sandboxes are deleted on every path, including service shutdown by SIGTERM and Ctrl-C."""
from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest

from testkit.client import connect, next_json, run_program
from testkit.service import Service
from testkit.waiting import until

# A run that is still going when the test pulls the plug on it.
SLEEP_RUN = json.dumps({"type": "run", "files": [{"path": "main.py", "text": "import time\ntime.sleep(100)"}]})


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_shutdown_mid_run_tells_the_client_and_leaves_nothing(sig):
    service = Service({"PYPLAY_POOL_PYTHON": "1"}).start()
    try:
        ws = await connect(service.url)
        await ws.send(SLEEP_RUN)
        assert (await next_json(ws))["type"] == "started"
        assert len(service.runsc_ids()) >= 1  # the running one (and the pool refilling)
        await asyncio.get_running_loop().run_in_executor(None, service.stop, sig)
        event = await next_json(ws, timeout=10)
        assert event["type"] == "exit" and event["reason"] == "stopped"
        assert service.process.returncode == 0
        assert service.runsc_ids() == []
        assert os.listdir(os.path.join(service.state_dir, "sandboxes")) == []
    finally:
        service.stop()
        service.cleanup()


@pytest.mark.parametrize("wait_for_started", [True, False], ids=["after-started", "before-started"])
async def test_client_disconnect_ends_the_run_after_the_grace_period(wait_for_started):
    """Before `started` too: the socket gone while its sandbox was being claimed (a tab closed
    right after Run) must not leave the sandbox held by a run nobody relays."""
    service = Service({"PYPLAY_POOL_PYTHON": "0", "PYPLAY_RESUME_GRACE_SECONDS": "1"}).start(wait_ready=30)
    try:
        ws = await connect(service.url)
        await ws.send(SLEEP_RUN)
        if wait_for_started:
            assert (await next_json(ws, 60))["type"] == "started"
        else:  # no pool: the service says it is booting a sandbox for the run
            assert (await next_json(ws, 60, statuses=True))["state"] == "starting"
        await ws.close()
        await until(lambda: service.runsc_ids() == [], 30, lambda: f"the run's sandbox to go: {service.runsc_ids()}",
                    interval=0.1)
    finally:
        service.stop()
        service.cleanup()


async def test_sandboxes_of_a_killed_service_are_gone_after_restart():
    """kill -9 gives the service no chance to clean up: the agents notice their host is gone
    and exit, and the restarted service purges whatever is still listed."""
    service = Service({"PYPLAY_POOL_PYTHON": "2"}).start()
    try:
        before = set(service.runsc_ids())
        assert len(before) == 2
        service.stop(signal.SIGKILL)
        service.start()
        await until(lambda: not before & set(service.runsc_ids()), 10,
                    lambda: f"the killed service's sandboxes to go: {before & set(service.runsc_ids())}", interval=0.1)
        assert sorted(os.listdir(os.path.join(service.state_dir, "sandboxes"))) == sorted(service.runsc_ids())
    finally:
        service.stop()
        service.cleanup()


async def test_kill_9_of_a_sandbox_mid_run_fails_the_run_fast_and_the_next_run_works(service):
    ws = await connect(service.url)
    try:
        await ws.send(SLEEP_RUN)
        started = await next_json(ws)
        run = service.get_json(f"/v1/runs/{started['run']}")
        pid = service.runsc_pid(run["sandbox"])
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        os.kill(pid, signal.SIGKILL)
        event = await next_json(ws, timeout=10)
        assert event["type"] == "exit" and event["reason"] == "failed"
        assert loop.time() - killed_at < 1.0
        assert (await run_program(ws, "print('next')")).text.strip() == "next"
    finally:
        await ws.close()

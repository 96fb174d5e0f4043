"""The service's plain HTTP endpoints: health and readiness for the load balancer on the
public listener; the runs API and metrics for operators on the internal one only."""
from __future__ import annotations

import asyncio
import json
import signal
import urllib.error
import urllib.request

import pytest

from testkit.client import connect, next_json, read_until
from testkit.service import Service


def _status(url: str, method: str = "GET") -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


async def test_health_ready_metrics_and_runs_api(service):
    assert _json(service.http + "/healthz")["status"] == "ok"
    assert _json(service.http + "/readyz")["status"] == "ready"
    metrics = service.metrics()
    assert "pyplay_sandboxes_live" in metrics and "pyplay_pool_ready_python" in metrics
    assert isinstance(service.get_json("/v1/runs")["runs"], list)


@pytest.mark.parametrize("method, path", [("GET", "/v1/runs"), ("GET", "/v1/runs/r-x-y"),
                                          ("DELETE", "/v1/runs/r-x-y"), ("GET", "/metrics")])
async def test_the_public_listener_serves_no_operator_api(service, method, path):
    """A student (or anyone on the internet) cannot list runs, read client ids or stop runs."""
    assert _status(service.http + path, method) in (404, 405)
    assert _status(service.admin + path, method) in (200, 404)   # the internal listener has it


async def test_a_draining_replica_takes_no_new_students_but_lets_runs_finish(tmp_path):
    """`POST /v1/drain`, then SIGTERM with PYPLAY_DRAIN_SECONDS: readiness fails at once (the
    balancer sends new students elsewhere) while a student's run goes on to its own end."""
    service = Service({"PYPLAY_POOL_PYTHON": "1", "PYPLAY_DRAIN_SECONDS": "30"}).start()
    try:
        ws = await connect(service.url)
        await ws.send(json.dumps({"type": "run", "files": [{"path": "main.py", "text":
                                  "print('up', flush=True)\nname = input()\nprint('bye', name)"}]}))
        await read_until(ws, b"up")
        request = urllib.request.Request(service.admin + "/v1/drain", method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.loads(answer.read())["status"] == "draining"
        assert _status(service.http + "/readyz") == 503

        service.process.send_signal(signal.SIGTERM)   # a deploy: the run must not be cut
        await ws.send(json.dumps({"type": "stdin", "data": "Ada\n"}))
        output = await read_until(ws, b"bye Ada")
        exit_message = await next_json(ws, 15)
        assert exit_message["reason"] == "exited", (output, exit_message)
        assert await asyncio.to_thread(service.process.wait, 30) == 0
    finally:
        service.stop()
        left = service.runsc_ids()
        service.cleanup()
    assert left == []

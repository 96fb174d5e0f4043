"""The service's plain HTTP endpoints: health and readiness for the load balancer on the
public listener; the runs API and metrics for operators on the internal one only."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest


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

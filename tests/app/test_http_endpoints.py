"""The service's plain HTTP endpoints: health, readiness, metrics and the runs API."""
from __future__ import annotations


async def test_health_ready_metrics_and_runs_api(service):
    assert service.get_json("/healthz") == {"status": "ok"}
    assert service.get_json("/readyz")["status"] == "ready"
    metrics = service.metrics()
    assert "pyplay_sandboxes_live" in metrics and "pyplay_pool_ready_python" in metrics
    assert isinstance(service.get_json("/v1/runs")["runs"], list)

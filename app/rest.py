"""The operators' REST over the live runs: list, inspect, stop."""
from __future__ import annotations

from sanic import Request, Sanic, response

from proxy.registry import RunRegistry


def add_run_routes(app: Sanic, registry: RunRegistry) -> None:
    @app.get("/v1/runs")
    async def list_runs(_request: Request) -> response.HTTPResponse:
        return response.json({"runs": [run.summary() for run in registry.all()]})

    @app.get("/v1/runs/<run_id:str>")
    async def get_run(_request: Request, run_id: str) -> response.HTTPResponse:
        run = registry.get(run_id)
        if run is None:
            return response.json({"error": "no such run"}, status=404)
        return response.json(run.summary())

    @app.delete("/v1/runs/<run_id:str>")
    async def stop_run(_request: Request, run_id: str) -> response.HTTPResponse:
        run = registry.get(run_id)
        if run is None:
            return response.json({"error": "no such run"}, status=404)
        await run.stop()
        return response.json({"stopping": run_id}, status=202)

"""The operators' REST over the live runs, on the internal listener: list, inspect, stop.

A run of another replica is asked of that replica (its id names it), so an operator may
call any replica.  ``GET /v1/runs`` lists this replica's runs only.
"""
from __future__ import annotations

from typing import Awaitable, Callable

from sanic import Request, Sanic, response

from proxy.errors import PeerGone
from proxy.run import Run
from proxy.session import Services

HTTPResponse = response.HTTPResponse


def add_run_routes(app: Sanic, services: Services) -> None:
    registry = services.registry

    @app.get("/v1/runs")
    async def list_runs(_request: Request) -> HTTPResponse:
        return response.json({"replica": services.replica, "runs": [run.summary() for run in registry.all()]})

    @app.get("/v1/runs/<run_id:str>")
    async def get_run(request: Request, run_id: str) -> HTTPResponse:
        return await _on_run(services, request, run_id, _summary)

    @app.delete("/v1/runs/<run_id:str>")
    async def stop_run(request: Request, run_id: str) -> HTTPResponse:
        return await _on_run(services, request, run_id, _stop)


async def _summary(run: Run) -> HTTPResponse:
    return response.json(run.summary())


async def _stop(run: Run) -> HTTPResponse:
    await run.stop()
    return response.json({"stopping": run.id}, status=202)


async def _on_run(services: Services, request: Request, run_id: str,
                  act: Callable[[Run], Awaitable[HTTPResponse]]) -> HTTPResponse:
    """``act`` on a run of this replica; the same request asked of its owner otherwise."""
    owner = services.owner_elsewhere(run_id)
    if owner is not None:
        return await _ask_owner(services, owner, request)
    run = services.registry.get(run_id)
    if run is None:
        return response.json({"error": "no such run"}, status=404)
    return await act(run)


async def _ask_owner(services: Services, owner: str, request: Request) -> HTTPResponse:
    """The same request, made of the replica that owns the run; 502 if it is gone."""
    assert services.forwarder is not None
    try:
        answer = await services.forwarder.request(owner, request.method, request.path)
    except PeerGone as error:
        return response.json({"error": f"the replica {owner} that owns this run is gone ({error})"}, status=502)
    services.forwarder.counters["forwarded_rest"] += 1
    return response.raw(answer.content, status=answer.status_code,
                        content_type=answer.headers.get("content-type", "application/json"))

"""The control service on :8000 (Sanic): IDE WebSockets, display sockets, health, metrics, REST.

    python -m app        # or the `pyplay` console script

SIGINT and SIGTERM stop the server; every sandbox, pooled or running, is
destroyed before the process exits.
"""
from __future__ import annotations

import asyncio
import secrets
import signal
from typing import Optional

from sanic import Request, Sanic, response
from sanic.server.websockets.impl import WebsocketImplProtocol

from app.front_door import check_upgrade
from app.metrics import render_metrics
from app.rest import add_run_routes
from common.config import Config
from common.logs import configure, get_logger
from proxy.display import relay_display
from proxy.registry import RunRegistry
from proxy.session import Services, Session
from scheduler.interface import Scheduler
from scheduler.local import LocalScheduler

log = get_logger("pyplay.service")
SHUTDOWN_SECONDS = 5.0


def make_scheduler(config: Config) -> Scheduler:
    if config.scheduler == "nomad":
        from scheduler.nomad import NomadScheduler  # only operators of a cluster need it

        return NomadScheduler.from_config(config)
    return LocalScheduler(config)


def create_app(config: Config, scheduler: Optional[Scheduler] = None) -> Sanic:
    app = Sanic("pyplay_" + secrets.token_hex(4), configure_logging=False)
    # Our own size check answers "too_large" and keeps the socket; this is the hard cap.
    app.config.WEBSOCKET_MAX_SIZE = config.max_message_bytes * 2
    app.config.WEBSOCKET_PING_INTERVAL = 20
    app.config.WEBSOCKET_PING_TIMEOUT = 40
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 2.0
    # uvloop's subprocesses inherit Sanic's (inheritable) listening socket: a sandbox that
    # outlived a killed service would then hold port 8000.  The stdlib loop closes it.
    app.config.USE_UVLOOP = False
    app.config.KEEP_ALIVE_TIMEOUT = 75
    services = Services(config, scheduler or make_scheduler(config), RunRegistry(config.ticket_seconds))
    app.ctx.services = services
    _add_lifecycle(app, services)
    app.on_request(lambda request: check_upgrade(config, request))
    _add_sockets(app, services)
    _add_health(app, services)
    add_run_routes(app, services.registry)
    return app


def _add_lifecycle(app: Sanic, services: Services) -> None:
    async def shut_down() -> None:
        """Stop every run while its socket is still open, so each student is told; then stop."""
        runs = [run for run in services.registry.all() if not run.finished.is_set()]
        log.info("shutting_down", runs=len(runs))
        for run in runs:
            await run.stop()
        if runs:
            await asyncio.wait([asyncio.ensure_future(run.finished.wait()) for run in runs], timeout=SHUTDOWN_SECONDS)
        app.stop()

    @app.before_server_start
    async def start_scheduler(app: Sanic) -> None:
        await services.scheduler.start()
        log.info("service_ready", host=services.config.host, port=services.config.port,
                 scheduler=services.config.scheduler)

    @app.after_server_start
    async def handle_signals(app: Sanic) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(shut_down()))

    @app.after_server_stop
    async def stop_scheduler(app: Sanic) -> None:
        await services.scheduler.close()
        log.info("service_stopped")


def _add_sockets(app: Sanic, services: Services) -> None:
    async def session_socket(request: Request, ws: WebsocketImplProtocol) -> None:
        session = Session(services, ws.recv, ws.send, client=request.ctx.client)
        await session.serve()

    app.add_websocket_route(session_socket, "/", name="session_root")
    app.add_websocket_route(session_socket, "/v1/session", name="session")

    @app.websocket("/v1/runs/<run_id:str>/vnc", subprotocols=["binary"])
    async def display_socket(request: Request, ws: WebsocketImplProtocol, run_id: str) -> None:
        run = services.registry.check_ticket(run_id, request.args.get("ticket", ""))
        if run is None or run.sandbox.display is None:
            await ws.close(code=4404, reason="unknown run or expired ticket")
            return
        await relay_display(ws, run)


def _add_health(app: Sanic, services: Services) -> None:
    @app.get("/healthz")
    async def healthz(_request: Request) -> response.HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/readyz")
    async def readyz(_request: Request) -> response.HTTPResponse:
        problem = services.scheduler.ready_problem()
        if problem:
            return response.json({"status": "unavailable", "reason": problem}, status=503)
        return response.json({"status": "ready"})

    @app.get("/metrics")
    async def metrics(_request: Request) -> response.HTTPResponse:
        text = render_metrics({**services.scheduler.stats(), **services.counters}, services.registry.all())
        return response.text(text, content_type="text/plain; version=0.0.4")


def main() -> None:
    config = Config.from_env()
    configure(config.log_format)
    app = create_app(config)
    app.run(host=config.host, port=config.port, single_process=True, access_log=False,
            motd=False, register_sys_signals=False)


if __name__ == "__main__":
    main()

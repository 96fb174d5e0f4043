"""The control service on :8000 (Sanic): IDE WebSockets, display sockets, health, metrics, REST.

    python -m scheduler.service        # or the `pyplay` console script

SIGINT and SIGTERM stop the server; every sandbox, pooled or running, is
destroyed before the process exits.
"""
from __future__ import annotations

import asyncio
import secrets
import signal
import socket
from typing import Optional

from sanic import Request, Sanic, response
from sanic.server.websockets.impl import WebsocketImplProtocol

from proxy.display import relay_display
from proxy.registry import RunRegistry
from proxy.session import Services, Session
from proxy.tokens import TokenError, verify_token
from scheduler.base import Scheduler
from scheduler.config import Config
from scheduler.local import LocalScheduler
from scheduler.logs import configure, get_logger
from scheduler.metrics import render_metrics

log = get_logger("pyplay.service")
SHUTDOWN_SECONDS = 5.0


def make_scheduler(config: Config) -> Scheduler:
    if config.scheduler == "nomad":
        from scheduler.nomad import NomadScheduler  # only operators of a cluster need it

        return NomadScheduler.from_config(config)
    return LocalScheduler(config)


def origin_allowed(config: Config, origin: Optional[str]) -> bool:
    if not origin:
        return config.allow_missing_origin
    return origin in config.allowed_origins or "*" in config.allowed_origins


def disable_nagle(request: Request) -> None:
    """Sanic's listening socket is made with proto 0, so asyncio skips its usual TCP_NODELAY.

    Without it a small RFB or terminal write that follows another waits for the peer's
    delayed ACK: 40 ms per display update round trip, which capped the display at ~21 fps.
    """
    sock = request.transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


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

    @app.before_server_start
    async def start_scheduler(app: Sanic) -> None:
        await services.scheduler.start()
        log.info("service_ready", host=config.host, port=config.port, scheduler=config.scheduler)

    async def shut_down() -> None:
        """Stop every run while its socket is still open, so each student is told; then stop."""
        runs = [run for run in services.registry.all() if not run.finished.is_set()]
        log.info("shutting_down", runs=len(runs))
        for run in runs:
            await run.stop()
        if runs:
            await asyncio.wait([asyncio.ensure_future(run.finished.wait()) for run in runs], timeout=SHUTDOWN_SECONDS)
        app.stop()

    @app.after_server_start
    async def handle_signals(app: Sanic) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(shut_down()))

    @app.after_server_stop
    async def stop_scheduler(app: Sanic) -> None:
        await services.scheduler.close()
        log.info("service_stopped")

    @app.on_request
    async def front_door(request: Request):
        """Before any upgrade: a known Origin and, when configured, a valid signed token."""
        if request.headers.get("upgrade", "").lower() != "websocket":
            return None
        disable_nagle(request)
        if not origin_allowed(config, request.headers.get("origin")):
            log.warning("origin_refused", origin=request.headers.get("origin"), path=request.path)
            return response.json({"error": "origin not allowed"}, status=403)
        request.ctx.client = request.ip or "unknown"
        if config.session_secret and not request.path.endswith("/vnc"):  # display sockets have tickets
            try:
                request.ctx.client = "token:" + verify_token(config.session_secret, request.args.get("token", ""))
            except TokenError as error:
                log.warning("token_refused", reason=str(error), ip=request.ip)
                return response.json({"error": str(error)}, status=401)
        return None

    async def session_socket(request: Request, ws: WebsocketImplProtocol) -> None:
        session = Session(services, ws.recv, ws.send, client=request.ctx.client)
        await session.serve()

    app.add_websocket_route(session_socket, "/", name="session_root")
    app.add_websocket_route(session_socket, "/v1/session", name="session")

    @app.websocket("/v1/runs/<run_id:str>/vnc", subprotocols=["binary"])
    async def display_socket(request: Request, ws: WebsocketImplProtocol, run_id: str) -> None:
        run = services.registry.check_ticket(run_id, request.args.get("ticket", ""))
        if run is None or run.sandbox.vnc_endpoint is None:
            await ws.close(code=4404, reason="unknown run or expired ticket")
            return
        await relay_display(ws, run)

    @app.get("/healthz")
    async def healthz(_request: Request):
        return response.json({"status": "ok"})

    @app.get("/readyz")
    async def readyz(_request: Request):
        problem = services.scheduler.ready_problem()
        if problem:
            return response.json({"status": "unavailable", "reason": problem}, status=503)
        return response.json({"status": "ready"})

    @app.get("/metrics")
    async def metrics(_request: Request):
        text = render_metrics({**services.scheduler.stats(), **services.counters}, services.registry.all())
        return response.text(text, content_type="text/plain; version=0.0.4")

    @app.get("/v1/runs")
    async def list_runs(_request: Request):
        return response.json({"runs": [run.summary() for run in services.registry.all()]})

    @app.get("/v1/runs/<run_id:str>")
    async def get_run(_request: Request, run_id: str):
        run = services.registry.get(run_id)
        if run is None:
            return response.json({"error": "no such run"}, status=404)
        return response.json(run.summary())

    @app.delete("/v1/runs/<run_id:str>")
    async def stop_run(_request: Request, run_id: str):
        run = services.registry.get(run_id)
        if run is None:
            return response.json({"error": "no such run"}, status=404)
        await run.stop()
        return response.json({"stopping": run_id}, status=202)

    return app


def main() -> None:
    config = Config.from_env()
    configure(config.log_format)
    app = create_app(config)
    app.run(host=config.host, port=config.port, single_process=True, access_log=False,
            motd=False, register_sys_signals=False)


if __name__ == "__main__":
    main()

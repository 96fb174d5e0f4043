"""The control service (Sanic): two listeners in one process, sharing one set of Services.

- public (PYPLAY_HOST:PYPLAY_PORT, :8000): what students need, and all the load balancer
  forwards: the session socket, the display socket, /healthz and /readyz.
- internal (PYPLAY_ADMIN_HOST:PYPLAY_ADMIN_PORT, loopback or the cluster network): the
  operators' REST, /metrics, and the sockets other replicas forward to this one.

    python -m app        # or the `pyplay` console script

SIGINT and SIGTERM stop the server; every sandbox, pooled or running, is
destroyed before the process exits.
"""
from __future__ import annotations

import asyncio
import secrets
import signal
import socket
from typing import Any, Awaitable, Callable, Optional, Tuple

from sanic import Request, Sanic, response
from sanic.server.websockets.impl import WebsocketImplProtocol

from app.front_door import check_internal, check_upgrade
from app.metrics import render_metrics
from app.peers import peer_directory
from app.rest import add_run_routes
from common.config import Config, ConfigError
from common.logs import configure, get_logger
from proxy.audio import relay_audio
from proxy.display import relay_display
from proxy.errors import PeerGone
from proxy.forward import Forwarder, splice_to_peer
from proxy.registry import RunRegistry
from proxy.replicas import made_up_replica_name
from proxy.run import Run
from proxy.session import Services, Session
from scheduler.interface import Scheduler
from scheduler.local import LocalScheduler

log = get_logger("pyplay.service")
SHUTDOWN_SECONDS = 5.0
GONE_CLOSE = 4410   # display socket: the replica running the program is gone


def make_scheduler(config: Config) -> Scheduler:
    if config.scheduler == "nomad":
        from scheduler.nomad import NomadScheduler  # only operators of a cluster need it

        return NomadScheduler.from_config(config)
    return LocalScheduler(config)


def make_services(config: Config, scheduler: Optional[Scheduler] = None) -> Services:
    forwarder = None
    if config.peers or config.peer_discovery == "consul":
        forwarder = Forwarder(peer_directory(config), config.admin_token, config.peer_connect_seconds,
                              config.max_message_bytes * 2)
    return Services(config, scheduler or make_scheduler(config), RunRegistry(config.ticket_seconds),
                    replica=config.replica or made_up_replica_name(), forwarder=forwarder)


def create_apps(config: Config, scheduler: Optional[Scheduler] = None) -> Tuple[Sanic, Optional[Sanic]]:
    """The public app (it owns start-up and shutdown) and the internal one, if configured."""
    services = make_services(config, scheduler)
    public = _new_app("pyplay_", config, services)
    public.on_request(lambda request: check_upgrade(config, request))
    _add_lifecycle(public, services)
    _add_sockets(public, services)
    _add_health(public, services)
    if not config.admin_port:
        return public, None
    internal = _new_app("pyplay_internal_", config, services)
    internal.on_request(lambda request: check_internal(config, request))
    _add_sockets(internal, services)
    _add_health(internal, services)
    _add_operations(internal, services)
    add_run_routes(internal, services)
    return public, internal


def _new_app(prefix: str, config: Config, services: Services) -> Sanic:
    app = Sanic(prefix + secrets.token_hex(4), configure_logging=False)
    # Our own size check answers "too_large" and keeps the socket; this is the hard cap.
    app.config.WEBSOCKET_MAX_SIZE = config.max_message_bytes * 2
    app.config.WEBSOCKET_PING_INTERVAL = 20
    app.config.WEBSOCKET_PING_TIMEOUT = 40
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 2.0
    # uvloop's subprocesses inherit Sanic's (inheritable) listening socket: a sandbox that
    # outlived a killed service would then hold port 8000.  The stdlib loop closes it.
    app.config.USE_UVLOOP = False
    app.config.KEEP_ALIVE_TIMEOUT = 75
    app.ctx.services = services
    return app


def _add_lifecycle(app: Sanic, services: Services) -> None:
    async def shut_down() -> None:
        """Drain (PYPLAY_DRAIN_SECONDS), then stop every run while its socket is still open, so
        each student is told; then stop."""
        services.draining = True
        await _drain(services, services.config.drain_seconds)
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
        config = services.config
        log.info("service_ready", host=config.host, port=config.port, admin_port=config.admin_port,
                 replica=services.replica, scheduler=config.scheduler)

    @app.after_server_start
    async def handle_signals(app: Sanic) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(shut_down()))

    @app.after_server_stop
    async def stop_scheduler(app: Sanic) -> None:
        await services.scheduler.close()
        log.info("service_stopped")


async def _drain(services: Services, seconds: float) -> None:
    """Not ready any more (the balancer sends new students elsewhere); runs in progress get
    up to ``seconds`` to end on their own."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        live = [run for run in services.registry.all() if not run.finished.is_set()]
        if not live:
            return
        await asyncio.wait([asyncio.ensure_future(run.finished.wait()) for run in live],
                           timeout=deadline - asyncio.get_running_loop().time(), return_when=asyncio.FIRST_COMPLETED)


def _add_sockets(app: Sanic, services: Services) -> None:
    async def session_socket(request: Request, ws: WebsocketImplProtocol) -> None:
        session = Session(services, ws.recv, ws.send, client=request.ctx.client)
        await session.serve()

    app.add_websocket_route(session_socket, "/", name="session_root")
    app.add_websocket_route(session_socket, "/v1/session", name="session")

    _add_run_socket(app, services, "vnc", lambda run: run.sandbox.display is not None, relay_display)
    _add_run_socket(app, services, "audio", lambda run: run.sandbox.audio is not None, relay_audio)


def _add_run_socket(app: Sanic, services: Services, kind: str, has: Callable[[Run], bool],
                    relay: Callable[[Any, Run], Awaitable[None]]) -> None:
    """A run's display (``vnc``) or sound (``audio``) socket: its ticket checked here, or the
    socket forwarded to the replica that runs the program."""
    async def run_socket(request: Request, ws: WebsocketImplProtocol, run_id: str) -> None:
        owner = services.owner_elsewhere(run_id)
        if owner is not None:
            await _forward_run_socket(services, owner, request, ws)
            return
        run = services.registry.check_ticket(run_id, request.args.get("ticket", ""))
        if run is None or not has(run):
            await ws.close(code=4404, reason="unknown run or expired ticket")
            return
        await relay(ws, run)

    app.add_websocket_route(run_socket, f"/v1/runs/<run_id:str>/{kind}", subprotocols=["binary"],
                            name=f"{kind}_socket")


async def _forward_run_socket(services: Services, owner: str, request: Request, ws: WebsocketImplProtocol) -> None:
    assert services.forwarder is not None
    path = request.path + (f"?{request.query_string}" if request.query_string else "")
    try:
        peer = await services.forwarder.open(owner, path, request.ctx.client, subprotocol="binary")
    except PeerGone as error:
        log.warning("run_socket_owner_gone", owner=owner, error=str(error))
        await ws.close(code=GONE_CLOSE, reason="the server running this program is gone")
        return
    services.forwarder.counters["forwarded_displays"] += 1
    await splice_to_peer(ws.recv, ws.send, peer)


def _add_health(app: Sanic, services: Services) -> None:
    @app.get("/healthz")
    async def healthz(_request: Request) -> response.HTTPResponse:
        return response.json({"status": "ok", "replica": services.replica})

    @app.get("/readyz")
    async def readyz(_request: Request) -> response.HTTPResponse:
        problem = "draining" if services.draining else services.scheduler.ready_problem()
        if problem:
            return response.json({"status": "unavailable", "reason": problem}, status=503)
        return response.json({"status": "ready"})


def _add_operations(app: Sanic, services: Services) -> None:
    @app.post("/v1/drain")
    async def drain(_request: Request) -> response.HTTPResponse:
        """Take no new students (readiness fails, so the balancer stops sending them);
        everything in progress goes on until the replica is stopped."""
        services.draining = True
        log.info("draining", runs=sum(1 for run in services.registry.all() if not run.finished.is_set()))
        return response.json({"status": "draining", "replica": services.replica})

    @app.get("/metrics")
    async def metrics(_request: Request) -> response.HTTPResponse:
        forwarding = services.forwarder.counters if services.forwarder else {}
        own = {**forwarding, "draining": int(services.draining)}   # this replica's forwarding and drain state
        text = render_metrics({**services.scheduler.stats(), **services.counters, **own}, services.registry.all(),
                              services.replica)
        return response.text(text, content_type="text/plain; version=0.0.4")


def listening_socket(host: str, port: int, what: str) -> socket.socket:
    """Bound before Sanic starts, so a port in use stops the service with a clear reason
    (Sanic would only warn about a second listener that cannot bind)."""
    try:
        return socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as error:
        raise ConfigError(f"cannot listen for the {what} on {host}:{port}: {error.strerror}") from None


def main() -> None:
    config = Config.from_env()
    configure(config.log_format)
    public, internal = create_apps(config)
    listeners = [(public, listening_socket(config.host, config.port, "public listener"))]
    if internal is not None:
        listeners.append((internal, listening_socket(config.admin_host, config.admin_port, "internal listener")))
    for app, sock in listeners:
        app.prepare(sock=sock, single_process=True, access_log=False, motd=False, register_sys_signals=False)
    Sanic.serve_single(public)


if __name__ == "__main__":
    main()

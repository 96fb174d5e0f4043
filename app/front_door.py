"""Before any request is served: what each listener lets in.

The public listener (students, through the load balancer) checks every WebSocket upgrade
for a known Origin and, when configured, a valid signed token.  The internal listener
(operators, peers) is on loopback or the cluster network, and wants the admin token when
one is set; a peer forwarding a student's socket names the student in a header.
"""
from __future__ import annotations

import hmac
import socket
from typing import Optional

from sanic import HTTPResponse, Request, response

from common.config import Config
from common.logs import get_logger
from proxy.errors import TokenError
from proxy.forward import CLIENT_HEADER
from proxy.tokens import verify_token

log = get_logger("pyplay.front_door")


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


TICKETED_PATHS = ("/vnc", "/audio")   # a run's display and sound: tickets, not session tokens

def check_upgrade(config: Config, request: Request) -> Optional[HTTPResponse]:
    """None to let a WebSocket upgrade through (naming its client in ``request.ctx.client``),
    or the refusal.  Display and sound sockets carry their own tickets instead of tokens."""
    if request.headers.get("upgrade", "").lower() != "websocket":
        return None
    disable_nagle(request)
    if not origin_allowed(config, request.headers.get("origin")):
        log.warning("origin_refused", origin=request.headers.get("origin"), path=request.path)
        return response.json({"error": "origin not allowed"}, status=403)
    request.ctx.client = request.ip or "unknown"
    if config.session_secret and not request.path.endswith(TICKETED_PATHS):
        try:
            request.ctx.client = "token:" + verify_token(config.session_secret, request.args.get("token", ""))
        except TokenError as error:
            log.warning("token_refused", reason=str(error), ip=request.ip)
            return response.json({"error": str(error)}, status=401)
    return None


def check_internal(config: Config, request: Request) -> Optional[HTTPResponse]:
    """None to let a request to the internal listener through, or the refusal."""
    if config.admin_token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {config.admin_token}".encode()):
            log.warning("admin_token_refused", path=request.path, ip=request.ip)
            return response.json({"error": "this listener wants Authorization: Bearer <admin token>"}, status=401)
    if request.headers.get("upgrade", "").lower() == "websocket":
        disable_nagle(request)
        request.ctx.client = request.headers.get(CLIENT_HEADER) or request.ip or "unknown"
    return None

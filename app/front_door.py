"""Before any WebSocket upgrade: a known Origin and, when configured, a valid signed token."""
from __future__ import annotations

import socket
from typing import Optional

from sanic import HTTPResponse, Request, response

from common.config import Config
from common.logs import get_logger
from proxy.errors import TokenError
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


def check_upgrade(config: Config, request: Request) -> Optional[HTTPResponse]:
    """None to let a WebSocket upgrade through (naming its client in ``request.ctx.client``),
    or the refusal.  Display sockets carry their own tickets instead of tokens."""
    if request.headers.get("upgrade", "").lower() != "websocket":
        return None
    disable_nagle(request)
    if not origin_allowed(config, request.headers.get("origin")):
        log.warning("origin_refused", origin=request.headers.get("origin"), path=request.path)
        return response.json({"error": "origin not allowed"}, status=403)
    request.ctx.client = request.ip or "unknown"
    if config.session_secret and not request.path.endswith("/vnc"):
        try:
            request.ctx.client = "token:" + verify_token(config.session_secret, request.args.get("token", ""))
        except TokenError as error:
            log.warning("token_refused", reason=str(error), ip=request.ip)
            return response.json({"error": str(error)}, status=401)
    return None

"""Optional HMAC-signed session tokens issued by the customer's app (no I/O).

A token is ``base64url(json payload) + "." + base64url(HMAC-SHA256(secret, payload part))``
with payload ``{"sub": "<student id>", "exp": <unix seconds>}``.  When the service has a
secret configured, every WebSocket must carry ``?token=...``; the ``sub`` then names the
client for the per-client limits.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Optional

from proxy.errors import TokenError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: str, subject: str, lifetime_seconds: float = 3600, now: Optional[float] = None) -> str:
    payload = _b64(json.dumps({"sub": subject, "exp": int((now or time.time()) + lifetime_seconds)}).encode())
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(signature)}"


def verify_token(secret: str, token: str, now: Optional[float] = None) -> str:
    """The token's subject, or TokenError."""
    payload, _, signature = (token or "").partition(".")
    if not payload or not signature or len(token) > 2048:
        raise TokenError("missing or malformed session token")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise TokenError("session token signature does not match")
        claims = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        raise TokenError("malformed session token") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str) or not isinstance(claims.get("exp"), int):
        raise TokenError("session token needs a string sub and an integer exp")
    if claims["exp"] < (now or time.time()):
        raise TokenError("session token has expired")
    return claims["sub"]

"""Forwarding a WebSocket to the replica that owns its run.

A display socket, or a session socket whose `resume` names a run of another replica, is
spliced to the same path on the owner's internal listener.  The owner's own traffic never
comes through here: only a socket that landed on the wrong replica pays the extra hop.
"""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Dict, Optional

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from proxy.errors import PeerGone
from proxy.relay import Message, Receive, Send, splice
from proxy.replicas import PeerDirectory

CLIENT_HEADER = "X-Pyplay-Client"   # who the student is, as the front door of the first replica saw it
PEER_QUEUE = 16                      # messages read ahead from a peer before it must wait
COUNTERS = ("forwarded_resumes", "forwarded_displays", "forwarded_rest")


@dataclasses.dataclass
class Forwarder:
    peers: PeerDirectory
    admin_token: str          # the peers' internal listeners want it, when set
    connect_seconds: float    # a peer that has not answered by then is gone
    max_message: int
    gone: int = 0             # peers that did not answer: forward_peer_gone in /metrics

    async def open(self, owner: str, path: str, client: str, subprotocol: Optional[str] = None) -> ClientConnection:
        """A WebSocket to ``path`` on the owner's internal listener, or PeerGone within the
        connect bound, so a student whose replica died hears so at once."""
        try:
            return await asyncio.wait_for(self._open(owner, path, client, subprotocol), self.connect_seconds)
        except (OSError, asyncio.TimeoutError, WebSocketException) as error:
            self.gone += 1
            raise PeerGone(f"replica {owner} did not answer: {error!r}") from None

    async def _open(self, owner: str, path: str, client: str, subprotocol: Optional[str]) -> ClientConnection:
        address = await self.peers.address(owner)
        if address is None:
            raise PeerGone(f"no replica named {owner} is known")
        headers: Dict[str, str] = {CLIENT_HEADER: client}
        if self.admin_token:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        return await connect(f"ws://{address}{path}", additional_headers=headers, open_timeout=None,
                             subprotocols=[subprotocol] if subprotocol else None,  # type: ignore[list-item]
                             max_size=self.max_message, max_queue=PEER_QUEUE, compression=None)


async def splice_to_peer(receive: Receive, send: Send, peer: ClientConnection) -> None:
    """Relay the client's socket and the peer's until either ends; then close the peer's."""
    async def from_peer() -> Optional[Message]:
        try:
            return await peer.recv()
        except ConnectionClosed:
            return None

    try:
        await splice(receive, send, from_peer, peer.send)
    finally:
        await peer.close()

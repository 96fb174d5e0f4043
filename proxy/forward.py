"""Forwarding a WebSocket to the replica that owns its run.

A display socket, or a session socket whose `resume` names a run of another replica, is
spliced to the same path on the owner's internal listener.  The owner's own traffic never
comes through here: only a socket that landed on the wrong replica pays the extra hop.
"""
from __future__ import annotations

import asyncio
import dataclasses
from typing import Awaitable, Dict, Optional, Tuple, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.typing import Subprotocol

from proxy.errors import PeerGone
from proxy.relay import Message, Receive, Send, splice
from proxy.replicas import PeerDirectory

CLIENT_HEADER = "X-Pyplay-Client"   # who the student is, as the front door of the first replica saw it
PEER_QUEUE = 16                      # messages read ahead from a peer before it must wait
T = TypeVar("T")
COUNTERS = ("forwarded_resumes", "forwarded_displays", "forwarded_rest", "forward_peer_gone")


@dataclasses.dataclass
class Forwarder:
    peers: PeerDirectory
    admin_token: str          # the peers' internal listeners want it, when set
    connect_seconds: float    # a peer that has not answered by then is gone
    max_message: int
    counters: Dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))

    async def open(self, owner: str, path: str, client: str, subprotocol: Optional[str] = None) -> ClientConnection:
        """A WebSocket to ``path`` on the owner's internal listener, or PeerGone within the
        connect bound, so a student whose replica died hears so at once."""
        async def opening() -> ClientConnection:
            address, headers = await self._reach(owner)
            return await connect(f"ws://{address}{path}", additional_headers={**headers, CLIENT_HEADER: client},
                                 open_timeout=None, subprotocols=[Subprotocol(subprotocol)] if subprotocol else None,
                                 max_size=self.max_message, max_queue=PEER_QUEUE, compression=None)

        return await self._bounded(owner, opening())

    async def request(self, owner: str, method: str, path: str) -> httpx.Response:
        """The same HTTP request, made of the owner's internal listener (operators' REST)."""
        async def asking() -> httpx.Response:
            address, headers = await self._reach(owner)
            async with httpx.AsyncClient() as client:
                return await client.request(method, f"http://{address}{path}", headers=headers)

        return await self._bounded(owner, asking())

    async def _bounded(self, owner: str, attempt: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(attempt, self.connect_seconds)
        except (OSError, asyncio.TimeoutError, WebSocketException, httpx.HTTPError, PeerGone) as error:
            self.counters["forward_peer_gone"] += 1
            raise PeerGone(f"replica {owner} did not answer: {error!r}") from None

    async def _reach(self, owner: str) -> Tuple[str, Dict[str, str]]:
        """The owner's internal address, and the headers its listener wants."""
        address = await self.peers.address(owner)
        if address is None:
            raise PeerGone(f"no replica named {owner} is known")
        return address, {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}


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

"""Which replica owns a run, and where the other replicas are.

A run lives in the memory of the replica that started it.  Its id names that replica
(``r-<replica>-<random>``), and its resume token and display tickets only ever travel
with the id, so whichever replica a socket or a REST call lands on can tell the owner
from the id alone and forward to it (proxy/forward.py).  Finding the owner's address is a
``PeerDirectory``: configuration here, Consul under Nomad (app/consul_peers.py).
"""
from __future__ import annotations

import abc
import secrets
from typing import Dict, Iterable, Optional


def new_run_id(replica: str) -> str:
    return f"r-{replica}-{secrets.token_urlsafe(9)}"


def owner_of(run_id: str) -> Optional[str]:
    """The replica named in a run id, or None for an id not of this shape."""
    prefix, _, rest = run_id.partition("-")
    replica, _, random = rest.partition("-")
    if prefix != "r" or not replica.isalnum() or not random:
        return None
    return replica


def made_up_replica_name() -> str:
    return "x" + secrets.token_hex(4)


class PeerDirectory(abc.ABC):
    """Where another replica's internal listener is."""

    @abc.abstractmethod
    async def address(self, replica: str) -> Optional[str]:
        """``host:port`` of that replica's internal listener, or None if no such replica is known
        (it died, or never was)."""


class StaticPeers(PeerDirectory):
    """Peers from configuration: ``name=host:port`` entries (PYPLAY_PEERS)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self._addresses: Dict[str, str] = {}
        for entry in entries:
            name, _, address = entry.partition("=")
            self._addresses[name] = address

    async def address(self, replica: str) -> Optional[str]:
        return self._addresses.get(replica)

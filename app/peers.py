"""Finding the other replicas: PYPLAY_PEERS locally, Consul under Nomad.

Under Nomad each replica registers its internal listener as the Consul service
PYPLAY_PEER_SERVICE with the tag ``replica:<name>`` (jobspecs/pyplay.nomad.hcl); a
replica that died fails its check, and a forwarded socket for its runs hears `gone`.
"""
from __future__ import annotations

import asyncio
from typing import Optional

from common.config import Config
from proxy.replicas import PeerDirectory, StaticPeers
from scheduler.errors import ClusterAPIError
from scheduler.nomad import NomadSettings

REPLICA_TAG = "replica:{name}"


class ConsulPeers(PeerDirectory):
    def __init__(self, config: Config, settings: NomadSettings) -> None:
        self._service = config.peer_service
        self._consul = settings.consul_client()

    async def address(self, replica: str) -> Optional[str]:
        loop = asyncio.get_running_loop()
        try:
            instances = await loop.run_in_executor(
                None, self._consul.instances, self._service, REPLICA_TAG.format(name=replica))
        except ClusterAPIError:
            return None
        passing = [instance for instance in instances if instance.passing]
        return passing[0].endpoint()[1] if passing else None


def peer_directory(config: Config) -> PeerDirectory:
    if config.peer_discovery == "consul":
        return ConsulPeers(config, NomadSettings.from_env())
    return StaticPeers(config.peers)

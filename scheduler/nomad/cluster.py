"""Nomad and Consul as the rest of the Nomad scheduler sees them: blocking clients, called
off the event loop.

python-nomad and the Consul client block (requests); every call runs on a bounded
executor of our own, never on the event loop, so a slow cluster API slows starts but
never the students' terminals.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from typing import Any, Callable, Optional, TypeVar

from scheduler.errors import ClusterAPIError
from scheduler.nomad.api import NomadAPI
from scheduler.nomad.consul import ConsulClient
from scheduler.nomad.settings import NomadSettings

T = TypeVar("T")


class Cluster:
    def __init__(self, settings: NomadSettings, nomad: Optional[NomadAPI] = None,
                 consul: Optional[ConsulClient] = None) -> None:
        self.nomad = nomad or settings.nomad_api()
        self.consul = consul or settings.consul_client()
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=settings.api_threads, thread_name_prefix="pyplay-nomad")
        self._down = False

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Start a blocking call; the caller decides what a cancelled wait for it means."""
        if self._down:
            raise ClusterAPIError("the Nomad scheduler is shut down")
        return asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, *args))

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.submit(fn, *args)

    async def close(self) -> None:
        self._down = True
        self.nomad.close()
        self.consul.close()
        # Off the loop: a call still in flight may take up to the API timeout to return.
        await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(self.executor.shutdown, wait=True))

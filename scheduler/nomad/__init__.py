"""The Nomad scheduler: sandboxes as dispatched Nomad batch jobs, found through Consul.

    settings.py   NomadSettings, read from the environment
    api.py        the Nomad HTTP calls (blocking, over python-nomad)
    consul.py     the one Consul call: a service instance's health
    cluster.py    both clients, called off the event loop on a bounded executor
    factory.py    one sandbox: dispatch, wait for its allocation and health, connect; purge
    sweeper.py    orphans at start-up, failed purges, pooled sandboxes gone bad
    scheduler.py  NomadScheduler: the shared WarmPool and Acquirer wired to the above
"""
from scheduler.nomad.factory import ALLOC_TAG
from scheduler.nomad.scheduler import NomadScheduler
from scheduler.nomad.settings import NomadSettings

__all__ = ["ALLOC_TAG", "NomadScheduler", "NomadSettings"]

"""NomadSettings: everything the Nomad scheduler needs beyond Config, read from the environment.

Standard variables keep the names the nomad and consul CLIs read (NOMAD_ADDR,
CONSUL_HTTP_ADDR, ...); the rest are PYPLAY_NOMAD_<FIELD>.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Optional, Tuple, Union

from common.config import ConfigError, values_from_env
from scheduler.nomad.api import NomadAPI
from scheduler.nomad.consul import ConsulClient, consul_base_url

SETTINGS_PREFIX = "PYPLAY_NOMAD_"
# Settings operators already know by the names the nomad and consul CLIs read.
STANDARD_ENV = {
    "nomad_addr": "NOMAD_ADDR", "nomad_token": "NOMAD_TOKEN",
    "nomad_namespace": "NOMAD_NAMESPACE", "nomad_region": "NOMAD_REGION",
    "nomad_ca_cert": "NOMAD_CACERT", "nomad_client_cert": "NOMAD_CLIENT_CERT",
    "nomad_client_key": "NOMAD_CLIENT_KEY",
    "consul_addr": "CONSUL_HTTP_ADDR", "consul_token": "CONSUL_HTTP_TOKEN",
    "consul_ssl": "CONSUL_HTTP_SSL", "consul_ca_cert": "CONSUL_CACERT",
    "consul_client_cert": "CONSUL_CLIENT_CERT", "consul_client_key": "CONSUL_CLIENT_KEY",
}


@dataclasses.dataclass(frozen=True)
class NomadSettings:
    """Everything NomadScheduler needs beyond Config.  Read by ``from_env``."""

    nomad_addr: str = "http://127.0.0.1:4646"
    nomad_token: str = ""
    nomad_namespace: str = ""
    nomad_region: str = ""
    nomad_ca_cert: str = ""
    nomad_client_cert: str = ""
    nomad_client_key: str = ""
    consul_addr: str = "127.0.0.1:8500"       # host:port or a URL, as the consul CLI reads it
    consul_token: str = ""
    consul_ssl: bool = False                  # https when consul_addr has no scheme
    consul_ca_cert: str = ""
    consul_client_cert: str = ""
    consul_client_key: str = ""
    tls_verify: bool = True                   # certificates are checked unless this is false
    job: str = "pyplay-sandbox"               # the parameterized job dispatched per sandbox
    service: str = "pyplay-sandbox"           # its Consul service
    owner: str = "pyplay"                     # dispatch meta telling whose children they are
    # The control service's own job (jobspecs/pyplay.nomad.hcl sets it to NOMAD_JOB_ID):
    # children owned by one of its allocations that no longer runs (scaled away) are swept.
    control_job: str = ""
    orphans: str = "purge"                    # at start-up: purge | adopt (healthy, unclaimed)
    max_dispatching: int = 8                  # starts in flight; past this acquire() waits in line
    start_seconds: float = 60.0               # dispatch to HELLO, for pool refills
    dispatch_attempts: int = 3                # allocations that fail are retried this often
    poll_seconds: float = 0.5                 # Consul health, while a running allocation's check passes
    block_seconds: float = 5.0                # a blocking query's wait for a start's allocation
    connect_seconds: float = 10.0             # TCP connect + HELLO from the agent
    api_timeout_seconds: float = 10.0
    api_threads: int = 8                      # the executor running blocking API calls
    maintain_seconds: float = 5.0             # pool upkeep when nothing wakes it sooner
    refill_backoff_max_seconds: float = 60.0
    node_cache_seconds: float = 10.0          # a node's drain/eligibility is read at most this often
    sweep_seconds: float = 60.0               # how often children nobody tracks are looked for
    stray_seconds: float = 60.0               # an untracked child of ours this old is a leak
    agent_keepalive_seconds: float = 10.0     # TCP keepalive idle on the agent link (a dead host is seen)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: Any) -> NomadSettings:
        environ = os.environ if environ is None else environ
        values = values_from_env(cls, environ, lambda name: STANDARD_ENV.get(name, SETTINGS_PREFIX + name.upper()))
        values.update(overrides)
        return cls(**values).validated()

    def validated(self) -> NomadSettings:
        if self.orphans not in ("purge", "adopt"):
            raise ConfigError(f"{SETTINGS_PREFIX}ORPHANS must be purge or adopt, not {self.orphans!r}")
        for name in ("max_dispatching", "dispatch_attempts", "api_threads", "start_seconds",
                     "poll_seconds", "block_seconds", "connect_seconds", "api_timeout_seconds",
                     "maintain_seconds", "node_cache_seconds", "sweep_seconds", "stray_seconds",
                     "agent_keepalive_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{SETTINGS_PREFIX}{name.upper()} must be positive")
        if self.stray_seconds < 2 * self.api_timeout_seconds:
            # A dispatch still in flight (up to the API timeout, retried once) is not a leak.
            raise ConfigError(f"{SETTINGS_PREFIX}STRAY_SECONDS must be at least twice "
                              f"{SETTINGS_PREFIX}API_TIMEOUT_SECONDS")
        return self

    def nomad_api(self) -> NomadAPI:
        return NomadAPI(address=self.nomad_addr, token=self.nomad_token,
                        namespace=self.nomad_namespace, region=self.nomad_region,
                        verify=_verify(self.tls_verify, self.nomad_ca_cert),
                        cert=_cert(self.nomad_client_cert, self.nomad_client_key),
                        timeout=self.api_timeout_seconds)

    def consul_client(self) -> ConsulClient:
        return ConsulClient(address=consul_base_url(self.consul_addr, self.consul_ssl),
                            token=self.consul_token,
                            verify=_verify(self.tls_verify, self.consul_ca_cert),
                            cert=_cert(self.consul_client_cert, self.consul_client_key),
                            timeout=self.api_timeout_seconds)


def _verify(enabled: bool, ca_cert: str) -> Union[bool, str]:
    return (ca_cert or True) if enabled else False


def _cert(cert: str, key: str) -> Tuple[str, ...]:
    return (cert, key) if cert and key else ()

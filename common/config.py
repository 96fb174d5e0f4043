"""The one configuration object: every default of the service lives here.

Each field can be set from the environment as ``PYPLAY_<FIELD>`` (upper case);
per-run limits as ``PYPLAY_LIMIT_<FIELD>``, warm-pool sizes as ``PYPLAY_POOL_<MODE>``.
Every layer reads it (the application, the proxy, the schedulers), so it lives below them all.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple

from sandbox.limits import Limits
from sandbox.modes import MODES

PREFIX = "PYPLAY_"
REPO = pathlib.Path(__file__).resolve().parent.parent
SANDBOX_PER = ("session", "run")
PEER_DISCOVERY = ("static", "consul")
REPLICA_NAME = re.compile(r"[A-Za-z0-9]{1,32}")


class ConfigError(ValueError):
    """A configuration value from the environment cannot be used."""


@dataclasses.dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_origins: Tuple[str, ...] = ("http://localhost:3000", "http://127.0.0.1:3000")
    allow_missing_origin: bool = True        # non-browser clients (CLI, tests) send none
    session_secret: str = ""                 # set: every WebSocket needs ?token= signed with it
    scheduler: str = "local"                 # local | nomad
    # Local gVisor sandboxes
    runsc: str = "runsc"
    runsc_platform: str = ""                 # empty: runsc's own default (ptrace)
    state_dir: str = "/run/pyplay"           # per-sandbox bundles, sockets, runsc state
    sandbox_root: str = str(REPO / "build" / "sandbox")   # made by `make sandbox-env`
    sandbox_uid: int = 1000
    sandbox_start_seconds: float = 60.0      # agent must say hello within this (busy machines are slow)
    # TEST ONLY: run agents straight on the host (no gVisor, host environment passed through)
    # so the sabotage tests can prove the deny tests detect a missing sandbox.
    unsafe_no_isolation: bool = False
    # TEST ONLY: agents start the next run without resetting, so the leak tests can prove
    # they detect a missing reset.
    unsafe_skip_reset: bool = False
    # Session sandboxes: a session keeps its sandbox across runs, reset in place between them
    sandbox_per: str = "session"             # session | run (a fresh sandbox for every run)
    sandbox_max_runs: int = 100              # then the session's sandbox is replaced
    sandbox_max_age_seconds: float = 3600.0  # a lesson; then replaced at the next run
    reset_seconds: float = 20.0              # the agent must be READY again within this
    sandbox_idle_seconds: float = 1200.0     # a session with no run this long gives its sandbox back
    # Capacity and admission
    pool_sizes: Tuple[Tuple[str, int], ...] = (("python", 3), ("pygame", 1), ("turtle", 1))
    max_sandboxes: int = 128                 # live sandboxes, pooled and owned by sessions
    max_starting: int = 4                    # cold starts in flight; more waits in line
    acquire_seconds: float = 30.0            # a run waits at most this for a sandbox
    queue_limit: int = 256                   # runs waiting for capacity; past it `busy`
    refill_delay_seconds: float = 0.3        # let a claimed run start before its replacement boots
    # Protocol
    max_message_bytes: int = 16 * 1024 * 1024
    max_runs_per_client: int = 64            # per client address: a classroom shares one NAT address
    messages_per_second: float = 200.0
    replay_bytes: int = 1024 * 1024          # output kept for resume
    resume_grace_seconds: float = 60.0
    ticket_seconds: float = 60.0
    send_high_water: int = 256 * 1024        # websocket write buffer before we pause the agent
    # Scale-out: replicas behind a load balancer with no stickiness; any of them takes any socket
    replica: str = ""                        # this replica's name, part of every run id; empty: made up
    admin_host: str = "127.0.0.1"            # the internal listener: REST, /metrics, peers' forwarded sockets
    admin_port: int = 8001                   # 0: none (REST and /metrics then unavailable)
    admin_token: str = ""                    # set: the internal listener wants `Authorization: Bearer <it>`
    peers: Tuple[str, ...] = ()              # static discovery: "name=host:port" of peers' internal listeners
    peer_discovery: str = "static"           # static | consul (under Nomad: the service below)
    peer_service: str = "pyplay-internal"    # the Consul service of the replicas' internal listeners
    peer_connect_seconds: float = 1.5        # a peer that does not answer in this is dead: the client hears `gone`
    drain_seconds: float = 0.0               # on SIGTERM: runs get this long to end on their own, then stop
    # Logs
    log_format: str = "auto"                 # auto | json | console
    limits: Limits = dataclasses.field(default_factory=Limits)

    def __post_init__(self) -> None:
        if self.sandbox_per not in SANDBOX_PER:
            raise ConfigError(f"{PREFIX}SANDBOX_PER must be one of {', '.join(SANDBOX_PER)}")
        if self.peer_discovery not in PEER_DISCOVERY:
            raise ConfigError(f"{PREFIX}PEER_DISCOVERY must be one of {', '.join(PEER_DISCOVERY)}")
        if self.replica and not REPLICA_NAME.fullmatch(self.replica):
            raise ConfigError(f"{PREFIX}REPLICA must be 1 to 32 letters and digits, not {self.replica!r}")
        for peer in self.peers:
            name, _, address = peer.partition("=")
            if not REPLICA_NAME.fullmatch(name) or ":" not in address:
                raise ConfigError(f"{PREFIX}PEERS entries are name=host:port, not {peer!r}")

    def pool_size(self, mode: str) -> int:
        return dict(self.pool_sizes).get(mode, 0)

    @property
    def runsc_root(self) -> str:
        return os.path.join(self.state_dir, "runsc")

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: Any) -> Config:
        environ = os.environ if environ is None else environ
        values = values_from_env(cls, environ, lambda name: PREFIX + name.upper(), skip=("limits", "pool_sizes"))
        values["limits"] = _limits_from_env(environ)
        values["pool_sizes"] = _pools_from_env(environ)
        values.update(overrides)
        return cls(**values)


def values_from_env(cls: Any, environ: Mapping[str, str], variable_for: Callable[[str], str],
                    skip: Iterable[str] = ()) -> Dict[str, Any]:
    """The fields of dataclass ``cls`` that the environment sets, typed like their defaults."""
    values: Dict[str, Any] = {}
    defaults = cls()
    for field in dataclasses.fields(cls):
        variable = variable_for(field.name)
        raw = environ.get(variable)
        if raw is not None and field.name not in skip:
            values[field.name] = parse_env_value(variable, raw, getattr(defaults, field.name))
    return values


def parse_env_value(variable: str, raw: str, default: Any) -> Any:
    """``raw`` from the environment variable ``variable``, as the type of ``default``."""
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a valid {type(default).__name__}") from None


def _limits_from_env(environ: Mapping[str, str]) -> Limits:
    values = values_from_env(Limits, environ, lambda name: f"{PREFIX}LIMIT_{name.upper()}")
    for name, value in values.items():
        if value <= 0:
            raise ConfigError(f"{PREFIX}LIMIT_{name.upper()} must be positive")
    return Limits(**values)


def _pools_from_env(environ: Mapping[str, str]) -> Tuple[Tuple[str, int], ...]:
    sizes = dict(Config.pool_sizes)
    for mode in MODES:
        raw = environ.get(f"{PREFIX}POOL_{mode.upper()}")
        if raw is not None:
            sizes[mode] = parse_env_value(f"{PREFIX}POOL_{mode.upper()}", raw, 0)
    return tuple(sizes.items())

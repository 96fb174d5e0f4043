"""A real load balancer (Debian's HAProxy) in front of service replicas on loopback:
round-robin, no stickiness, as the ALB in terraform/ is.  `make test` installs haproxy."""
from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
from typing import Dict, List, Optional, Sequence

from testkit.service import Service, free_port
from testkit.waiting import until_sync

CONFIG = """\
global
    maxconn 512
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    retries 2
    option redispatch
frontend students
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /healthz
{servers}
"""
SERVER = "    server {name} 127.0.0.1:{port} check inter 300ms fall 1 rise 2"


class Balancer:
    def __init__(self, replicas: Sequence[Service]) -> None:
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="pyplay-balancer-")
        servers = "\n".join(SERVER.format(name=f"r{i}", port=replica.port) for i, replica in enumerate(replicas))
        self.config_path = os.path.join(self.directory, "haproxy.cfg")
        with open(self.config_path, "w") as handle:
            handle.write(CONFIG.format(port=self.port, servers=servers))
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def start(self) -> Balancer:
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            raise RuntimeError("haproxy is missing: `make test` installs it (scripts/apt-packages.txt)")
        with open(os.path.join(self.directory, "haproxy.log"), "ab") as log:
            self.process = subprocess.Popen([haproxy, "-db", "-f", self.config_path], stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL)
        until_sync(self._listening, 10, "haproxy to listen")
        return self

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"haproxy exited: {self.log()}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def log(self) -> str:
        with open(os.path.join(self.directory, "haproxy.log"), errors="replace") as handle:
            return handle.read()[-3000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


def replicas(count: int, env: Optional[Dict[str, str]] = None) -> List[Service]:
    """``count`` services named r0, r1, ... that know each other's internal listeners."""
    services = [Service(env) for _ in range(count)]
    peers = ",".join(f"r{i}=127.0.0.1:{service.admin_port}" for i, service in enumerate(services))
    for i, service in enumerate(services):
        service.env.update(PYPLAY_REPLICA=f"r{i}", PYPLAY_PEERS=peers)
    return services


@dataclasses.dataclass
class Cluster:
    """Replicas that know each other, behind one Balancer."""

    services: List[Service]
    balancer: Balancer

    @classmethod
    def start(cls, count: int = 2, env: Optional[Dict[str, str]] = None) -> Cluster:
        services, started = replicas(count, env), []
        try:
            for service in services:
                started.append(service.start())
            return cls(services, Balancer(services).start())
        except BaseException:
            for service in started:
                stop_and_purge(service)
            raise

    def replica(self, name: Optional[str]) -> Service:
        return next(service for service in self.services if service.env["PYPLAY_REPLICA"] == name)

    def other_than(self, name: Optional[str]) -> Service:
        return next(service for service in self.services if service.env["PYPLAY_REPLICA"] != name)

    def stop(self) -> List[str]:
        """Stop everything; the sandboxes any replica left behind (none, if all is well)."""
        self.balancer.stop()
        return [left for service in self.services for left in stop_and_purge(service)]


def stop_and_purge(service: Service) -> List[str]:
    """Stop a replica and clean its state dir.  One killed with -9 leaves sandboxes that its
    next start would purge; they are deleted here and returned, so callers can tell."""
    service.stop()
    left = service.runsc_ids()
    for sandbox_id in left:
        subprocess.run(["timeout", "30", shutil.which("runsc") or "runsc", "--root",
                        os.path.join(service.state_dir, "runsc"), "delete", "-force", sandbox_id],
                       capture_output=True)
    still = service.runsc_ids()
    service.cleanup()
    if still:
        raise RuntimeError(f"runsc could not delete {still}")
    return left

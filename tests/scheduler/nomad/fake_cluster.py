"""A fake cluster: fake Nomad + fake Consul + fake sandboxes, wired like the real thing.

The parameterized job and the Consul service come from jobspecs/sandbox.nomad.hcl
itself: the fake Nomad enforces that file's meta_required/meta_optional, and a running
allocation is registered in the fake Consul with that file's tags and meta, rendered as
Nomad renders them (${NOMAD_ALLOC_ID}, ${NOMAD_HOST_PORT_vnc}, ...).  So if the scheduler
and the jobspec disagree (a tag, a meta key), the tests fail.

The address registered follows the jobspec's ``address_mode`` as Nomad 1.7 decides it
(client/serviceregistration/address.go): ``host`` advertises the node's address and the
host port; ``driver``, and ``auto`` on a Docker network not named ``bridge`` (the Docker
driver auto-advertises those, drivers/docker/driver.go), advertise the container's
address and its ``to`` port.  The fake stands ``CONTAINER_ADDRESS`` (127.0.0.2, where
nothing listens) in for the container's address, which the proxies cannot route to.
Checks default to host mode, so they pass either way, as they do in Nomad.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from scheduler.nomad import NomadSettings
from tests.scheduler.nomad.fake_consul import FakeConsul, Registration
from tests.scheduler.nomad.fake_nomad import SILENT, UNHEALTHY, FakeAllocation, FakeNomad, ParentJob
from tests.scheduler.nomad.fake_sandbox import FakeSandboxHost
from tests.scheduler.nomad.hcl_files import SandboxJobspec, only
from tests.scheduler.nomad.openapi_spec import NomadSpec

NODE_ADDRESS = "127.0.0.1"
CONTAINER_ADDRESS = "127.0.0.2"


def parent_job(jobspec: SandboxJobspec) -> ParentJob:
    parameterized = jobspec.parameterized
    return ParentJob(
        id=jobspec.job_id, type=jobspec.job["type"], priority=int(jobspec.job.get("priority", 50)),
        datacenters=list(jobspec.defaults.get("datacenters") or ["dc1"]),
        payload=parameterized.get("payload", "optional"),
        meta_required=list(parameterized.get("meta_required", [])),
        meta_optional=list(parameterized.get("meta_optional", [])))


class FakeCluster:
    """``sandboxes``: what runs an allocation (default: fake sandboxes); the container tests
    pass testkit/containers.py's ContainerSandboxHost, which starts the jobspec's task as a
    real gVisor container (same methods: start, launch, remove, live, stop)."""

    def __init__(self, spec: NomadSpec, *, nomad_token: str = "", consul_token: str = "",
                 sandboxes: Optional[Any] = None) -> None:
        self.jobspec = SandboxJobspec.load()
        self.sandboxes = sandboxes if sandboxes is not None else FakeSandboxHost()
        self.consul = FakeConsul(token=consul_token)
        self.nomad = FakeNomad(spec, parent_job(self.jobspec), token=nomad_token,
                               on_running=self._on_running, on_stopped=self._on_stopped,
                               on_lost=self._on_lost)
        self.check_seconds = 0.05        # a check's first pass comes this long after the start
        self.nomad_token = nomad_token
        self.consul_token = consul_token
        self._sandbox_of: Dict[str, Any] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self.sandboxes.start()
        self.consul.start()
        self.nomad.start()

    def stop(self) -> None:
        self.nomad.stop()
        self.consul.stop()
        self.sandboxes.stop()

    @property
    def service(self) -> str:
        return self.jobspec.service["name"]

    def settings(self, **overrides: Any) -> NomadSettings:
        """Settings pointing at the fakes, with short bounds so tests stay fast."""
        values: Dict[str, Any] = dict(
            nomad_addr=self.nomad.address, nomad_token=self.nomad_token,
            consul_addr=self.consul.address, consul_token=self.consul_token,
            job=self.jobspec.job_id, service=self.service, owner="test-owner",
            poll_seconds=0.02, block_seconds=0.5, maintain_seconds=0.1, connect_seconds=1.0,
            api_timeout_seconds=5.0, start_seconds=5.0, api_threads=4, node_cache_seconds=0.1,
            sweep_seconds=0.2, stray_seconds=10.0)
        values.update(overrides)
        return NomadSettings(**values).validated()

    def live_sandboxes(self) -> List[Any]:
        return self.sandboxes.live()

    def violations(self) -> List[str]:
        return self.nomad.violations + self.consul.violations

    # ------------------------------------------------------------------ what Nomad's clients do

    def _on_running(self, allocation: FakeAllocation) -> None:
        # A task whose check never passes is never connected to: it gets no sandbox, whose start
        # (seconds on a loaded machine) would delay its registration past a scheduler's bound.
        sandbox = None
        if allocation.outcome != UNHEALTHY:
            sandbox = self.sandboxes.launch(allocation.mode, silent=allocation.outcome == SILENT)
            with self._lock:
                self._sandbox_of[allocation.id] = sandbox
        pty, vnc, audio = (sandbox.pty_port, sandbox.vnc_port, sandbox.audio_port) if sandbox else (0, 0, 0)
        env = {"NOMAD_ALLOC_ID": allocation.id, "NOMAD_JOB_ID": allocation.job_id,
               "NOMAD_META_mode": allocation.mode, "NOMAD_PORT_pty": "7000", "NOMAD_PORT_vnc": "5900",
               "NOMAD_PORT_audio": "5910", "NOMAD_HOST_PORT_pty": str(pty),
               "NOMAD_HOST_PORT_vnc": str(vnc), "NOMAD_HOST_PORT_audio": str(audio)}
        address, port = self.advertised(pty, int(env["NOMAD_PORT_pty"]))
        self.consul.register(Registration(
            service_id=self._service_id(allocation), service=self.service, address=address,
            port=port, tags=self.jobspec.service_tags(env),
            meta=self.jobspec.service_meta(env),
            status="critical" if allocation.outcome == UNHEALTHY else "passing",
            passing_at=time.monotonic() + self.check_seconds))

    def advertised(self, host_port: int, container_port: int) -> Tuple[str, int]:
        """The address and port Nomad registers for the service, by its address_mode."""
        mode = self.jobspec.service.get("address_mode", "auto")
        network = only(self.jobspec.task, "config").get("network_mode", "")
        if mode == "driver" or (mode == "auto" and network not in ("", "bridge", "host", "default")):
            return CONTAINER_ADDRESS, container_port
        return NODE_ADDRESS, host_port

    def _on_lost(self, allocation: FakeAllocation) -> None:
        self.consul.node_failed(self._service_id(allocation))

    def _on_stopped(self, allocation: FakeAllocation) -> None:
        self.consul.deregister(self._service_id(allocation))
        with self._lock:
            sandbox = self._sandbox_of.pop(allocation.id, None)
        if sandbox is not None:
            self.sandboxes.remove(sandbox)

    def _service_id(self, allocation: FakeAllocation) -> str:
        # The ID format Nomad gives the services it registers for a task.
        return f"_nomad-task-{allocation.id}-agent-{self.service}-pty"

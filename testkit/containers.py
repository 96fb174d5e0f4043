"""Sandbox containers started the way a Nomad client's Docker driver starts the sandbox task.

``TaskSpec.load()`` reads the task of jobspecs/sandbox.nomad.hcl; ``docker_run_args`` turns
its driver config into the `docker run` a Nomad client would make (image, runtime, args and
env with NOMAD_* rendered, ports, read-only root, tmpfs mounts, capabilities, security
options, pids and open-file limits, memory and CPU).  ``ContainerSandboxHost`` has the shape
of the fake sandbox host (start, launch, remove, live, stop), so the fake cluster's
allocations can be real gVisor containers.

One difference from a Nomad client, forced by this machine: the jobspec's Docker network
(``network_mode``) becomes network "none" (the container's own loopback only), and each
port is published on 127.0.0.1 by a forwarder into the container's network namespace
(testkit/netns_forward.py), because this runsc cannot start its own network stack here and
tests may use loopback only.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
import secrets
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

import hcl2

from testkit.docker_engine import LABEL, DockerEngine, DockerError
from testkit.loop_host import LoopHost
from testkit.netns_forward import NamespaceError, PortForward, _socket_in
from testkit.service import free_port

REPO = pathlib.Path(__file__).resolve().parents[1]
SANDBOX_JOBSPEC = REPO / "jobspecs" / "sandbox.nomad.hcl"
READY_SECONDS = 60.0
UNSAFE_UID = "64123"
_REFERENCE = re.compile(r"\$\{([^}]+)\}")
_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


def render(value: str, env: Mapping[str, str]) -> str:
    """Nomad's interpolation of the ``${name}`` references found in ``env``."""
    return _REFERENCE.sub(lambda m: str(env[m.group(1)]) if m.group(1) in env else m.group(0), value)


def _labelled(body: Mapping[str, Any], kind: str) -> Dict[str, Any]:
    """The body of the one labelled block of ``kind`` (python-hcl2: [{label: body}])."""
    ((entry,),) = [list(item.values()) for item in body[kind]]
    return dict(entry)


def _one(body: Mapping[str, Any], kind: str) -> Dict[str, Any]:
    (entry,) = body.get(kind) or [{}]
    return dict(entry)


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """The Docker driver config, env and resources of the sandbox task, as parsed."""

    config: Dict[str, Any]
    env: Dict[str, str]
    resources: Dict[str, Any]
    ports: Dict[str, int]             # label -> port inside the container ("to")
    # TEST ONLY, the sabotage check: the same task with gVisor and every isolation removed
    # (runc, the host's network and processes, the repo mounted, the agent's environment
    # handed to the program), which the deny checks must catch.
    sabotage: bool = False

    @classmethod
    def load(cls, path: pathlib.Path = SANDBOX_JOBSPEC) -> TaskSpec:
        with open(path, encoding="utf-8") as stream:
            document = hcl2.load(stream, serialization_options=_OPTIONS)
        job = _labelled(document, "job")
        group = _labelled(job, "group")
        task = _labelled(group, "task")
        ports = {label: int(port["to"]) for entry in _one(group, "network").get("port", [])
                 for label, port in entry.items()}
        return cls(_one(task, "config"), {k: str(v) for k, v in _one(task, "env").items()},
                   _one(task, "resources"), ports)

    def sabotaged(self) -> TaskSpec:
        return dataclasses.replace(self, sabotage=True)

    def listen_ports(self) -> Dict[str, int]:
        """Where the agent listens in its network namespace: the jobspec's ports, or, on the
        host's network (sabotage), free host ports as Nomad would give."""
        return {label: free_port() for label in self.ports} if self.sabotage else dict(self.ports)

    def nomad_env(self, mode: str, alloc_id: str, ports: Mapping[str, int]) -> Dict[str, str]:
        """The NOMAD_* variables the task's strings refer to, as inside the container."""
        env = {"NOMAD_META_mode": mode, "NOMAD_ALLOC_ID": alloc_id}
        env.update({f"NOMAD_PORT_{label}": str(port) for label, port in ports.items()})
        return env


def docker_run_args(task: TaskSpec, image: str, env: Mapping[str, str], name: str) -> List[str]:
    """`docker run` options, image and args for the task, as Nomad's Docker driver builds them."""
    config = task.config
    runtime, network = ("runc", "host") if task.sabotage else (config.get("runtime", "runc"), "none")
    options = ["--detach", "--name", name, "--label", LABEL, "--runtime", runtime, "--network", network]
    if config.get("readonly_rootfs"):
        options.append("--read-only")
    if config.get("privileged"):
        options.append("--privileged")
    options += [f"--cap-drop={cap}" for cap in config.get("cap_drop", [])]
    options += [f"--cap-add={cap}" for cap in config.get("cap_add", [])]
    options += [f"--security-opt={opt}" for opt in config.get("security_opt", [])]
    if "pids_limit" in config:
        options.append(f"--pids-limit={int(config['pids_limit'])}")
    for ulimit in config.get("ulimit", []):
        options += [f"--ulimit={key}={value}" for key, value in ulimit.items()]
    for mount in config.get("mount", []):
        if mount.get("type") != "tmpfs":
            raise ValueError(f"only tmpfs mounts are started here, not {mount.get('type')}")
        size = _one(mount, "tmpfs_options").get("size")
        options.append(f"--tmpfs={mount['target']}:rw,nosuid,nodev" + (f",size={int(size)}" if size else ""))
    if "user" in config:
        options.append(f"--user={config['user']}")
    resources = task.resources
    # Nomad: memory is the soft reservation and memory_max the hard limit; cpu (MHz) becomes
    # the container's CPU shares.
    if "memory_max" in resources:
        options += [f"--memory={int(resources['memory_max'])}m",
                    f"--memory-reservation={int(resources['memory'])}m"]
    elif "memory" in resources:
        options.append(f"--memory={int(resources['memory'])}m")
    if "cpu" in resources:
        options.append(f"--cpu-shares={int(resources['cpu'])}")
    for key, value in {**task.env, **env}.items():
        options += ["--env", f"{key}={render(value, env)}"]
    args = [render(arg, env) for arg in config.get("args", [])]
    if task.sabotage:
        options, args = _sabotage(options, args)
    return [*options, image, *args]


def _sabotage(options: List[str], args: List[str]) -> Tuple[List[str], List[str]]:
    # Loopback only even here; a uid nothing else on the host uses, since with the host's
    # processes visible the agent's reset kills every process of its program's uid.
    args = [arg.replace("tcp:0.0.0.0:", "tcp:127.0.0.1:") for arg in args]
    args = [UNSAFE_UID if index and args[index - 1] == "--uid" else arg for index, arg in enumerate(args)]
    options = [*options, "--pid", "host", "--volume", f"{REPO}:{REPO}:ro", "--env", "PYPLAY_UNSAFE_SABOTAGE=1"]
    return options, [*args, "--unsafe-inherit-env"]


@dataclasses.dataclass
class ContainerSandbox:
    """One running sandbox container and its ports published on 127.0.0.1."""

    mode: str
    container: str
    netns: str
    forwards: Dict[str, PortForward]
    started_at: float
    ready_at: float = 0.0

    @property
    def pty_port(self) -> int:
        return self.forwards["pty"].port

    @property
    def vnc_port(self) -> int:
        return self.forwards["vnc"].port

    @property
    def audio_port(self) -> int:
        return self.forwards["audio"].port


class ContainerSandboxHost(LoopHost[ContainerSandbox]):
    """Starts sandbox containers on ``engine`` exactly as the jobspec's task says.

    Same shape as the fake sandbox host: ``launch`` returns once the agent accepts
    connections on its port (what the task's Consul TCP check waits for)."""

    def __init__(self, engine: DockerEngine, task: Optional[TaskSpec] = None,
                 ready_seconds: float = READY_SECONDS) -> None:
        super().__init__("fake-container-host")
        self.engine = engine
        self.task = task or TaskSpec.load()
        self.ready_seconds = ready_seconds

    def launch(self, mode: str, *, silent: bool = False, alloc_id: str = "") -> ContainerSandbox:
        if silent:
            raise ValueError("a real agent always greets: the silent outcome is for fake sandboxes only")
        name = f"pyplay-test-{secrets.token_hex(6)}"
        ports = self.task.listen_ports()
        env = self.task.nomad_env(mode, alloc_id or name, ports)
        started = time.monotonic()
        container = self.engine.run("run", *docker_run_args(self.task, self.engine.sandbox_image, env, name)).strip()
        try:
            pid = int(self.engine.run("inspect", "--format", "{{.State.Pid}}", container).strip())
            sandbox = self.on_loop(self._publish(mode, container, f"/proc/{pid}/ns/net", ports, started), 10)
            self._add(container, sandbox)
            self._wait_listening(sandbox, ports["pty"])
        except BaseException:
            self._forget(container)
            self._discard(container)
            raise
        return sandbox

    async def _publish(self, mode: str, container: str, netns: str, ports: Mapping[str, int],
                       started: float) -> ContainerSandbox:
        forwards = {label: PortForward(netns, port) for label, port in ports.items()}
        for forward in forwards.values():
            await forward.start()
        return ContainerSandbox(mode, container, netns, forwards, started)

    def _wait_listening(self, sandbox: ContainerSandbox, port: int) -> None:
        deadline = time.monotonic() + self.ready_seconds
        target = ("127.0.0.1", port)
        while True:
            try:
                probe = _socket_in(sandbox.netns)
            except NamespaceError as error:     # the container has ended already
                raise DockerError(f"the sandbox container {sandbox.container[:12]} ended: "
                                  f"{self.logs(sandbox)[-2000:]}") from error
            try:
                probe.settimeout(2)
                probe.connect(target)
                sandbox.ready_at = time.monotonic()
                return
            except OSError:
                pass
            finally:
                probe.close()
            if time.monotonic() > deadline:
                raise DockerError(f"the agent in {sandbox.container[:12]} did not listen within {self.ready_seconds}s: "
                                  f"{self.logs(sandbox)[-2000:]}")
            time.sleep(0.02)

    def logs(self, sandbox: ContainerSandbox) -> str:
        try:
            return self.engine.run("logs", sandbox.container)
        except DockerError as error:
            return str(error)

    def remove(self, sandbox: ContainerSandbox) -> None:
        """Stop and delete the container; it leaves ``live()`` only once it is gone."""
        self.on_loop(self._unpublish(sandbox), 10)
        self._discard(sandbox.container)
        self._forget(sandbox.container)

    async def _unpublish(self, sandbox: ContainerSandbox) -> None:
        for forward in sandbox.forwards.values():
            await forward.close()

    def _discard(self, container: str) -> None:
        try:
            self.engine.remove([container])
        except DockerError:
            pass                            # already gone


def usable_engine() -> Tuple[Optional[DockerEngine], str]:
    """The engine, or why the container tests must skip (also a netns the tests can enter)."""
    engine, missing = DockerEngine.find()
    if engine is None or missing:
        return None, missing
    try:
        _socket_in("/proc/self/ns/net").close()
    except NamespaceError as error:
        return None, f"needs to enter network namespaces (setns, root): {error}"
    return engine, ""

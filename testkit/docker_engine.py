"""The Docker engine the container tests and benchmarks use, through the `docker` CLI.

`make test` and `make bench` start a private engine (scripts/docker/with_engine.sh, through
engine.sh: its own data root and unix socket, gVisor registered as the runtime "runsc") and
build the images (scripts/docker/images.sh) before Python runs; they pass the engine's socket
in ``PYPLAY_DOCKER_HOST``, or why there is none in ``PYPLAY_DOCKER_UNAVAILABLE``.
``DockerEngine.find()`` returns the engine, or the reason there is none, which the tests
print when they skip.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from typing import Any, Dict, List, Optional, Sequence, Tuple

ENGINE_VARIABLE = "PYPLAY_DOCKER_HOST"
UNAVAILABLE_VARIABLE = "PYPLAY_DOCKER_UNAVAILABLE"      # why scripts/docker/with_engine.sh has none
SANDBOX_IMAGE_VARIABLE = "PYPLAY_SANDBOX_IMAGE"
SERVICE_IMAGE_VARIABLE = "PYPLAY_SERVICE_IMAGE"
DEFAULT_SANDBOX_IMAGE = "pyplay/sandbox:0.1.0"
DEFAULT_SERVICE_IMAGE = "pyplay/service:0.1.0"
# Every container the tests and benchmarks start carries this label, so a leftover can be
# found (and removed) whoever started it.
LABEL = "org.pyplay.test"
CLI_SECONDS = 120.0


class DockerError(Exception):
    """A docker command failed; the message has its stderr."""


@dataclasses.dataclass(frozen=True)
class DockerEngine:
    host: str                     # unix:///run/.../docker.sock
    sandbox_image: str = DEFAULT_SANDBOX_IMAGE
    service_image: str = DEFAULT_SERVICE_IMAGE

    @classmethod
    def find(cls, environ: Optional[Dict[str, str]] = None) -> Tuple[Optional[DockerEngine], str]:
        """(engine, "") when one answers and has runsc and both images; else (None, why not)."""
        env = dict(os.environ if environ is None else environ)
        host = env.get(ENGINE_VARIABLE, "")
        if not host:
            return None, "needs a Docker engine: " + (env.get(UNAVAILABLE_VARIABLE) or (
                f"{ENGINE_VARIABLE} is not set (make test starts one: scripts/docker/with_engine.sh)"))
        if shutil.which("docker") is None:
            return None, "needs the docker command-line tool (apt-get install docker.io)"
        engine = cls(host, env.get(SANDBOX_IMAGE_VARIABLE, DEFAULT_SANDBOX_IMAGE),
                     env.get(SERVICE_IMAGE_VARIABLE, DEFAULT_SERVICE_IMAGE))
        return engine, engine.missing()

    def missing(self) -> str:
        """What this engine lacks for the tests, or ""."""
        try:
            info = json.loads(self.run("info", "--format", "{{json .Runtimes}}", timeout=20))
        except (DockerError, ValueError) as error:
            return f"needs a Docker engine answering at {self.host}: {error}"
        if "runsc" not in info:
            return f"needs gVisor registered as the Docker runtime 'runsc' at {self.host}"
        for image in (self.sandbox_image, self.service_image):
            if not self.image_exists(image):
                return f"needs the image {image} (make containers builds it)"
        return ""

    def run(self, *args: str, timeout: float = CLI_SECONDS, stdin: Optional[bytes] = None) -> str:
        env = dict(os.environ, DOCKER_HOST=self.host)
        try:
            done = subprocess.run(["docker", *args], env=env, input=stdin, capture_output=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired as error:
            raise DockerError(f"docker {args[0]} took more than {timeout}s") from error
        if done.returncode != 0:
            raise DockerError(f"docker {' '.join(args[:2])}: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout.decode(errors="replace")

    def inspect(self, kind: str, name: str) -> Dict[str, Any]:
        (found,) = json.loads(self.run(kind, "inspect", name))
        return dict(found)

    def image_exists(self, image: str) -> bool:
        try:
            self.run("image", "inspect", "--format", "{{.Id}}", image, timeout=20)
        except DockerError:
            return False
        return True

    def image_size(self, image: str) -> int:
        return int(self.run("image", "inspect", "--format", "{{.Size}}", image).strip())

    def labelled(self, label: str = LABEL) -> List[str]:
        """Ids of the containers (running or not) with the tests' label."""
        return self.run("ps", "--all", "--quiet", "--no-trunc", "--filter", f"label={label}").split()

    def remove(self, containers: Sequence[str]) -> None:
        if containers:
            self.run("rm", "--force", "--volumes", *containers)

    def output_of(self, image: str, *command: str, runtime: str = "runsc", entrypoint: str = "") -> str:
        """What ``command`` prints in a fresh container of ``image`` (removed afterwards)."""
        options = ["--entrypoint", entrypoint] if entrypoint else []
        return self.run("run", "--rm", "--label", LABEL, "--network", "none", f"--runtime={runtime}",
                        *options, image, *command)

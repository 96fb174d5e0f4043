"""The images as built (make containers): the sandbox image carries exactly what the local
sandboxes mount, and both images are pinned and say how big they are."""
from __future__ import annotations

import hashlib
import json
import pathlib
import subprocess
from typing import Dict

import pytest

from scheduler.bundle import HOST_READ_ONLY
from testkit.service import REPO

SANDBOX = pathlib.Path(REPO) / "build" / "sandbox"
APT_LIST = pathlib.Path(REPO) / "scripts" / "sandbox-apt-packages.txt"

# Run inside the sandbox image, under gVisor: what it carries.
INVENTORY = """
import hashlib, importlib.metadata as md, json, os, platform, subprocess, sys
paths, packages = json.loads(sys.argv[1]), sys.argv[2:]
versions = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Status}\\\\n", *packages],
                          capture_output=True, text=True).stdout.split("\\n")
agent = "/opt/pyplay/agent/sandbox"
print(json.dumps({
    "python": platform.python_version(),
    "pip": {d.metadata["Name"].lower(): d.version for d in md.distributions()},
    "apt": {line.split()[0]: line.split()[1] for line in versions if line.endswith(" installed")},
    "agent": {name: hashlib.sha256(open(os.path.join(agent, name), "rb").read()).hexdigest()
              for name in sorted(os.listdir(agent)) if name.endswith(".py")},
    "paths": {path: os.path.isdir(path) for path in paths},
}))
"""


def apt_packages() -> list:
    lines = (line.split("#")[0].strip() for line in APT_LIST.read_text().splitlines())
    return [line for line in lines if line]


@pytest.fixture(scope="module")
def image(engine) -> Dict:
    text = engine.output_of(engine.sandbox_image, "-c", INVENTORY, json.dumps(HOST_READ_ONLY), *apt_packages(),
                            entrypoint="python")
    return json.loads(text)


def local_python_version() -> str:
    return subprocess.run([str(SANDBOX / "python" / "bin" / "python3.10"), "-I", "-c",
                           "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def local_pip() -> Dict[str, str]:
    site = SANDBOX / "env" / "lib" / "python3.10" / "site-packages"
    found = {}
    for info in site.glob("*.dist-info"):
        metadata = (info / "METADATA").read_text(errors="replace")
        fields = dict(line.split(": ", 1) for line in metadata.splitlines()[:10] if ": " in line)
        found[fields["Name"].lower()] = fields["Version"]
    return found


def host_apt(packages: list) -> Dict[str, str]:
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Status}\\n", *packages],
                         capture_output=True, text=True).stdout
    return {line.split()[0]: line.split()[1] for line in out.splitlines() if line.endswith(" installed")}


def test_the_same_python_as_the_local_sandboxes(image):
    assert image["python"] == local_python_version() == "3.10.13"


def test_the_same_python_packages_as_the_local_sandbox_environment(image):
    carried = {name: version for name, version in image["pip"].items() if name not in ("pip", "setuptools")}
    assert carried == local_pip(), "sandbox image and build/sandbox/env differ"


def test_the_same_debian_packages_as_the_local_sandboxes_mount(image):
    # Both come from Debian 12 (bookworm); versions may differ by the point updates the host
    # has not installed yet (make never upgrades the host), so the lists compare by name.
    wanted = apt_packages()
    assert sorted(image["apt"]) == sorted(wanted), "the image misses packages of scripts/sandbox-apt-packages.txt"
    assert sorted(host_apt(wanted)) == sorted(wanted), "the host misses packages the local sandboxes mount"


def test_the_agent_is_this_repos_sandbox_package(image):
    local = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
             for path in sorted((pathlib.Path(REPO) / "sandbox").glob("*.py"))}
    assert image["agent"] == local


def test_every_host_path_a_local_sandbox_mounts_is_in_the_image(image):
    local = {path for path in HOST_READ_ONLY if pathlib.Path(path).is_dir()}
    assert {path for path, present in image["paths"].items() if present} >= local


def test_images_are_pinned_and_their_sizes_known(engine):
    for image in (engine.sandbox_image, engine.service_image):
        assert ":" in image and not image.endswith(":latest"), image
        size = engine.image_size(image)
        assert 0 < size < 2 * 1024 ** 3, f"{image}: {size} bytes"
        print(f"{image}: {size / 1024 ** 2:.0f} MiB")


def test_the_service_image_has_exactly_the_pinned_versions(engine):
    frozen = engine.output_of(engine.service_image, "-m", "pip", "freeze", runtime="runc",
                              entrypoint="/opt/pyplay/venv/bin/python").splitlines()
    pins = {line.strip().lower() for line in (pathlib.Path(REPO) / "docker" / "service-constraints.txt")
            .read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert {line.lower() for line in frozen if not line.startswith("pyplay")} == pins

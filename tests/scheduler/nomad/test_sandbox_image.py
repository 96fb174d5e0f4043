"""sandbox/Dockerfile, read instruction by instruction (tests/containers/ builds and runs it).

What is checked is what the design promises of the image: a pinned Python 3.10 base (a
build argument), the same pinned pygame-ce/ptyprocess and Debian packages as the local
sandboxes, the repo's agent run as root inside gVisor (it drops each program to the sandbox
uid, as locally), and the agent as the entry point.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import List, Tuple

import pytest

from common.config import Config
from scheduler.bundle import AGENT_ROOT
from tests.scheduler.nomad.hcl_files import REPO

DOCKERFILE = REPO / "sandbox" / "Dockerfile"
IGNORE = REPO / "sandbox" / "Dockerfile.dockerignore"
REQUIREMENTS = REPO / "scripts" / "sandbox-requirements.txt"
APT_PACKAGES = REPO / "scripts" / "sandbox-apt-packages.txt"


def instructions(text: str) -> List[Tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        current += " " + stripped.rstrip("\\").strip() if current else stripped.rstrip("\\").strip()
        if not stripped.endswith("\\"):
            joined.append(current)
            current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in joined]


@pytest.fixture(scope="module")
def steps() -> List[Tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def _all(steps, kind) -> List[str]:
    return [args for instruction, args in steps if instruction == kind]


def test_base_is_a_pinned_python_310_slim_image_by_default(steps):
    (base,) = _all(steps, "FROM")
    assert base == "${BASE}", "the base is a build argument (a registry's image, or the local one)"
    (default,) = [args.split("=", 1)[1] for args in _all(steps, "ARG") if args.startswith("BASE=")]
    assert re.fullmatch(r"python:3\.10\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", default), default
    assert not any("latest" in args.lower() for _, args in steps), "no instruction refers to latest"


def test_the_agent_runs_as_root_and_the_program_as_the_sandbox_user(steps):
    """As in the local sandboxes: the agent is root inside gVisor and drops each program to
    the sandbox uid.  An image USER of that uid made the agent kill itself after every run
    (issue 16); an image USER of any other non-root uid could not drop to it at all."""
    assert _all(steps, "USER") == [], "no USER: the agent must be root to drop the program's uid"
    uid = Config().sandbox_uid
    assert any(f"--uid {uid}" in run and "useradd" in run for run in _all(steps, "RUN")), "the user exists"
    jobspec = (REPO / "jobspecs" / "sandbox.nomad.hcl").read_text()
    assert re.search(rf'"--uid",\s*"{uid}"', jobspec), "the program drops to the local sandboxes' uid"
    assert not re.search(r"^\s*user\s*=", jobspec, re.M), "no task user: the agent stays root"


def test_entry_point_is_the_agent(steps):
    (entrypoint,) = _all(steps, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["python", "-m", "sandbox"]
    # Where the local sandboxes mount it (scheduler/bundle.py), so both look the same inside.
    assert any(args.split()[-1].rstrip("/") == AGENT_ROOT + "/sandbox" and args.split()[0].rstrip("/") == "sandbox"
               for args in _all(steps, "COPY")), "the repo's sandbox/ package is copied in"
    assert f"PYTHONPATH={AGENT_ROOT}" in " ".join(_all(steps, "ENV"))


def test_installs_the_local_sandboxes_debian_packages_without_recommends_and_cleans_up(steps):
    assert any("scripts/sandbox-apt-packages.txt" in args for args in _all(steps, "COPY"))
    apt = next(run for run in _all(steps, "RUN") if "apt-get install" in run)
    assert "/tmp/sandbox-apt-packages.txt" in apt and "--no-install-recommends" in apt
    assert "rm -rf /var/lib/apt/lists/*" in apt
    listed = {line.split("#")[0].strip() for line in APT_PACKAGES.read_text().splitlines()} - {""}
    assert {"tigervnc-standalone-server", "libtk8.6", "fonts-dejavu-core", "xkb-data", "xfonts-base"} <= listed


def test_python_packages_are_the_pinned_local_sandbox_requirements(steps):
    assert any("scripts/sandbox-requirements.txt" in args for args in _all(steps, "COPY"))
    assert any("pip install" in run and "-r /tmp/sandbox-requirements.txt" in run for run in _all(steps, "RUN"))
    pins = [line.split("#")[0].strip() for line in REQUIREMENTS.read_text().splitlines()  # pip's inline comments
            if line.strip() and not line.startswith("#")]
    assert {pin.split("==")[0] for pin in pins} >= {"pygame-ce", "ptyprocess"}
    assert all(re.fullmatch(r"[\w.-]+==[\w.]+", pin) for pin in pins), pins


def test_only_the_sandbox_package_and_its_requirements_are_sent_to_the_build():
    lines = [line.strip() for line in IGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"
    assert set(line for line in lines if line.startswith("!")) == {
        "!sandbox/", "!scripts/sandbox-requirements.txt", "!scripts/sandbox-apt-packages.txt"}


def test_the_agent_refuses_to_run_as_the_students_uid(tmp_path):
    """Started as the uid it drops programs to, the agent would kill itself with every run's
    clean-up: it exits at once, saying why, before it starts anything."""
    socket_path = tmp_path / "agent.sock"
    result = subprocess.run([sys.executable, "-m", "sandbox", "--listen", f"unix:{socket_path}",
                             "--uid", str(os.getuid())], cwd=REPO, capture_output=True, text=True,
                            timeout=20, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "refusing to start as uid" in result.stderr and "Run the agent as root" in result.stderr
    assert not socket_path.exists()

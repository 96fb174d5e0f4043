"""sandbox/Dockerfile, read instruction by instruction (Docker cannot build here).

What is checked is what the design promises of the image: a pinned Python 3.10 base, the
same pinned pygame-ce/ptyprocess as the local sandboxes, Tk, TigerVNC and fonts, the
repo's agent, the sandbox user its programs drop to, and the agent (root) as the entry point.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from typing import List, Tuple

import pytest

from common.config import Config
from tests.scheduler.nomad.hcl_files import REPO

DOCKERFILE = REPO / "sandbox" / "Dockerfile"
IGNORE = REPO / "sandbox" / "Dockerfile.dockerignore"
REQUIREMENTS = REPO / "scripts" / "sandbox-requirements.txt"


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


def test_base_is_a_pinned_python_310_slim_image(steps):
    (base,) = _all(steps, "FROM")
    image = base.split()[0]
    assert re.fullmatch(r"python:3\.10\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image), image
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
    assert any(args.split()[-1].rstrip("/") == "/opt/pyplay/sandbox" and args.split()[0].rstrip("/") == "sandbox"
               for args in _all(steps, "COPY")), "the repo's sandbox/ package is copied in"
    assert "PYTHONPATH=/opt/pyplay" in " ".join(_all(steps, "ENV"))


def test_installs_tk_tigervnc_and_fonts_without_recommends_and_cleans_up(steps):
    apt = next(run for run in _all(steps, "RUN") if "apt-get install" in run)
    words = shlex.split(apt.replace("&&", " "))
    for package in ("tigervnc-standalone-server", "libtk8.6", "fonts-dejavu-core", "xkb-data", "xfonts-base"):
        assert package in words, package
    assert "--no-install-recommends" in words
    assert "rm -rf /var/lib/apt/lists/*" in apt


def test_python_packages_are_the_pinned_local_sandbox_requirements(steps):
    assert any("scripts/sandbox-requirements.txt" in args for args in _all(steps, "COPY"))
    assert any("pip install" in run and "-r /tmp/sandbox-requirements.txt" in run for run in _all(steps, "RUN"))
    pins = [line.strip() for line in REQUIREMENTS.read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert {pin.split("==")[0] for pin in pins} >= {"pygame-ce", "ptyprocess"}
    assert all(re.fullmatch(r"[\w.-]+==[\w.]+", pin) for pin in pins), pins


def test_only_the_sandbox_package_and_its_requirements_are_sent_to_the_build():
    lines = [line.strip() for line in IGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "*"
    assert set(line for line in lines if line.startswith("!")) == {"!sandbox/", "!scripts/sandbox-requirements.txt"}


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

"""Against a real `nomad agent -dev` on 127.0.0.1, when a `nomad` binary is on PATH.

Nomad cannot be installed on the development and CI machines, so these tests skip there
(saying so).  On an operator's machine with nomad installed:

    .venv/bin/python -m pytest tests/scheduler/nomad/test_live_nomad.py -v

The dev agent has no "sandbox" node class and Docker may be absent, so nothing is ever
placed: these tests check the real API contract (registering the jobspecs, dispatch with
an idempotency token, listing children, reading meta, purging) and that NomadScheduler
reports "no allocation placed" as Unavailable within its bound and purges what it made.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.request
from typing import Iterator, List

import pytest

from common.config import Config
from scheduler.errors import Unavailable
from scheduler.nomad import NomadScheduler, NomadSettings
from scheduler.nomad.api import NomadAPI
from testkit.waiting import until_sync
from tests.scheduler.nomad.hcl_files import JOBSPECS, REPO

NOMAD = shutil.which("nomad")
needs_nomad = pytest.mark.skipif(NOMAD is None, reason="needs a `nomad` binary on PATH (not installable here)")


def _free_ports(count: int) -> List[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="module")
def dev_agent(tmp_path_factory) -> Iterator[str]:
    http, rpc, serf = _free_ports(3)
    folder = tmp_path_factory.mktemp("nomad-dev")
    config = folder / "agent.hcl"
    config.write_text(f'bind_addr = "127.0.0.1"\nports {{\n  http = {http}\n  rpc = {rpc}\n  serf = {serf}\n}}\n'
                      'client {\n  node_class = "dev"\n}\n')
    with open(folder / "agent.log", "wb") as log:  # the agent keeps its own descriptor
        agent = subprocess.Popen([NOMAD, "agent", "-dev", "-config", str(config)],
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    address = f"http://127.0.0.1:{http}"
    try:
        _wait_for_leader(address, agent)
        yield address
    finally:
        agent.terminate()
        try:
            agent.wait(15)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait(5)


def _wait_for_leader(address: str, agent: subprocess.Popen) -> None:
    def has_leader() -> bool:
        if agent.poll() is not None:
            raise RuntimeError(f"nomad agent -dev exited with {agent.returncode}")
        try:
            with urllib.request.urlopen(f"{address}/v1/status/leader", timeout=2) as answer:
                return bool(answer.read().strip(b'"\n'))
        except OSError:
            return False

    until_sync(has_leader, 60, "nomad agent -dev to elect a leader", interval=0.3)


def _nomad(address: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NOMAD_ADDR=address)
    return subprocess.run([NOMAD, *args], env=env, capture_output=True, text=True, timeout=60, cwd=REPO)


@needs_nomad
@pytest.mark.parametrize("name, variables", [
    ("sandbox.nomad.hcl", []),
    ("pyplay.nomad.hcl", []),
    ("autoscaler.nomad.hcl", ["-var", "client_asg_name=pyplay-sandbox", "-var", "aws_region=eu-central-1"]),
])
def test_jobspecs_validate_with_the_real_parser(dev_agent, name, variables):
    result = _nomad(dev_agent, "job", "validate", *variables, str(JOBSPECS / name))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_nomad
def test_dispatch_idempotency_children_meta_and_purge_on_a_real_agent(dev_agent):
    registered = _nomad(dev_agent, "job", "run", "-detach", str(JOBSPECS / "sandbox.nomad.hcl"))
    assert registered.returncode == 0, registered.stdout + registered.stderr
    api = NomadAPI(address=dev_agent)
    try:
        assert api.parent_problem("pyplay-sandbox") is None
        child = api.dispatch("pyplay-sandbox", {"mode": "python", "owner": "live-test"}, "live-token")
        assert api.dispatch("pyplay-sandbox", {"mode": "python", "owner": "live-test"}, "live-token") == child
        assert child in [c.id for c in api.children("pyplay-sandbox")]
        assert api.job_meta(child) == {"mode": "python", "owner": "live-test"}
        assert all(a.status != "running" for a in api.allocations(child)), "no sandbox client here"
        api.purge(child)
        assert api.job_meta(child) is None
    finally:
        api.close()


@needs_nomad
async def test_scheduler_reports_unplaceable_sandboxes_and_cleans_up(dev_agent):
    assert _nomad(dev_agent, "job", "run", "-detach", str(JOBSPECS / "sandbox.nomad.hcl")).returncode == 0
    settings = NomadSettings(nomad_addr=dev_agent, consul_addr="127.0.0.1:1", start_seconds=3.0,
                             poll_seconds=0.2, owner="live-scheduler")
    scheduler = NomadScheduler(Config(pool_sizes=(("python", 0),), acquire_seconds=3.0), settings)
    await scheduler.start()
    try:
        assert scheduler.ready_problem() is None
        with pytest.raises(Unavailable, match="no allocation placed"):
            await scheduler.acquire("python")
    finally:
        await scheduler.close()
    api = NomadAPI(address=dev_agent)
    try:
        leftovers = [c.id for c in api.children("pyplay-sandbox") if (api.job_meta(c.id) or {}).get("owner")
                     == "live-scheduler"]
    finally:
        api.close()
    assert leftovers == []


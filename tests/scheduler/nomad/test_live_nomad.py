"""Against a real `nomad agent -dev` on 127.0.0.1, when a `nomad` binary is on PATH.

Nomad cannot be installed on the development and CI machines, so these tests skip there
(saying so).  On an operator's machine with nomad installed:

    .venv/bin/python -m pytest tests/scheduler/nomad/test_live_nomad.py -v

The first agent has no "sandbox" node class, so nothing is ever placed: those tests check
the real API contract (registering the jobspecs, dispatch with an idempotency token,
listing children, reading meta, purging) and that NomadScheduler reports "no allocation
placed" as Unavailable within its bound and purges what it made.

The sandbox tests (issue 16: the advertised address, the uid, drains) place real
sandboxes.  They need, besides `nomad`: a `consul` binary (a `consul agent -dev` holds the
services), Docker with the runsc runtime (`runsc install`), and the sandbox image built
from this tree, named in PYPLAY_LIVE_SANDBOX_IMAGE:

    docker build -f sandbox/Dockerfile -t pyplay/sandbox:live .
    PYPLAY_LIVE_SANDBOX_IMAGE=pyplay/sandbox:live .venv/bin/python -m pytest tests/scheduler/nomad/test_live_nomad.py -v
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import urllib.request
from typing import Iterator, List, Tuple

import pytest

from common.config import Config
from scheduler.errors import Unavailable
from scheduler.interface import Output
from scheduler.nomad import NomadScheduler, NomadSettings
from scheduler.nomad.api import NomadAPI
from testkit.waiting import until, until_sync
from tests.scheduler.nomad.hcl_files import JOBSPECS, REPO
from tests.scheduler.nomad.helpers import claim_and_run, claim_message

NOMAD = shutil.which("nomad")
CONSUL = shutil.which("consul")
DOCKER = shutil.which("docker")
IMAGE = os.environ.get("PYPLAY_LIVE_SANDBOX_IMAGE", "")
needs_nomad = pytest.mark.skipif(NOMAD is None, reason="needs a `nomad` binary on PATH (not installable here)")


def _runsc_in_docker() -> bool:
    if DOCKER is None:
        return False
    info = subprocess.run([DOCKER, "info", "--format", "{{json .Runtimes}}"], capture_output=True, text=True,
                          timeout=30)
    return info.returncode == 0 and "runsc" in info.stdout


needs_sandboxes = pytest.mark.skipif(
    NOMAD is None or CONSUL is None or not IMAGE or not _runsc_in_docker(),
    reason="needs `nomad` and `consul` on PATH, Docker with the runsc runtime, and "
           "PYPLAY_LIVE_SANDBOX_IMAGE naming an image built from sandbox/Dockerfile")


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
        _stop(agent)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


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
        assert all(a.status != "running" for a in api.allocations(child)[0]), "no sandbox client here"
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



# ---------------------------------------------------------------- real sandboxes (issue 16)

@pytest.fixture(scope="module")
def sandbox_cluster(tmp_path_factory) -> Iterator[Tuple[str, str]]:
    """A consul agent -dev and a nomad agent -dev whose client is a "sandbox" node with Docker."""
    folder = tmp_path_factory.mktemp("nomad-sandboxes")
    consul_http, consul_dns, consul_serf_lan, consul_serf_wan, consul_server, consul_grpc = _free_ports(6)
    http, rpc, serf = _free_ports(3)
    consul_config = folder / "consul.json"
    consul_config.write_text(json.dumps({"ports": {
        "http": consul_http, "dns": consul_dns, "serf_lan": consul_serf_lan, "serf_wan": consul_serf_wan,
        "server": consul_server, "grpc": consul_grpc}, "bind_addr": "127.0.0.1", "client_addr": "127.0.0.1"}))
    config = folder / "agent.hcl"
    config.write_text(f'bind_addr = "127.0.0.1"\nports {{\n  http = {http}\n  rpc = {rpc}\n  serf = {serf}\n}}\n'
                      'client {\n  node_class = "sandbox"\n}\n'
                      f'consul {{\n  address = "127.0.0.1:{consul_http}"\n}}\n'
                      'plugin "docker" {\n  config {\n    allow_runtimes = ["runc", "runsc"]\n  }\n}\n')
    subprocess.run([DOCKER, "network", "create", "pyplay-sandbox"], capture_output=True, timeout=60)
    processes = []
    with open(folder / "consul.log", "wb") as log:
        processes.append(subprocess.Popen([CONSUL, "agent", "-dev", "-config-file", str(consul_config)],
                                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
    with open(folder / "nomad.log", "wb") as log:
        processes.append(subprocess.Popen([NOMAD, "agent", "-dev", "-config", str(config)],
                                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
    address = f"http://127.0.0.1:{http}"
    try:
        _wait_for_leader(address, processes[1])
        repository, _, tag = IMAGE.rpartition(":")
        registered = _nomad(address, "job", "run", "-detach", "-var", f"image={repository}", "-var",
                            f"image_tag={tag}", str(JOBSPECS / "sandbox.nomad.hcl"))
        assert registered.returncode == 0, registered.stdout + registered.stderr
        yield address, f"127.0.0.1:{consul_http}"
    finally:
        for process in reversed(processes):
            _stop(process)


def _live_scheduler(cluster: Tuple[str, str], owner: str, pool: int = 0) -> NomadScheduler:
    nomad_addr, consul_addr = cluster
    settings = NomadSettings(nomad_addr=nomad_addr, consul_addr=consul_addr, owner=owner, start_seconds=120,
                             maintain_seconds=1.0, node_cache_seconds=1.0)
    return NomadScheduler(Config(pool_sizes=(("python", pool),), acquire_seconds=120), settings)


@needs_sandboxes
async def test_live_sandbox_is_reached_at_the_host_address_and_its_program_runs_as_uid_1000(sandbox_cluster):
    scheduler = _live_scheduler(sandbox_cluster, "live-address")
    await scheduler.start()
    try:
        sandbox = await scheduler.acquire("python")
        nomad_addr, consul_addr = sandbox_cluster
        with urllib.request.urlopen(f"http://{consul_addr}/v1/health/service/pyplay-sandbox", timeout=10) as answer:
            (entry,) = json.load(answer)
        host = entry["Service"]["Address"] or entry["Node"]["Address"]
        assert host == "127.0.0.1", f"the node's address, not the container's: {entry['Service']}"
        assert entry["Service"]["Port"] != 7000, "the host port, not the container's"
        program = "import os\nprint(os.getuid(), os.stat('/proc/1').st_uid)\n"
        events = await claim_and_run(sandbox.agent, 60, claim_message(text=program))
        output = b"".join(event.data for event in events if isinstance(event, Output)).decode()
        assert output.split()[:2] == ["1000", "0"], "the program is uid 1000, the agent (pid 1) root"
        assert await sandbox.agent.reset(30), "the agent survived the run's clean-up of uid 1000"
        await scheduler.release(sandbox)
    finally:
        await scheduler.close()


@needs_sandboxes
async def test_live_pooled_sandbox_on_a_draining_node_is_dropped_before_the_deadline(sandbox_cluster):
    scheduler = _live_scheduler(sandbox_cluster, "live-drain", pool=1)
    await scheduler.start()
    nomad_addr, _ = sandbox_cluster
    try:
        await until(lambda: scheduler.stats()["pool_ready_python"] == 1, timeout=180, what="the pool to fill")
        drained = _nomad(nomad_addr, "node", "drain", "-self", "-enable", "-deadline", "30m", "-detach", "-yes")
        assert drained.returncode == 0, drained.stdout + drained.stderr
        await until(lambda: scheduler.stats()["pool_ready_python"] == 0 and scheduler.stats()["purged"] >= 1,
                    timeout=60, what="the pooled sandbox to be dropped long before the 30 min deadline")
    finally:
        _nomad(nomad_addr, "node", "drain", "-self", "-disable", "-yes")
        await asyncio.wait_for(scheduler.close(), 120)

"""The container path (the sandbox image under Docker with runsc, started as the jobspec's
task says) next to the local runsc path, measured in the same run:

- cold start: from asking for a sandbox to the agent's HELLO (container: `docker run` as a
  Nomad client would make it, to HELLO over the published port; Nomad's own scheduling is
  not included, there is no Nomad here; local: LocalScheduler's cold start);
- warm run → first output: a claim of print("hi") on a sandbox reset in place, to its first
  output byte (the same WireAgentClient on both paths);
- memory per idle sandbox: PSS of the sandbox's host processes (container: its shim's
  tree, gVisor and the shim; local: the `runsc run` tree), and for containers the memory
  cgroup's usage as Docker reports it.

Needs the engine and images of `make bench` (scripts/docker/with_engine.sh).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from typing import Dict, List, Optional, Tuple

from bench.classroom_sim import ProcessTree
from bench.stats import percentile, table
from common.config import Config
from sandbox.limits import Limits
from scheduler.agent_client import WireAgentClient
from scheduler.interface import AgentClient, Claim, Output
from scheduler.local import LocalScheduler
from testkit.containers import ContainerSandbox, ContainerSandboxHost, usable_engine
from testkit.runsc import runsc_pid

PROGRAM = b'print("hi")'
NO_POOL = (("python", 0), ("pygame", 0), ("turtle", 0))


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def _comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as handle:
        return handle.read().strip()


def tree_root(pid: int, is_root) -> int:
    """The nearest ancestor of ``pid`` (itself included) for which ``is_root(pid)`` holds."""
    while pid > 1 and not is_root(pid):
        pid = _parent(pid)
    return pid


async def first_output_seconds(agent: AgentClient) -> float:
    """A warm run: claim print("hi"), time to its first output byte; then let it end and reset."""
    began = time.monotonic()
    await agent.claim(Claim("main.py", (("main.py", PROGRAM),), 80, 24, Limits()), 30)
    seconds = 0.0
    async for event in agent.events():
        if isinstance(event, Output) and not seconds:
            seconds = time.monotonic() - began
    if not await agent.reset(20):
        raise RuntimeError("the sandbox did not reset")
    return seconds


# -- the container path ---------------------------------------------------------------------

def container_pss(host: ContainerSandboxHost, sandbox: ContainerSandbox) -> Tuple[int, int]:
    pid = int(host.engine.run("inspect", "--format", "{{.State.Pid}}", sandbox.container).strip())
    shim = tree_root(pid, lambda p: _comm(p).startswith("containerd-shim"))
    usage = host.engine.run("stats", "--no-stream", "--format", "{{.MemUsage}}", sandbox.container).split("/")[0]
    return ProcessTree(shim).pss_bytes(), _bytes(usage.strip())


def _bytes(text: str) -> int:
    units = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * units[unit])
    return int(float(text))


async def container_path(host: ContainerSandboxHost, mode: str, colds: int, warms: int) -> Dict[str, List[float]]:
    found: Dict[str, List[float]] = {"cold": [], "warm": [], "pss": [], "cgroup": []}
    loop = asyncio.get_running_loop()
    for index in range(colds):
        began = time.monotonic()
        sandbox = await loop.run_in_executor(None, lambda: host.launch(mode))
        agent = await WireAgentClient.connect(("tcp", f"127.0.0.1:{sandbox.pty_port}"), 30)
        found["cold"].append(time.monotonic() - began)
        try:
            await asyncio.sleep(1)            # idle: the agent's start-up work is over
            pss, cgroup = await loop.run_in_executor(None, container_pss, host, sandbox)
            found["pss"].append(pss)
            found["cgroup"].append(cgroup)
            if index == 0:
                found["warm"] = [await first_output_seconds(agent) for _ in range(warms)]
        finally:
            agent.close()
            await loop.run_in_executor(None, host.remove, sandbox)
    return found


# -- the local runsc path -------------------------------------------------------------------

async def local_path(mode: str, colds: int, warms: int) -> Dict[str, List[float]]:
    found: Dict[str, List[float]] = {"cold": [], "warm": [], "pss": [], "cgroup": []}
    state = tempfile.mkdtemp(prefix="pyplay-bench-")
    scheduler = LocalScheduler(Config(state_dir=state, pool_sizes=NO_POOL))
    await scheduler.start()
    ours = os.getpid()
    try:
        for index in range(colds):
            began = time.monotonic()
            sandbox = await scheduler.acquire(mode)
            found["cold"].append(time.monotonic() - began)
            try:
                await asyncio.sleep(1)
                kernel = runsc_pid(state, sandbox.id)
                found["pss"].append(ProcessTree(tree_root(kernel, lambda p: _parent(p) == ours)).pss_bytes())
                if index == 0:
                    found["warm"] = [await first_output_seconds(sandbox.agent) for _ in range(warms)]
            finally:
                await scheduler.release(sandbox)
    finally:
        await scheduler.close()
        shutil.rmtree(state, ignore_errors=True)
    return found


# -- the table ------------------------------------------------------------------------------

def timing_row(name: str, seconds: List[float], baseline: Optional[List[float]]) -> List[object]:
    median = statistics.median(seconds)
    versus = f"{median / statistics.median(baseline):.1f}x" if baseline else "baseline"
    return [name, len(seconds), f"{median * 1000:.0f}", f"{percentile(seconds, 0.95) * 1000:.0f}",
            f"{percentile(seconds, 0.99) * 1000:.0f}", versus]


def memory_row(name: str, values: List[float]) -> List[object]:
    return [name, len(values), f"{statistics.median(values) / 1024 ** 2:.1f}",
            f"{percentile(values, 0.95) / 1024 ** 2:.1f}", f"{percentile(values, 0.99) / 1024 ** 2:.1f}", ""]


async def main_async(modes: List[str], colds: int, warms: int) -> None:
    engine, why = usable_engine()
    if engine is None:
        print(f"bench_containers: skipped, {why}")
        return
    host = ContainerSandboxHost(engine)
    host.start()
    rows: List[List[object]] = []
    try:
        for mode in modes:
            local = await local_path(mode, colds, warms)
            container = await container_path(host, mode, colds, warms)
            rows += [timing_row(f"{mode}: cold start to HELLO, local runsc", local["cold"], None),
                     timing_row(f"{mode}: cold start to HELLO, container", container["cold"], local["cold"]),
                     timing_row(f"{mode}: warm run -> first output, local runsc", local["warm"], None),
                     timing_row(f"{mode}: warm run -> first output, container", container["warm"], local["warm"]),
                     memory_row(f"{mode}: idle sandbox PSS MiB, local runsc", local["pss"]),
                     memory_row(f"{mode}: idle sandbox PSS MiB, container (+ shim)", container["pss"]),
                     memory_row(f"{mode}: idle container cgroup MiB (docker stats)", container["cgroup"])]
    finally:
        host.stop()
    images = [[image, "", f"{engine.image_size(image) / 1024 ** 2:.0f} MiB", "", "", ""]
              for image in (engine.sandbox_image, engine.service_image)]
    print(table("Container path (Docker + runsc, as the jobspec says) beside the local runsc path; "
                "ms or MiB: median, p95, p99", rows + images, ["measure", "n", "median", "p95", "p99", "vs local"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="python,pygame")
    parser.add_argument("--colds", type=int, default=10, help="cold starts per mode and path")
    parser.add_argument("--warms", type=int, default=30, help="warm runs per mode and path")
    args = parser.parse_args()
    asyncio.run(main_async(args.modes.split(","), args.colds, args.warms))


if __name__ == "__main__":
    main()

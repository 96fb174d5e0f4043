"""How the container tests read the jobspec's task: nothing in its driver config is dropped on
the way to `docker run`, and the capabilities it keeps are the local sandboxes' own.  Pure:
no engine needed."""
from __future__ import annotations

from scheduler.bundle import AGENT_CAPABILITIES
from testkit.containers import TaskSpec, docker_run_args

# The Docker driver options docker_run_args turns into `docker run` options, and the two it
# deliberately replaces here (network_mode: network "none" plus published loopback ports).
UNDERSTOOD = {"image", "runtime", "ports", "args", "privileged", "cap_drop", "cap_add", "security_opt",
              "readonly_rootfs", "pids_limit", "ulimit", "mount", "user", "network_mode"}


def run_args(mode: str = "python") -> list:
    task = TaskSpec.load()
    return docker_run_args(task, "pyplay/sandbox:test", task.nomad_env(mode, "alloc-1", task.listen_ports()), "n")


def test_every_option_of_the_task_is_understood():
    assert set(TaskSpec.load().config) <= UNDERSTOOD, set(TaskSpec.load().config) - UNDERSTOOD


def test_the_container_keeps_only_the_agents_capabilities():
    args = run_args()
    assert "--cap-drop=ALL" in args
    kept = {arg.split("=", 1)[1].upper() for arg in args if arg.startswith("--cap-add=")}
    assert kept == {cap.removeprefix("CAP_") for cap in AGENT_CAPABILITIES}


def test_args_env_ports_and_limits_come_from_the_jobspec():
    args = run_args("pygame")
    image = args.index("pyplay/sandbox:test")
    options, agent = args[:image], args[image + 1:]
    assert agent[:8] == ["--listen", "tcp:0.0.0.0:7000", "--vnc-listen", "tcp:0.0.0.0:5900",
                         "--audio-listen", "tcp:0.0.0.0:5910", "--mode", "pygame"]
    assert options[options.index("--runtime") + 1] == "runsc"
    for option in ("--read-only", "--security-opt=no-new-privileges", "--ulimit=nofile=256:256",
                   "--memory=768m", "--memory-reservation=640m", "--cpu-shares=500",
                   "--tmpfs=/workspace:rw,nosuid,nodev,size=67108864",
                   "--tmpfs=/dev/shm:rw,nosuid,nodev,size=16777216"):
        assert option in options, option
    assert "HOME=/tmp" in options and "NOMAD_META_mode=pygame" in options


def test_the_sabotaged_task_keeps_to_loopback():
    task = TaskSpec.load().sabotaged()
    args = docker_run_args(task, "img", task.nomad_env("python", "a", task.listen_ports()), "n")
    assert not any("0.0.0.0" in arg for arg in args)
    assert args[args.index("--runtime") + 1] == "runc" and args[args.index("--uid") + 1] != "1000"

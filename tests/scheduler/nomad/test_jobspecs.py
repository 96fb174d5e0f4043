"""jobspecs/ parsed with python-hcl2: what matters for safety, operability and the scheduler."""
from __future__ import annotations

import re

import pytest

from sandbox.limits import Limits
from scheduler import bundle
from scheduler.nomad import ALLOC_TAG, NomadSettings
from tests.scheduler.nomad.hcl_files import (
    JOBSPECS,
    SANDBOX_JOBSPEC,
    blocks,
    heredoc_body,
    load,
    loads,
    only,
    render,
    variable_defaults,
)

MiB = 1024 * 1024
GVISOR_HOST_THREADS = 128     # an idle sandbox's runsc threads, measured 84-91, rounded up
SERVICE_JOBS = ("pyplay.nomad.hcl", "autoscaler.nomad.hcl")


def _job(path):
    document = load(path)
    (job_id, job), = blocks(document, "job")
    return document, job_id, job


def _tasks(job):
    return [(group_name, group, task_name, task)
            for group_name, group in blocks(job, "group")
            for task_name, task in blocks(group, "task")]


def _seconds(duration: str) -> int:
    amount, unit = re.fullmatch(r"(\d+)([smh])", duration).groups()
    return int(amount) * {"s": 1, "m": 60, "h": 3600}[unit]


def _image(document, config) -> str:
    env = {f"var.{name}": value for name, value in variable_defaults(document).items()}
    return render(config["image"], env)


def _assert_pinned(image: str) -> None:
    assert "${" not in image, f"unresolved image reference {image}"
    assert re.search(r"(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$", image), f"{image} has no tag or digest"
    assert not image.endswith(":latest"), f"{image} is not pinned"


# ---------------------------------------------------------------- the sandbox job

@pytest.fixture(scope="module")
def sandbox_job():
    document, job_id, job = _job(SANDBOX_JOBSPEC)
    ((_, group, _, task),) = _tasks(job)
    return document, job_id, job, group, task


def test_sandbox_job_is_a_parameterized_batch_job_with_mode_and_pool_meta(sandbox_job):
    _, job_id, job, _, _ = sandbox_job
    assert job_id == NomadSettings().job
    assert job["type"] == "batch"
    parameterized = only(job, "parameterized")
    assert parameterized["meta_required"] == ["mode"]
    assert {"pool", "owner"} <= set(parameterized["meta_optional"])
    assert parameterized["payload"] == "forbidden", "files go over the agent connection, not the payload"


def test_sandbox_runs_under_gvisor_unprivileged_with_a_pinned_image(sandbox_job):
    document, _, _, _, task = sandbox_job
    config = only(task, "config")
    assert task["driver"] == "docker"
    assert config["runtime"] == "runsc"
    assert config["privileged"] is False
    assert config["cap_drop"] == ["ALL"]
    assert config["readonly_rootfs"] is True
    assert "no-new-privileges" in config["security_opt"]
    _assert_pinned(_image(document, config))
    (validation,) = dict(blocks(document, "variable"))["image_tag"]["validation"]
    assert '"latest"' in validation["condition"]


def test_sandbox_has_pty_vnc_and_audio_ports_and_the_agent_listens_on_them(sandbox_job):
    _, _, _, group, task = sandbox_job
    ports = dict(blocks(only(group, "network"), "port"))
    assert set(ports) == {"pty", "vnc", "audio"}
    config = only(task, "config")
    assert set(config["ports"]) == {"pty", "vnc", "audio"}
    args = " ".join(config["args"])
    assert "--listen tcp:0.0.0.0:${NOMAD_PORT_pty}" in args
    assert "--vnc-listen tcp:0.0.0.0:${NOMAD_PORT_vnc}" in args
    assert "--audio-listen tcp:0.0.0.0:${NOMAD_PORT_audio}" in args
    assert "--mode ${NOMAD_META_mode}" in args


def test_sandbox_registers_the_consul_service_the_scheduler_looks_for(sandbox_job):
    _, _, _, _, task = sandbox_job
    service = only(task, "service")
    assert service["name"] == NomadSettings().service
    assert service["port"] == "pty"
    env = {"NOMAD_ALLOC_ID": "a-1", "NOMAD_HOST_PORT_vnc": "23456", "NOMAD_HOST_PORT_audio": "23457",
           "NOMAD_META_mode": "pygame"}
    assert ALLOC_TAG.format(alloc_id="a-1") in [render(tag, env) for tag in service["tags"]]
    assert render(only(service, "meta")["vnc_port"], env) == "23456"
    assert render(only(service, "meta")["audio_port"], env) == "23457"
    (check,) = service["check"]
    assert check["type"] in ("tcp", "http", "script") and check["port"] == "pty"
    assert _seconds(check["interval"]) <= 2 and _seconds(check["timeout"]) <= 2
    # On the pyplay-sandbox Docker network, "auto" advertises the container's address and
    # inner port (unroutable from the proxies): the host's address and port, checked there.
    assert only(task, "config")["network_mode"] not in ("bridge", "host")
    assert service["address_mode"] == "host" and check["address_mode"] == "host"


def test_sandbox_resources_and_limits_are_set(sandbox_job):
    _, _, _, group, task = sandbox_job
    resources = only(task, "resources")
    assert resources["cpu"] > 0
    assert resources["memory"] * MiB > Limits().memory_bytes, "room for the program, Xvnc and the agent"
    assert resources["memory_max"] >= resources["memory"]
    config = only(task, "config")
    # Docker's pids limit counts gVisor's own host threads too (measured idle, ptrace:
    # 84 python, 91 pygame) and a host thread per program thread: it must leave the
    # student's whole limit above gVisor's, or programs fail below their limit (issue 16).
    assert GVISOR_HOST_THREADS + 2 * Limits().processes <= config["pids_limit"] <= 1024
    tmpfs = {m["target"]: only(m, "tmpfs_options")["size"] for m in config["mount"] if m["type"] == "tmpfs"}
    assert tmpfs == {"/workspace": Limits().workspace_bytes, "/tmp": Limits().workspace_bytes,
                     "/dev/shm": 16 * MiB}


def test_the_agent_empties_tmpfs_scratch_folders_between_a_sessions_runs(sandbox_job):
    _, _, _, _, task = sandbox_job
    config = only(task, "config")
    args = config["args"]
    scratch = [args[i + 1] for i, arg in enumerate(args) if arg == "--scratch"]
    assert scratch == ["/tmp", "/dev/shm"] == list(bundle.SCRATCH), "the same folders as local sandboxes"
    tmpfs = {m["target"] for m in config["mount"] if m["type"] == "tmpfs"}
    assert set(scratch) <= tmpfs, "a scratch folder the agent empties must be a size-limited tmpfs"
    assert "--workspace" in args and args[args.index("--workspace") + 1] in tmpfs


def test_a_failed_sandbox_is_neither_restarted_nor_rescheduled(sandbox_job):
    _, _, _, group, _ = sandbox_job
    assert only(group, "restart")["attempts"] == 0
    reschedule = only(group, "reschedule")
    assert reschedule["attempts"] == 0 and reschedule["unlimited"] is False


def test_sandboxes_are_placed_only_on_sandbox_clients_with_runsc(sandbox_job):
    _, _, job, _, _ = sandbox_job
    constraints = {c["attribute"]: c for c in job["constraint"]}
    assert constraints["${node.class}"]["value"] == "sandbox"
    assert constraints["${attr.driver.docker.runtimes}"]["value"] == "runsc"


# ---------------------------------------------------------------- service jobs

@pytest.mark.parametrize("name", SERVICE_JOBS)
def test_service_jobs_have_count_update_and_health_checks(name):
    document, _, job = _job(JOBSPECS / name)
    assert job["type"] == "service"
    for group_name, group, task_name, task in _tasks(job):
        assert "count" in group, f"{group_name} has no count"
        update = only(group, "update")
        assert update["health_check"] == "checks" and update["auto_revert"] is True
        assert update["max_parallel"] >= 1
        for service in task["service"]:
            assert service["check"], f"{task_name}'s service {service.get('name')} has no check"
            for check in service["check"]:
                assert _seconds(check["interval"]) > 0 and _seconds(check["timeout"]) > 0
        config = only(task, "config")
        assert config.get("privileged", False) is False
        _assert_pinned(_image(document, config))


def test_the_control_service_runs_on_the_proxies_and_is_ready_checked():
    _, _, job = _job(JOBSPECS / "pyplay.nomad.hcl")
    assert {c["attribute"]: c["value"] for c in job["constraint"]}["${node.class}"] == "proxy"
    ((_, group, _, task),) = _tasks(job)
    env = only(task, "env")
    assert env["PYPLAY_SCHEDULER"] == "nomad"
    # A stable owner per allocation, which the other replicas can tell is gone (issue 16):
    # by name, a scaled-away index looked like nobody's and its sandboxes were never swept.
    assert env["PYPLAY_NOMAD_CONTROL_JOB"] == "${NOMAD_JOB_ID}"
    assert env["PYPLAY_NOMAD_OWNER"] == "${NOMAD_JOB_ID}/${NOMAD_ALLOC_ID}"
    public, internal = task["service"]
    assert {check["path"] for check in public["check"]} == {"/healthz", "/readyz"}
    (template,) = task["template"]
    assert "NOMAD_TOKEN=" in template["data"] and template["destination"].startswith("secrets/")


def test_every_replica_is_found_by_its_peers_through_consul():
    """A run's id names its replica (PYPLAY_REPLICA); any replica forwards a socket for it to
    that replica's internal port, which it finds as the Consul service with the replica's tag."""
    _, _, job = _job(JOBSPECS / "pyplay.nomad.hcl")
    ((_, group, _, task),) = _tasks(job)
    env = only(task, "env")
    internal_port = dict(blocks(only(group, "network"), "port"))["internal"]["static"]
    assert env["PYPLAY_ADMIN_PORT"] == str(internal_port) and env["PYPLAY_ADMIN_HOST"] == "0.0.0.0"
    assert env["PYPLAY_REPLICA"] == "${NOMAD_SHORT_ALLOC_ID}" and env["PYPLAY_PEER_DISCOVERY"] == "consul"
    (internal,) = [service for service in task["service"] if service["name"] == env["PYPLAY_PEER_SERVICE"]]
    assert internal["port"] == "internal" and internal["tags"] == ["replica:${NOMAD_SHORT_ALLOC_ID}"]
    assert "PYPLAY_ADMIN_TOKEN=" in only(task, "template")["data"]


def test_the_autoscaler_policy_scales_the_sandbox_clients_without_cutting_runs():
    _, _, job = _job(JOBSPECS / "autoscaler.nomad.hcl")
    ((_, group, _, task),) = _tasks(job)
    assert group["count"] == 1
    policy_template = next(t for t in task["template"] if t["destination"].endswith("sandbox-clients.hcl"))
    text = render(heredoc_body(policy_template["data"]),
                  {"var.min_clients": 1, "var.max_clients": 20, "var.client_asg_name": "pyplay-sandbox"})
    (name, scaling), = blocks(loads(text), "scaling")
    assert scaling["min"] <= scaling["max"]
    policy = only(scaling, "policy")
    target = dict(blocks(policy, "target"))["aws-asg"]
    assert target["node_class"] == "sandbox"
    assert _seconds(target["node_drain_deadline"]) > Limits().wall_seconds
    assert {check for check, _ in blocks(policy, "check")}


@pytest.mark.parametrize("path", sorted(JOBSPECS.glob("*.hcl")), ids=lambda p: p.name)
def test_every_jobspec_opens_with_instructions_an_operator_can_follow(path):
    text = path.read_text()
    head = text.split("\n\n", 1)[0]
    assert all(line.startswith("#") for line in head.splitlines()), "starts with a comment block"
    assert "nomad job run" in text
    document = load(path)
    for name, variable in blocks(document, "variable"):
        assert variable.get("description"), f"variable {name} has no description"
        assert variable.get("type"), f"variable {name} has no type"

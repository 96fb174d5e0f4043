"""terraform/ parsed with python-hcl2: the properties the design promises, checked in the files.

No terraform binary runs here (see test_live_nomad.py for what runs when one is on PATH);
these tests read the module like a reviewer would and fail when a promise is broken.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from typing import Any, Dict, List, Tuple

import pytest

from tests.scheduler.nomad.hcl_files import REPO, TERRAFORM, blocks, load, loads, render

MODULE = TERRAFORM / "modules" / "pyplay"
EXAMPLE = TERRAFORM / "examples" / "aws"
TEMPLATES = MODULE / "templates"
TERRAFORM_BIN = shutil.which("terraform")
# A local mirror of the hashicorp/aws provider (`terraform init -plugin-dir`): the registry
# is not reachable from the development and CI machines.
PLUGIN_DIR = os.environ.get("PYPLAY_TERRAFORM_PLUGIN_DIR", "")
needs_terraform = pytest.mark.skipif(TERRAFORM_BIN is None,
                                     reason="needs a `terraform` binary on PATH")


def _merged(folder) -> Dict[str, Any]:
    merged: Dict[str, Any] = {"variable": {}, "resource": {}, "output": {}, "locals": {}, "module": {},
                              "data": {}}
    for path in sorted(folder.glob("*.tf")):
        document = load(path)
        for kind in ("variable", "output", "module"):
            merged[kind].update(dict(blocks(document, kind)))
        for kind in ("resource", "data"):
            for type_name, named in blocks(document, kind):
                for name, body in named.items():
                    merged[kind][(type_name, name)] = body
        for entry in document.get("locals", []):
            merged["locals"].update(entry)
    return merged


@pytest.fixture(scope="module")
def module() -> Dict[str, Any]:
    return _merged(MODULE)


def _ingress_rules(module) -> List[Tuple[str, Dict[str, Any]]]:
    return [(name, body) for (kind, name), body in module["resource"].items()
            if kind == "aws_vpc_security_group_ingress_rule"]


def _embedded(template_text: str, marker: str) -> str:
    """The config file a user-data script writes with `cat > ... <<MARKER`."""
    match = re.search(rf"<<{marker}\n(.*?)\n{marker}\n", template_text, re.S)
    assert match, f"no <<{marker} heredoc"
    return match.group(1)


@pytest.mark.parametrize("folder", [MODULE, EXAMPLE], ids=["module", "example"])
def test_every_variable_is_typed_and_described_and_every_output_described(folder):
    merged = _merged(folder)
    assert merged["variable"]
    for name, variable in merged["variable"].items():
        assert variable.get("type"), f"variable {name} has no type"
        assert len(variable.get("description", "")) > 10, f"variable {name} has no description"
    for name, output in merged["output"].items():
        assert output.get("description"), f"output {name} has no description"


def test_the_example_sets_every_required_module_variable():
    module_variables = _merged(MODULE)["variable"]
    required = {name for name, v in module_variables.items() if "default" not in v}
    (call,) = _merged(EXAMPLE)["module"].values()
    assert call["source"] == "../../modules/pyplay"
    assert required <= set(call), f"missing: {required - set(call)}"


def test_three_servers_run_nomad_and_consul(module):
    assert module["variable"]["server_count"]["default"] == 3
    server = module["resource"][("aws_instance", "server")]
    assert server["count"] == "${var.server_count}"
    script = (TEMPLATES / "server.sh.tftpl").read_text()
    nomad = loads(render(_embedded(script, "NOMAD"), {"server_count": 3}).replace("$RETRY_JOIN", '"x"'))
    consul = loads(render(_embedded(script, "CONSUL"), {"server_count": 3}).replace("$RETRY_JOIN", '"x"'))
    assert nomad["server"][0]["enabled"] is True and nomad["server"][0]["bootstrap_expect"] == 3
    assert consul["server"] is True and consul["bootstrap_expect"] == 3
    assert nomad["acl"][0]["enabled"] is True


def test_load_balancer_keeps_idle_websockets_for_at_least_an_hour(module):
    variable = module["variable"]["lb_idle_timeout_seconds"]
    assert variable["default"] >= 3600
    (validation,) = variable["validation"]
    assert ">= 3600" in validation["condition"]
    lb = module["resource"][("aws_lb", "pyplay")]
    assert lb["load_balancer_type"] == "application"
    assert lb["idle_timeout"] == "${var.lb_idle_timeout_seconds}"

def test_the_balancer_and_autoscaling_group_judge_proxies_by_liveness_not_readiness(module):
    """The proxy group replaces instances the target group's check fails.  /readyz answers
    503 at capacity or while Nomad cannot be reached (a leader election), so checking it
    would replace busy proxies and drop every student's socket (issue 16 item 5)."""
    target_group = module["resource"][("aws_lb_target_group", "pyplay")]
    assert target_group["health_check"][0]["path"] == "/healthz"
    group = module["resource"][("aws_autoscaling_group", "proxy")]
    assert group["target_group_arns"] == ["${aws_lb_target_group.pyplay.arn}"]
    assert group["health_check_type"] == "ELB" and group["health_check_grace_period"] >= 60


def test_the_internet_reaches_only_what_students_need(module):
    """The ALB forwards the session, display and sound sockets and health; anything else
    (an operator API, if one were ever put on port 8000 again) gets the balancer's own 404."""
    listener = module["resource"][("aws_lb_listener", "https")]
    default = listener["default_action"][0]
    assert default["type"] == "fixed-response" and default["fixed_response"][0]["status_code"] == "404"
    rule = module["resource"][("aws_lb_listener_rule", "students")]
    assert rule["action"][0]["type"] == "forward"
    (condition,) = rule["condition"]
    assert condition["path_pattern"][0]["values"] == "${each.value.paths}"
    assert rule["for_each"] == "${local.student_path_groups}"
    groups = module["locals"]["student_path_groups"]
    paths = [path for group in groups.values() for path in group["paths"]]
    assert set(paths) == {"/", "/v1/session", "/v1/runs/*/vnc", "/v1/runs/*/audio", "/healthz", "/readyz"}
    assert not any(path.startswith(("/v1/runs/*", "/metrics")) and not path.endswith(("/vnc", "/audio"))
                   for path in paths)
    # AWS takes at most five values per path-pattern condition, and each rule its own priority.
    assert all(len(group["paths"]) <= 5 for group in groups.values())
    assert len({group["priority"] for group in groups.values()}) == len(groups)
    internal = module["resource"][("aws_vpc_security_group_ingress_rule", "proxy_from_proxy")]
    assert (internal["from_port"], internal["to_port"]) == (8001, 8001)
    assert internal["referenced_security_group_id"] == "${aws_security_group.proxy.id}", "replicas only"


def test_sandbox_clients_get_docker_and_gvisor_with_runsc_allowed():
    script = (TEMPLATES / "client.sh.tftpl").read_text()
    assert "runsc install" in script
    assert script.index("runsc install") < script.index("systemctl restart docker")
    config = _client_config(script, "sandbox")
    (plugin,) = config["plugin"]
    docker = plugin["docker"]["config"][0]
    assert "runsc" in docker["allow_runtimes"]
    assert docker["allow_privileged"] is False
    client = config["client"][0]
    assert (client["min_dynamic_port"], client["max_dynamic_port"]) == (20000, 32000)


def test_sandbox_containers_cannot_open_connections():
    script = (TEMPLATES / "client.sh.tftpl").read_text()
    assert "iptables -I DOCKER-USER -i br-pyplay -m conntrack --ctstate NEW -j DROP" in script
    assert "iptables -I INPUT -i br-pyplay -m conntrack --ctstate NEW -j DROP" in script
    assert "pyplay-sandbox" in script  # the Docker network jobspecs/sandbox.nomad.hcl uses


def test_only_proxies_reach_the_sandbox_ports(module):
    port_range = module["variable"]["sandbox_port_range"]["default"]
    low, high = port_range["from"], port_range["to"]
    sandbox_rules = [(n, r) for n, r in _ingress_rules(module)
                     if r["security_group_id"] == "${aws_security_group.sandbox.id}"]
    assert sandbox_rules, "the sandbox security group has no ingress rule"
    for name, rule in sandbox_rules:
        assert rule["referenced_security_group_id"] == "${aws_security_group.proxy.id}", name
        assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule and "prefix_list_id" not in rule, name
    (name, rule), = sandbox_rules
    assert (rule["from_port"], rule["to_port"]) == ("${var.sandbox_port_range.from}",
                                                    "${var.sandbox_port_range.to}")
    # The other group on sandbox clients (cluster traffic) must not open that range.
    cluster_rule = module["resource"][("aws_vpc_security_group_ingress_rule", "cluster")]
    assert cluster_rule["for_each"] == "${local.cluster_ports}"
    for port in module["locals"]["cluster_ports"].values():
        assert port["to"] < low or port["from"] > high, port
    for name, rule in _ingress_rules(module):
        if rule["security_group_id"] == "${aws_security_group.cluster.id}" and name != "cluster":
            assert isinstance(rule["from_port"], int), f"{name}: check its ports by hand"
            assert rule["to_port"] < low or rule["from_port"] > high, name
    sandbox_groups = module["locals"]["client_classes"]["sandbox"]["security_groups"]
    assert set(sandbox_groups) == {"${aws_security_group.sandbox.id}", "${aws_security_group.cluster.id}"}


def test_the_autoscaler_may_resize_only_the_sandbox_group(module):
    document = module["data"][("aws_iam_policy_document", "autoscaler")]
    statements = document["statement"]
    writes = [s for s in statements if "autoscaling:UpdateAutoScalingGroup" in s["actions"]]
    (write,) = writes
    assert write["resources"] == ["${aws_autoscaling_group.sandbox.arn}"]
    sandbox_group = module["resource"][("aws_autoscaling_group", "sandbox")]
    assert sandbox_group["lifecycle"][0]["ignore_changes"] == ["desired_capacity"], \
        "terraform apply must not undo the autoscaler's decisions"


def test_containers_on_sandbox_clients_cannot_reach_instance_credentials(module):
    classes = module["locals"]["client_classes"]
    assert classes["sandbox"]["imds_hops"] == 1
    template = module["resource"][("aws_launch_template", "client")]
    assert template["metadata_options"][0]["http_tokens"] == "required"


# ---------------------------------------------------------------- with the terraform binary

def _client_config(script: str, node_class: str) -> Dict[str, Any]:
    """The Nomad config a client's user data writes, with the module's values for its class."""
    classes = _merged(MODULE)["locals"]["client_classes"]
    values = {"node_class": node_class, "port_from": 20000, "port_to": 32000,
              "reserved_cpu": classes[node_class]["reserved_cpu"],
              "reserved_memory": classes[node_class]["reserved_memory"]}
    return loads(render(_embedded(script, "NOMAD"), values).replace("$RETRY_JOIN", '"x"'))


def _seconds(duration: str) -> int:
    amount, unit = re.fullmatch(r"(\d+)([smh])", duration).groups()
    return int(amount) * {"s": 1, "m": 60, "h": 3600}[unit]


@pytest.mark.parametrize("node_class", ["proxy", "sandbox"])
def test_every_jobs_kill_timeout_is_within_the_clients_max_kill_timeout(node_class):
    """Nomad caps kill_timeout at the client's max_kill_timeout (30s by default): the
    control service's 60s drain would silently be 30s (issue 16 item 8)."""
    client = _client_config((TEMPLATES / "client.sh.tftpl").read_text(), node_class)["client"][0]
    limit = _seconds(client["max_kill_timeout"])
    for path in sorted((REPO / "jobspecs").glob("*.hcl")):
        for timeout in re.findall(r'kill_timeout\s*=\s*"(\w+)"', path.read_text()):
            assert _seconds(timeout) <= limit, f"{path.name}: kill_timeout {timeout} > {limit}s"


@pytest.mark.parametrize("node_class", ["proxy", "sandbox"])
def test_clients_reserve_room_for_the_host_under_memory_oversubscription(node_class):
    server = loads(render(_embedded((TEMPLATES / "server.sh.tftpl").read_text(), "NOMAD"), {"server_count": 3})
                   .replace("$RETRY_JOIN", '"x"'))
    assert server["server"][0]["default_scheduler_config"][0]["memory_oversubscription_enabled"] is True
    client = _client_config((TEMPLATES / "client.sh.tftpl").read_text(), node_class)["client"][0]
    reserved = client["reserved"][0]
    assert reserved["memory"] >= 512 and reserved["cpu"] >= 200


def test_autoscaled_clients_get_their_consul_tokens_with_no_hand_step(module):
    """Consul's ACLs deny by default: a client with no agent token cannot register, and
    Nomad with no Consul token cannot register a sandbox's service (issue 16 item 4).
    Each client reads both from the cluster's secret with its own role, before Consul and
    Nomad start; only the clients' roles may read it, and only that secret."""
    script = (TEMPLATES / "client.sh.tftpl").read_text()
    fetch = script[script.index("cat > /usr/local/sbin/pyplay-node-tokens"):]
    assert 'aws secretsmanager get-secret-value --region "${region}" --secret-id "${tokens_secret}"' in fetch
    assert "/etc/consul.d/tokens.hcl" in fetch and "/etc/nomad.d/consul-token.hcl" in fetch
    assert "for agent in consul nomad; do" in script and "/etc/systemd/system/$agent.service.d/" in script
    assert "Requires=pyplay-node-tokens.service" in script and "Before=consul.service nomad.service" in script
    written = re.search(r"printf '(acl .*?)' ", script).group(1).replace("\\n", "\n").replace("%s", "t")
    assert loads(written)["acl"][0]["tokens"][0] == {"agent": "t", "default": "t"}
    template = module["resource"][("aws_launch_template", "client")]
    assert "tokens_secret   = aws_secretsmanager_secret.client_tokens.arn" in \
        (MODULE / "clients.tf").read_text(), template["user_data"]
    policy = module["data"][("aws_iam_policy_document", "client_tokens")]["statement"][0]
    assert policy["actions"] == ["secretsmanager:GetSecretValue"]
    assert policy["resources"] == ["${aws_secretsmanager_secret.client_tokens.arn}"]
    grant = module["resource"][("aws_iam_role_policy", "client_tokens")]
    assert grant["for_each"] == '${toset(["proxy", "sandbox"])}'
    assert "client_tokens_secret_arn" in _merged(MODULE)["output"]


def _terraform(*args: str, cwd, stdin: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_CLI_CONFIG_FILE=os.devnull)
    return subprocess.run([TERRAFORM_BIN, *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                          timeout=120, env=env)


def _render_user_data(tmp_path, template: str, **variables: Any) -> str:
    """The user data terraform would hand to EC2, rendered by terraform itself."""
    install = (f'templatefile({json.dumps(str(TEMPLATES / "install.sh.tftpl"))}, '
               '{nomad_version = "1.7.7", consul_version = "1.18.1", '
               'join_tag_key = "pyplay-server", join_tag_value = "pyplay"})')
    fields = ", ".join([f"install = {install}"] + [f"{k} = {json.dumps(v)}" for k, v in variables.items()])
    expression = f"base64encode(templatefile({json.dumps(str(TEMPLATES / template))}, {{{fields}}}))"
    result = _terraform("console", cwd=tmp_path, stdin=expression + "\n")
    assert result.returncode == 0, result.stderr
    return base64.b64decode(result.stdout.strip().strip('"')).decode()


@needs_terraform
def test_terraform_files_are_formatted():
    result = _terraform("fmt", "-check", "-recursive", str(TERRAFORM), cwd=TERRAFORM)
    assert result.returncode == 0, f"terraform fmt would change: {result.stdout}"


@needs_terraform
@pytest.mark.parametrize("template, variables", [
    ("server.sh.tftpl", {"server_count": 3}),
    ("client.sh.tftpl", {"node_class": "sandbox", "port_from": 20000, "port_to": 32000, "reserved_cpu": 500,
                         "reserved_memory": 1024, "tokens_secret": "arn:secret", "region": "eu-central-1"}),
    ("client.sh.tftpl", {"node_class": "proxy", "port_from": 20000, "port_to": 32000, "reserved_cpu": 200,
                         "reserved_memory": 512, "tokens_secret": "arn:secret", "region": "eu-central-1"}),
])
def test_user_data_renders_to_valid_bash_writing_valid_nomad_config(tmp_path, template, variables):
    script = _render_user_data(tmp_path, template, name="pyplay", **variables)

    syntax = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    retry_join = re.search(r"RETRY_JOIN='(.*)'", script).group(1)
    nomad = loads(_embedded(script, "NOMAD").replace("$RETRY_JOIN", retry_join))
    assert nomad["datacenter"] == "dc1"
    if variables.get("node_class") == "sandbox":
        assert re.search(r"^runsc install$", script, re.M) and "pyplay-sandbox-firewall" in script
        assert nomad["client"][0]["node_class"] == "sandbox"
    elif "node_class" in variables:
        assert not re.search(r"^runsc install$", script, re.M), "gVisor only where sandboxes run"


@needs_terraform
@pytest.mark.skipif(not PLUGIN_DIR, reason="needs PYPLAY_TERRAFORM_PLUGIN_DIR: a local mirror of the "
                    "hashicorp/aws provider for `terraform init -plugin-dir` (the registry is unreachable)")
def test_the_example_and_module_pass_terraform_validate(tmp_path):
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy)
    example = copy / "examples" / "aws"
    init = _terraform("init", "-backend=false", "-input=false", f"-plugin-dir={PLUGIN_DIR}", cwd=example)
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _terraform("validate", "-json", cwd=example)
    report = json.loads(validate.stdout)
    assert report["valid"], report["diagnostics"]
    assert report["warning_count"] == 0, report["diagnostics"]

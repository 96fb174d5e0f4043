"""A fake Consul: only ``GET /v1/health/service/<name>`` (the one call scheduler/nomad/consul.py makes).

There is no published OpenAPI spec for Consul here, so this fake is deliberately minimal
and strict about its one endpoint instead: any other path, method or query parameter is
a recorded violation (HTTP 400), and the answer has the shape Consul documents for
/v1/health/service (Node, Service, Checks).  Registrations are made by the fake
cluster, in-process, the way Nomad's Consul integration would make them.
"""
from __future__ import annotations

import dataclasses
import threading
import time
import urllib.parse
from typing import Any, Dict, List, Mapping, Tuple

from tests.scheduler.nomad.fake_http import FakeHTTPServer, Reply

SERVICE_PATH = "/v1/health/service/"
ALLOWED_QUERY = frozenset({"tag", "passing", "dc", "stale"})


@dataclasses.dataclass
class Registration:
    service_id: str
    service: str
    address: str
    port: int
    tags: Tuple[str, ...]
    meta: Dict[str, str]
    status: str                       # what the check settles on
    passing_at: float = 0.0           # monotonic: a check is critical until its first pass
    node_healthy: bool = True         # Serf: false once the node stopped answering

    def current_status(self) -> str:
        if not self.node_healthy:
            return "critical"
        if self.status == "passing" and time.monotonic() < self.passing_at:
            return "critical"
        return self.status


class FakeConsul:
    def __init__(self, token: str = "") -> None:
        self.token = token
        self.violations: List[str] = []
        self.requests: List[str] = []
        self._registrations: Dict[str, Registration] = {}
        self._lock = threading.Lock()
        self._http = FakeHTTPServer(self, "consul")
        self.address = ""

    def start(self) -> str:
        self.address = self._http.start()
        return self.address

    def stop(self) -> None:
        self._http.stop()

    # ------------------------------------------------------------------ what Nomad would do

    def register(self, registration: Registration) -> None:
        with self._lock:
            self._registrations[registration.service_id] = registration

    def node_failed(self, service_id: str) -> None:
        """The node's Serf health fails: its services stay registered, but critical."""
        with self._lock:
            registration = self._registrations.get(service_id)
            if registration is not None:
                registration.node_healthy = False

    def deregister(self, service_id: str) -> None:
        with self._lock:
            self._registrations.pop(service_id, None)

    def registrations(self) -> List[Registration]:
        with self._lock:
            return list(self._registrations.values())

    # ------------------------------------------------------------------ HTTP

    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        self.requests.append(f"{method} {target}")
        path, _, raw_query = target.partition("?")
        query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        problem = self._problem(method, path, query, body)
        if problem:
            self.violations.append(problem)
            return Reply.text(400, problem)
        if self.token and headers.get("X-Consul-Token") != self.token:
            return Reply.text(403, "ACL not found")
        service = urllib.parse.unquote(path[len(SERVICE_PATH):])
        return Reply.json(200, self._entries(service, query), **{"X-Consul-Index": "1"})

    def _problem(self, method: str, path: str, query: Dict[str, List[str]], body: bytes) -> str:
        if method != "GET" or not path.startswith(SERVICE_PATH) or "/" in path[len(SERVICE_PATH):]:
            return f"fake Consul implements only GET {SERVICE_PATH}<service>, got {method} {path}"
        unknown = sorted(set(query) - ALLOWED_QUERY)
        if unknown:
            return f"query parameters the fake Consul does not know: {unknown}"
        if body:
            return "GET /v1/health/service takes no body"
        return ""

    def _entries(self, service: str, query: Dict[str, List[str]]) -> List[Dict[str, Any]]:
        wanted_tags = set(query.get("tag", []))
        only_passing = "passing" in query
        entries = []
        for registration in self.registrations():
            if registration.service != service or not wanted_tags <= set(registration.tags):
                continue
            if only_passing and registration.current_status() != "passing":
                continue
            entries.append(_entry(registration))
        return entries


def _entry(registration: Registration) -> Dict[str, Any]:
    node = {"ID": "fake-node-id", "Node": "fake-node", "Address": "127.0.0.1", "Datacenter": "dc1"}
    serf = "passing" if registration.node_healthy else "critical"
    return {
        "Node": node,
        "Service": {"ID": registration.service_id, "Service": registration.service,
                    "Tags": list(registration.tags), "Address": registration.address,
                    "Meta": dict(registration.meta), "Port": registration.port},
        "Checks": [
            {"Node": "fake-node", "CheckID": "serfHealth", "Name": "Serf Health Status",
             "Status": serf, "ServiceID": "", "ServiceName": ""},
            {"Node": "fake-node", "CheckID": f"_nomad-check-{registration.service_id}",
             "Name": "agent accepts connections", "Status": registration.current_status(),
             "ServiceID": registration.service_id, "ServiceName": registration.service},
        ],
    }

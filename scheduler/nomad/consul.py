"""A small Consul HTTP client: the health of one service's instances.

The Nomad scheduler needs one question answered: "is the sandbox of allocation X registered
and are its checks passing, and at which address?"  That is one endpoint,
``GET /v1/health/service/<service>?tag=<tag>``; a full Consul client would be dead weight.
It is a ``stale`` read (any Consul server answers, not only the leader): a start asks
it every poll until the check passes, and a check's state lags by its interval anyway.
Calls block (requests); scheduler/nomad/cluster.py runs them on a bounded executor.
"""
from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import requests

from scheduler.errors import ConsulError

# Worst first: an instance is as healthy as its least healthy check.
_SEVERITY = {"critical": 3, "maintenance": 3, "warning": 2, "passing": 1}


@dataclasses.dataclass(frozen=True)
class ServiceInstance:
    service_id: str
    address: str
    port: int
    status: str                       # passing | warning | critical
    tags: Tuple[str, ...] = ()
    meta: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def passing(self) -> bool:
        return self.status == "passing"

    def endpoint(self, port: Optional[int] = None) -> Tuple[str, str]:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return ("tcp", f"{host}:{self.port if port is None else port}")


def consul_base_url(address: str, use_tls: bool = False) -> str:
    """CONSUL_HTTP_ADDR may be ``host:port`` or a URL; Consul's CLI reads it the same way."""
    if "://" in address:
        return address.rstrip("/")
    return f"{'https' if use_tls else 'http'}://{address.rstrip('/')}"


class ConsulClient:
    def __init__(self, *, address: str, token: str = "", verify: Union[bool, str] = True,
                 cert: Tuple[str, ...] = (), timeout: float = 10.0) -> None:
        self._base = consul_base_url(address)
        self._timeout = timeout
        self._session = requests.Session()
        self._session.verify = verify
        if len(cert) == 2:
            self._session.cert = (cert[0], cert[1])
        if token:
            self._session.headers["X-Consul-Token"] = token

    def close(self) -> None:
        self._session.close()

    def instances(self, service: str, tag: str) -> List[ServiceInstance]:
        """Every registered instance of ``service`` carrying ``tag``, healthy or not."""
        url = f"{self._base}/v1/health/service/{urllib.parse.quote(service, safe='')}"
        try:
            response = self._session.get(url, params={"tag": tag, "stale": ""}, timeout=self._timeout)
        except requests.RequestException as error:
            raise ConsulError(f"Consul did not answer: {error}", transient=True) from None
        if response.status_code != 200:
            raise ConsulError(f"Consul answered {response.status_code}: {response.text.strip()[:300]}",
                              status=response.status_code)
        return [_instance(entry) for entry in response.json()]


def _instance(entry: Dict[str, Any]) -> ServiceInstance:
    service = entry.get("Service") or {}
    node = entry.get("Node") or {}
    # No checks at all is not "healthy": the sandbox job always registers one.
    checks = entry.get("Checks") or []
    status = max((check.get("Status", "critical") for check in checks),
                 key=lambda s: _SEVERITY.get(s, 3), default="critical")
    return ServiceInstance(
        service_id=str(service.get("ID", "")),
        address=str(service.get("Address") or node.get("Address") or ""),
        port=int(service.get("Port", 0)),
        status=status,
        tags=tuple(service.get("Tags") or ()),
        meta=dict(service.get("Meta") or {}))

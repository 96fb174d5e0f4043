"""The few Nomad HTTP calls the Nomad scheduler makes, as typed blocking functions.

A thin layer over python-nomad.  It exists because two of python-nomad's helpers do not
send what Nomad reads, and the fake Nomad (validated against Nomad's OpenAPI spec) caught
both:

* ``dispatch_job`` puts ``idempotency_token`` in the JSON body, where Nomad ignores it
  (the server reads ``?idempotency_token=`` from the query string), and sends
  ``"Payload": null``, which the spec does not allow.
* job IDs go into the URL unescaped, but a dispatched job's ID contains ``/``
  (``pyplay-sandbox/dispatch-1700000000-0a1b2c3d``); Nomad's own Go client path-escapes it.

Reads that the scheduler repeats (allocations, nodes, children) are ``stale`` reads: any
server answers them, not only the leader, and a start waits for its allocation with a
blocking query (``index`` + ``wait``) instead of polling the leader.

Every call here blocks (requests); scheduler/nomad/cluster.py runs them on a bounded executor.
"""
from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Any, Dict, List, Optional, Set, Tuple, Union

import nomad
import nomad.api.exceptions as nomad_errors
import requests

from scheduler.errors import ClusterAPIError

# Nomad 1.7's ClientStatus values; "unknown" is a disconnected client's allocation
# (max_client_disconnect), which may come back, but not soon enough for a student.
TERMINAL_ALLOC_STATES = frozenset({"failed", "lost", "complete", "unknown"})
STALE = {"stale": "true"}


@dataclasses.dataclass(frozen=True)
class AllocationState:
    id: str
    status: str              # Nomad's ClientStatus: pending, running, complete, failed, lost, unknown
    desired: str             # DesiredStatus: run, stop, evict
    create_index: int
    why: str                 # the last task event or client description, for logs
    node_id: str = ""

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_ALLOC_STATES or self.desired in ("stop", "evict")


@dataclasses.dataclass(frozen=True)
class ChildJob:
    id: str
    status: str              # pending, running, dead
    submitted_ns: int = 0    # SubmitTime, nanoseconds since the epoch


@dataclasses.dataclass(frozen=True)
class NodeState:
    id: str
    status: str              # initializing, ready, down, disconnected
    eligible: bool           # SchedulingEligibility == "eligible"
    draining: bool           # a drain strategy is set (a drain, or the autoscaler's scale-in)

    @property
    def leaving(self) -> str:
        """Why sandboxes on this node must not be handed out, or ""."""
        if self.draining:
            return "its node is draining"
        if not self.eligible:
            return "its node is ineligible for scheduling (scale-in)"
        if self.status != "ready":
            return f"its node is {self.status}"
        return ""


def path_id(job_id: str) -> str:
    """A job ID as one URL path segment (dispatched IDs contain '/')."""
    return urllib.parse.quote(job_id, safe="")


class NomadAPI:
    def __init__(self, *, address: str, token: str = "", namespace: str = "", region: str = "",
                 verify: Union[bool, str] = True, cert: Tuple[str, ...] = (),
                 timeout: float = 10.0) -> None:
        self._session = requests.Session()
        self._timeout = timeout
        self._client = nomad.Nomad(
            address=address.rstrip("/"), token=token or None, namespace=namespace or None,
            region=region or None, verify=verify, cert=cert, timeout=timeout,
            session=self._session)

    def close(self) -> None:
        self._session.close()

    def dispatch(self, job: str, meta: Dict[str, str], idempotency_token: str) -> str:
        """Dispatch ``job`` and return the child's ID.  Same token, same child."""
        body = {"JobID": job, "Meta": meta}
        reply = self._json(self._client.job.request, path_id(job), "dispatch", method="post",
                           json=body, params={"idempotency_token": idempotency_token})
        return str(reply["DispatchedJobID"])

    def parent_problem(self, job: str) -> Optional[str]:
        """Why ``job`` cannot be dispatched, or None when it can."""
        try:
            reply = self._json(self._client.job.get_job, path_id(job))
        except ClusterAPIError as error:
            if error.status == 404:
                return f"Nomad job {job!r} is not registered (nomad job run jobspecs/sandbox.nomad.hcl)"
            raise
        if not reply.get("ParameterizedJob"):
            return f"Nomad job {job!r} is not a parameterized job"
        if reply.get("Stop"):
            return f"Nomad job {job!r} is stopped"
        return None

    def allocations(self, job_id: str, index: int = 0, wait_seconds: float = 0.0
                    ) -> Tuple[List[AllocationState], int]:
        """The job's allocations (oldest first) and the index they are at.  With ``index``,
        a blocking query: Nomad answers once something changed past it or after the wait."""
        params: Dict[str, str] = dict(STALE)
        if index:
            params.update(index=str(index), wait=f"{max(1, int(wait_seconds * 1000))}ms")
        response = self._response(self._client.job.request, path_id(job_id), "allocations",
                                  method="get", params=params, timeout=self._timeout + wait_seconds)
        allocations = sorted((_allocation(stub) for stub in response.json()), key=lambda a: a.create_index)
        return allocations, int(response.headers.get("X-Nomad-Index") or 0)

    def node(self, node_id: str) -> NodeState:
        """Where a sandbox lives: draining, ineligible (scale-in) or down."""
        reply = self._json(self._client.node.request, path_id(node_id), method="get", params=dict(STALE))
        return NodeState(id=node_id, status=str(reply.get("Status", "")),
                         eligible=reply.get("SchedulingEligibility", "eligible") == "eligible",
                         draining=bool(reply.get("DrainStrategy")) or bool(reply.get("Drain")))

    def running_allocations(self, job: str) -> Optional[Set[str]]:
        """IDs of the job's allocations still pending or running (a stopping one that is
        still draining its runs counts), or None when the job does not exist."""
        try:
            reply = self._json(self._client.job.request, path_id(job), "allocations", method="get",
                               params=dict(STALE))
        except ClusterAPIError as error:
            if error.status == 404:
                return None
            raise
        return {str(stub.get("ID")) for stub in reply if stub.get("ClientStatus") in ("pending", "running")}

    def job_meta(self, job_id: str) -> Optional[Dict[str, str]]:
        """The job's meta, or None when the job no longer exists."""
        try:
            reply = self._json(self._client.job.request, path_id(job_id), method="get", params=dict(STALE))
        except ClusterAPIError as error:
            if error.status == 404:
                return None
            raise
        return dict(reply.get("Meta") or {})

    def children(self, job: str) -> List[ChildJob]:
        """Dispatched children of the parameterized ``job``, whatever their state."""
        reply = self._json(self._client.jobs.request, method="get",
                           params={"prefix": f"{job}/dispatch-", **STALE})
        return [ChildJob(stub["ID"], stub.get("Status", ""), int(stub.get("SubmitTime") or 0)) for stub in reply
                if stub.get("ParentID") == job]

    def purge(self, job_id: str) -> None:
        """Stop the job and remove it from Nomad's state at once.  Gone already is fine."""
        try:
            # "true", not True: requests would send "True"; the spec's boolean is "true".
            self._json(self._client.job.deregister_job, path_id(job_id), purge="true")
        except ClusterAPIError as error:
            if error.status != 404:
                raise

    @classmethod
    def _json(cls, call: Any, *args: Any, **kwargs: Any) -> Any:
        response = cls._call(call, *args, **kwargs)
        return response.json() if isinstance(response, requests.Response) else response

    @classmethod
    def _response(cls, call: Any, *args: Any, **kwargs: Any) -> requests.Response:
        response = cls._call(call, *args, **kwargs)
        if not isinstance(response, requests.Response):
            raise ClusterAPIError(f"Nomad answered {type(response).__name__}, not a response")
        return response

    @staticmethod
    def _call(call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except nomad_errors.BaseNomadException as error:
            raise _cluster_error(error) from None
        except requests.RequestException as error:
            raise ClusterAPIError(f"Nomad did not answer: {error}", transient=True) from None


def _cluster_error(error: nomad_errors.BaseNomadException) -> ClusterAPIError:
    answer = error.nomad_resp
    if isinstance(answer, requests.Response):
        text = answer.text.strip()[:300]
        return ClusterAPIError(f"Nomad answered {answer.status_code}: {text}", status=answer.status_code)
    return ClusterAPIError(f"Nomad did not answer: {answer}", transient=True)


def _allocation(stub: Dict[str, Any]) -> AllocationState:
    return AllocationState(
        id=stub["ID"], status=stub.get("ClientStatus", ""), desired=stub.get("DesiredStatus", ""),
        create_index=int(stub.get("CreateIndex", 0)), why=_why(stub), node_id=str(stub.get("NodeID", "")))


def _why(stub: Dict[str, Any]) -> str:
    """The most telling line about an allocation: its last task event, else the client's note."""
    events = [event for state in (stub.get("TaskStates") or {}).values()
              for event in (state.get("Events") or [])]
    if events:
        last = max(events, key=lambda event: event.get("Time", 0))
        return f"{last.get('Type', '')}: {last.get('DisplayMessage', '')}".strip(": ")
    return str(stub.get("ClientDescription", ""))

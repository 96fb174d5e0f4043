"""The few Nomad HTTP calls the Nomad scheduler makes, as typed blocking functions.

A thin layer over python-nomad.  It exists because two of python-nomad's helpers do not
send what Nomad reads, and the fake Nomad (validated against Nomad's OpenAPI spec) caught
both:

* ``dispatch_job`` puts ``idempotency_token`` in the JSON body, where Nomad ignores it
  (the server reads ``?idempotency_token=`` from the query string), and sends
  ``"Payload": null``, which the spec does not allow.
* job IDs go into the URL unescaped, but a dispatched job's ID contains ``/``
  (``pyplay-sandbox/dispatch-1700000000-0a1b2c3d``); Nomad's own Go client path-escapes it.

Every call here blocks (requests); scheduler/nomad/cluster.py runs them on a bounded executor.
"""
from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple, Union

import nomad
import nomad.api.exceptions as nomad_errors
import requests

from scheduler.errors import ClusterAPIError

TERMINAL_ALLOC_STATES = frozenset({"failed", "lost", "complete"})


@dataclasses.dataclass(frozen=True)
class AllocationState:
    id: str
    status: str              # Nomad's ClientStatus: pending, running, failed, lost, complete
    desired: str             # DesiredStatus: run, stop, evict
    create_index: int
    why: str                 # the last task event or client description, for logs

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_ALLOC_STATES or self.desired in ("stop", "evict")


@dataclasses.dataclass(frozen=True)
class ChildJob:
    id: str
    status: str              # pending, running, dead


def path_id(job_id: str) -> str:
    """A job ID as one URL path segment (dispatched IDs contain '/')."""
    return urllib.parse.quote(job_id, safe="")


class NomadAPI:
    def __init__(self, *, address: str, token: str = "", namespace: str = "", region: str = "",
                 verify: Union[bool, str] = True, cert: Tuple[str, ...] = (),
                 timeout: float = 10.0) -> None:
        self._session = requests.Session()
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

    def allocations(self, job_id: str) -> List[AllocationState]:
        reply = self._json(self._client.job.get_allocations, path_id(job_id))
        return sorted((_allocation(stub) for stub in reply), key=lambda a: a.create_index)

    def migrating(self, alloc_id: str) -> bool:
        """True when Nomad wants the allocation off its node: the node is being drained."""
        reply = self._json(self._client.allocation.get_allocation, path_id(alloc_id))
        return bool((reply.get("DesiredTransition") or {}).get("Migrate"))

    def job_meta(self, job_id: str) -> Optional[Dict[str, str]]:
        """The job's meta, or None when the job no longer exists."""
        try:
            reply = self._json(self._client.job.get_job, path_id(job_id))
        except ClusterAPIError as error:
            if error.status == 404:
                return None
            raise
        return dict(reply.get("Meta") or {})

    def children(self, job: str) -> List[ChildJob]:
        """Dispatched children of the parameterized ``job``, whatever their state."""
        reply = self._json(self._client.jobs.get_jobs, prefix=f"{job}/dispatch-")
        return [ChildJob(stub["ID"], stub.get("Status", "")) for stub in reply
                if stub.get("ParentID") == job]

    def purge(self, job_id: str) -> None:
        """Stop the job and remove it from Nomad's state at once.  Gone already is fine."""
        try:
            # "true", not True: requests would send "True"; the spec's boolean is "true".
            self._json(self._client.job.deregister_job, path_id(job_id), purge="true")
        except ClusterAPIError as error:
            if error.status != 404:
                raise

    @staticmethod
    def _json(call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            response = call(*args, **kwargs)
        except nomad_errors.BaseNomadException as error:
            raise _cluster_error(error) from None
        except requests.RequestException as error:
            raise ClusterAPIError(f"Nomad did not answer: {error}", transient=True) from None
        return response.json() if isinstance(response, requests.Response) else response


def _cluster_error(error: nomad_errors.BaseNomadException) -> ClusterAPIError:
    answer = error.nomad_resp
    if isinstance(answer, requests.Response):
        text = answer.text.strip()[:300]
        return ClusterAPIError(f"Nomad answered {answer.status_code}: {text}", status=answer.status_code)
    return ClusterAPIError(f"Nomad did not answer: {answer}", transient=True)


def _allocation(stub: Dict[str, Any]) -> AllocationState:
    return AllocationState(
        id=stub["ID"], status=stub.get("ClientStatus", ""), desired=stub.get("DesiredStatus", ""),
        create_index=int(stub.get("CreateIndex", 0)), why=_why(stub))


def _why(stub: Dict[str, Any]) -> str:
    """The most telling line about an allocation: its last task event, else the client's note."""
    events = [event for state in (stub.get("TaskStates") or {}).values()
              for event in (state.get("Events") or [])]
    if events:
        last = max(events, key=lambda event: event.get("Time", 0))
        return f"{last.get('Type', '')}: {last.get('DisplayMessage', '')}".strip(": ")
    return str(stub.get("ClientDescription", ""))

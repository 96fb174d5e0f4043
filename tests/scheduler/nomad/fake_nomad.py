"""A fake Nomad HTTP API, validated against Nomad's published OpenAPI spec.

In-process, on 127.0.0.1.  Every request goes through ``NomadSpec.check_request`` and
every answer through ``check_response``; what the spec does not allow is answered with
HTTP 400 (or 500 for the fake's own bad answers) and recorded in ``violations``, which
the test fixtures assert empty.  Behind the spec it keeps the state a real server would
for parameterized jobs: dispatch (meta_required/meta_optional, forbidden payload,
idempotency tokens, as nomad/job_endpoint.go does), dispatched children and their
allocations, stop and purge.

Allocations follow a script set by the test, one outcome per dispatch (``outcomes``):

  run        pending, then running; the cluster starts a fake sandbox and registers it in
             Consul with passing health
  fail       pending, then failed (the task exited)
  hold       pending until ``gate`` is set, then like run
  unhealthy  running, but its Consul check stays critical
  silent     running and healthy, but the sandbox never says HELLO
  unplaced   no allocation at all (no client with room)
"""
from __future__ import annotations

import collections
import dataclasses
import threading
import time
import uuid
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional

from tests.scheduler.nomad.fake_http import FakeHTTPServer, Reply
from tests.scheduler.nomad.openapi_spec import CheckedRequest, NomadSpec, SpecViolation

RUN, FAIL, HOLD, UNHEALTHY, SILENT, UNPLACED = "run", "fail", "hold", "unhealthy", "silent", "unplaced"
OUTCOMES = frozenset({RUN, FAIL, HOLD, UNHEALTHY, SILENT, UNPLACED})


@dataclasses.dataclass
class FakeAllocation:
    id: str
    job_id: str
    mode: str
    outcome: str
    created: float
    create_index: int
    status: str = "pending"
    desired: str = "run"
    migrate: bool = False                 # set by a node drain
    events: List[Dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ParentJob:
    id: str
    type: str
    priority: int
    datacenters: List[str]
    payload: str
    meta_required: List[str]
    meta_optional: List[str]


class FakeNomad:
    def __init__(self, spec: NomadSpec, parent: ParentJob, *, token: str = "",
                 on_running: Callable[[FakeAllocation], None] = lambda alloc: None,
                 on_stopped: Callable[[FakeAllocation], None] = lambda alloc: None) -> None:
        self.spec = spec
        self.token = token
        self.on_running = on_running
        self.on_stopped = on_stopped
        # Knobs for tests.
        self.outcomes: Deque[str] = collections.deque()
        self.default_outcome = RUN
        self.gate = threading.Event()
        self.pending_seconds = 0.05
        self.latency_seconds = 0.0
        self.drop_dispatch_responses = 0
        # What happened.
        self.violations: List[str] = []
        self.rejections: List[str] = []
        self.requests: List[str] = []
        self.dispatched: List[str] = []
        self.purged: List[str] = []
        self._jobs: Dict[str, Dict[str, Any]] = {}
        self._allocations: Dict[str, FakeAllocation] = {}
        self._index = 100
        self._lock = threading.RLock()
        self._http = FakeHTTPServer(self, "nomad")
        self.address = ""
        self._jobs[parent.id] = self._parent_json(parent)

    def start(self) -> str:
        self.address = self._http.start()
        return self.address

    def stop(self) -> None:
        self._http.stop()

    # ------------------------------------------------------------------ test helpers

    def children(self) -> List[str]:
        with self._lock:
            return [job_id for job_id, job in self._jobs.items() if job.get("Dispatched")]

    def job(self, job_id: str) -> Optional[Dict[str, Any]]:
        with self._lock:
            return self._jobs.get(job_id)

    def allocations_of(self, job_id: str) -> List[FakeAllocation]:
        with self._lock:
            return [a for a in self._allocations.values() if a.job_id == job_id]

    def drain(self) -> None:
        """Drain the (one) node: Nomad marks its allocations for migration."""
        with self._lock:
            for allocation in self._allocations.values():
                allocation.migrate = True

    def dispatch_directly(self, meta: Dict[str, str], outcome: str = RUN) -> str:
        """A child made "before the test", e.g. by a control service that since crashed."""
        with self._lock:
            self.outcomes.appendleft(outcome)
            return self._new_child(self._parent_id(), meta, token="")

    # ------------------------------------------------------------------ HTTP

    def respond(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        self.requests.append(f"{method} {target}")
        if self.latency_seconds:
            time.sleep(self.latency_seconds)   # a slow Nomad, simulated: the fake's behaviour, not a wait
        try:
            request = self.spec.check_request(method, target, headers, body)
        except SpecViolation as violation:
            self.violations.append(f"request: {violation}")
            return Reply.text(400, str(violation))
        if self.token and {k.lower(): v for k, v in headers.items()}.get("x-nomad-token") != self.token:
            return Reply.text(403, "Permission denied")
        handler = getattr(self, f"_op_{request.operation.operation_id}", None)
        if handler is None:
            self.violations.append(f"the fake does not implement {request.operation.operation_id}")
            return Reply.text(500, f"fake Nomad: {request.operation.operation_id} not implemented")
        with self._lock:
            self._advance()
            reply = handler(request)
        if reply.drop:
            return reply
        try:
            self.spec.check_response(request.operation, reply.status, reply.body)
        except SpecViolation as violation:
            self.violations.append(f"response: {violation}")
            return Reply.text(500, f"fake Nomad made an answer the spec forbids: {violation}")
        return reply

    # ------------------------------------------------------------------ operations

    def _op_GetJob(self, request: CheckedRequest) -> Reply:
        job = self._jobs.get(request.path_params["jobName"])
        if job is None:
            return Reply.text(404, "job not found")
        return Reply.json(200, job, **self._index_header())

    def _op_GetJobs(self, request: CheckedRequest) -> Reply:
        prefix = request.query.get("prefix", "")
        stubs = [_job_stub(job) for job_id, job in sorted(self._jobs.items()) if job_id.startswith(prefix)]
        return Reply.json(200, stubs, **self._index_header())

    def _op_GetJobAllocations(self, request: CheckedRequest) -> Reply:
        job_id = request.path_params["jobName"]
        stubs = [_allocation_json(a, stub=True) for a in self._allocations.values() if a.job_id == job_id]
        return Reply.json(200, stubs, **self._index_header())

    def _op_GetAllocation(self, request: CheckedRequest) -> Reply:
        allocation = self._allocations.get(request.path_params["allocID"])
        if allocation is None:
            return Reply.text(404, "alloc not found")
        return Reply.json(200, _allocation_json(allocation, stub=False), **self._index_header())

    def _op_PostJobDispatch(self, request: CheckedRequest) -> Reply:
        parent = self._jobs.get(request.path_params["jobName"])
        body = request.body or {}
        problem = self._dispatch_problem(parent, body)
        if problem:
            self.rejections.append(problem)
            return Reply.text(500, problem)
        assert parent is not None
        token = request.query.get("idempotency_token", "")
        child_id = self._existing_child(parent["ID"], token) if token else None
        if child_id is None:
            child_id = self._new_child(parent["ID"], body.get("Meta") or {}, token)
        if self.drop_dispatch_responses > 0:
            self.drop_dispatch_responses -= 1
            return Reply(0, drop=True)
        return Reply.json(200, {"DispatchedJobID": child_id, "EvalID": str(uuid.uuid4()),
                                "EvalCreateIndex": self._index, "JobCreateIndex": self._index},
                          **self._index_header())

    def _op_DeleteJob(self, request: CheckedRequest) -> Reply:
        job_id = request.path_params["jobName"]
        if job_id not in self._jobs:
            return Reply.text(404, "job not found")
        for allocation in self._allocations.values():
            if allocation.job_id == job_id:
                self._stop_allocation(allocation)
        if request.query.get("purge") == "true":
            del self._jobs[job_id]
            for alloc_id in [a.id for a in self._allocations.values() if a.job_id == job_id]:
                del self._allocations[alloc_id]
            self.purged.append(job_id)
        else:
            self._jobs[job_id].update(Stop=True, Status="dead")
        return Reply.json(200, {"EvalID": str(uuid.uuid4()), "EvalCreateIndex": self._bump(),
                                "JobModifyIndex": self._index}, **self._index_header())

    # ------------------------------------------------------------------ dispatch semantics

    def _dispatch_problem(self, parent: Optional[Dict[str, Any]], body: Dict[str, Any]) -> str:
        if parent is None:
            return "parameterized job not found"
        config = parent.get("ParameterizedJob")
        if not config or parent.get("Dispatched"):
            return f"Specified job {parent['ID']!r} is not a parameterized job"
        if config["Payload"] == "forbidden" and body.get("Payload"):
            return "Payload provided but forbidden by parameterized job"
        meta = body.get("Meta") or {}
        allowed = set(config["MetaRequired"]) | set(config["MetaOptional"])
        unpermitted = sorted(set(meta) - allowed)
        if unpermitted:
            return f"Dispatch request included unpermitted metadata keys: {unpermitted}"
        missing = sorted(set(config["MetaRequired"]) - set(meta))
        if missing:
            return f"Dispatch did not provide required meta keys: {missing}"
        return ""

    def _existing_child(self, parent_id: str, token: str) -> Optional[str]:
        for job_id, job in self._jobs.items():
            if job.get("ParentID") == parent_id and job.get("DispatchIdempotencyToken") == token:
                return job_id
        return None

    def _new_child(self, parent_id: str, meta: Dict[str, str], token: str) -> str:
        parent = self._jobs[parent_id]
        child_id = f"{parent_id}/dispatch-{int(time.time())}-{uuid.uuid4().hex[:8]}"
        index = self._bump()
        self._jobs[child_id] = dict(parent, ID=child_id, Name=child_id, ParentID=parent_id, Dispatched=True,
                                    Status="pending", DispatchIdempotencyToken=token,
                                    Meta={**parent.get("Meta", {}), **meta}, CreateIndex=index,
                                    ModifyIndex=index, JobModifyIndex=index, SubmitTime=time.time_ns())
        self.dispatched.append(child_id)
        outcome = self.outcomes.popleft() if self.outcomes else self.default_outcome
        assert outcome in OUTCOMES, outcome
        if outcome != UNPLACED:
            allocation = FakeAllocation(str(uuid.uuid4()), child_id, meta.get("mode", ""), outcome,
                                        time.monotonic(), self._bump())
            self._allocations[allocation.id] = allocation
        return child_id

    # ------------------------------------------------------------------ allocation lifecycle

    def _advance(self) -> None:
        for allocation in list(self._allocations.values()):
            if allocation.status != "pending" or allocation.desired != "run":
                continue
            if allocation.outcome == HOLD and not self.gate.is_set():
                continue
            if time.monotonic() - allocation.created < self.pending_seconds:
                continue
            if allocation.outcome == FAIL:
                self._fail_allocation(allocation)
            else:
                self._run_allocation(allocation)

    def _run_allocation(self, allocation: FakeAllocation) -> None:
        allocation.status = "running"
        allocation.events.append(_event("Started", "Task started by client"))
        self._jobs[allocation.job_id]["Status"] = "running"
        self.on_running(allocation)

    def _fail_allocation(self, allocation: FakeAllocation) -> None:
        allocation.status = "failed"
        allocation.events.append(_event("Terminated", "Exit Code: 1, Exit Message: \"fake failure\"", ExitCode=1))
        self._jobs[allocation.job_id]["Status"] = "dead"

    def _stop_allocation(self, allocation: FakeAllocation) -> None:
        was_running = allocation.status == "running"
        allocation.desired = "stop"
        if allocation.status in ("pending", "running"):
            allocation.status = "complete"
            allocation.events.append(_event("Killed", "Task successfully killed"))
        if was_running:
            self.on_stopped(allocation)

    # ------------------------------------------------------------------ JSON

    def _parent_id(self) -> str:
        return next(job_id for job_id, job in self._jobs.items() if job.get("ParameterizedJob")
                    and not job.get("Dispatched"))

    def _bump(self) -> int:
        self._index += 1
        return self._index

    def _index_header(self) -> Dict[str, str]:
        return {"X-Nomad-Index": str(self._index)}

    def _parent_json(self, parent: ParentJob) -> Dict[str, Any]:
        return {
            "ID": parent.id, "Name": parent.id, "Namespace": "default", "Region": "global",
            "Type": parent.type, "Priority": parent.priority, "Datacenters": list(parent.datacenters),
            "Status": "running", "StatusDescription": "", "Stop": False, "Dispatched": False,
            "ParentID": "", "DispatchIdempotencyToken": "", "Meta": {}, "TaskGroups": [],
            "ParameterizedJob": {"Payload": parent.payload, "MetaRequired": list(parent.meta_required),
                                 "MetaOptional": list(parent.meta_optional)},
            "Version": 0, "CreateIndex": 10, "ModifyIndex": 10, "JobModifyIndex": 10,
            "SubmitTime": time.time_ns(),
        }


def _event(kind: str, message: str, **extra: Any) -> Dict[str, Any]:
    return {"Type": kind, "Time": time.time_ns(), "DisplayMessage": message, **extra}


def _job_stub(job: Dict[str, Any]) -> Dict[str, Any]:
    keys = ("ID", "ParentID", "Name", "Namespace", "Type", "Priority", "Status", "StatusDescription",
            "Stop", "Datacenters", "CreateIndex", "ModifyIndex", "JobModifyIndex", "SubmitTime")
    stub = {key: job[key] for key in keys}
    stub["ParameterizedJob"] = bool(job.get("ParameterizedJob")) and not job.get("Dispatched")
    stub["Periodic"] = False
    return stub


def _allocation_json(allocation: FakeAllocation, *, stub: bool) -> Dict[str, Any]:
    state = {"pending": "pending", "running": "running"}.get(allocation.status, "dead")
    value: Dict[str, Any] = {
        "ID": allocation.id, "EvalID": str(uuid.uuid5(uuid.NAMESPACE_URL, allocation.id)),
        "Name": f"{allocation.job_id}.sandbox[0]", "Namespace": "default",
        "NodeID": "fake-node-id", "NodeName": "fake-node", "JobID": allocation.job_id,
        "TaskGroup": "sandbox", "DesiredStatus": allocation.desired, "DesiredDescription": "",
        "ClientStatus": allocation.status, "ClientDescription": "",
        "TaskStates": {"agent": {"State": state, "Failed": allocation.status == "failed",
                                 "Restarts": 0, "Events": list(allocation.events)}},
        "CreateIndex": allocation.create_index, "ModifyIndex": allocation.create_index,
        "CreateTime": int(allocation.created * 1e9), "ModifyTime": int(allocation.created * 1e9),
    }
    if stub:
        value.update(JobType="batch", JobVersion=0)
    else:
        value["DesiredTransition"] = {"Migrate": allocation.migrate}
    return value

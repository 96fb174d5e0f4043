"""A fake Nomad HTTP API, validated against Nomad's published OpenAPI spec (plus the 1.7
fields it lacks, see openapi_spec.py), modelling how Nomad 1.7.7 behaves.

In-process, on 127.0.0.1.  Every request goes through ``NomadSpec.check_request`` and
every answer through ``check_response``; what the spec does not allow is answered with
HTTP 400 (or 500 for the fake's own bad answers) and recorded in ``violations``, which
the test fixtures assert empty.  Behind the spec it keeps the state a real server would
for parameterized jobs: dispatch (meta_required/meta_optional, forbidden payload,
idempotency tokens, as nomad/job_endpoint.go does), dispatched children and their
allocations on nodes, stop and purge.  What it models of Nomad 1.7.7 (see README.md):

* time moves on its own: a clock thread advances allocations, stops and drain deadlines,
  and every change raises the Raft index, so blocking queries (``?index=&wait=``) wake up;
* allocation states pending, running, complete, failed, lost and unknown;
* stops are asynchronous: a stop or purge sets DesiredStatus=stop at once, and the client
  kills the task ``stop_seconds`` later;
* nodes: ``drain(node, deadline)`` sets a drain strategy and makes the node ineligible,
  leaves batch allocations alone until the deadline (nomad/drainer never marks them), then
  marks them to migrate and stops them ("batch allocations wait until they complete or the
  drain's deadline is reached ... these allocations will not be replaced": Nomad's
  `nomad node drain` docs; issue 16 read the reconciler as replacing them, and the
  scheduler is right either way); ``lose_node`` marks its allocations lost and places
  replacements (lost allocations are replaced whatever the reschedule policy);
  ``disconnect_node`` makes them unknown;
* the idempotency race: dispatch checks the token against a snapshot, then applies; with
  ``apply_delays`` a second request with the same token that arrives in between makes a
  second child, as nomad/job_endpoint.go does;
* a repeated idempotency token answers the existing child with no EvalID.

Allocations follow a script set by the test, one outcome per dispatch (``outcomes``):

  run        pending, then running; the cluster starts a fake sandbox and registers it in
             Consul (its check passes after the cluster's ``check_seconds``)
  fail       pending, then failed (the task exited)
  hold       pending until ``gate`` is set, then like run
  unhealthy  running, but its Consul check stays critical
  silent     running and healthy, but the sandbox never says HELLO
  unplaced   no allocation at all (no client with room)
"""
from __future__ import annotations

import collections
import dataclasses
import re
import threading
import time
import uuid
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional

from tests.scheduler.nomad.fake_http import FakeHTTPServer, Reply
from tests.scheduler.nomad.openapi_spec import CheckedRequest, NomadSpec, SpecViolation

RUN, FAIL, HOLD, UNHEALTHY, SILENT, UNPLACED = "run", "fail", "hold", "unhealthy", "silent", "unplaced"
OUTCOMES = frozenset({RUN, FAIL, HOLD, UNHEALTHY, SILENT, UNPLACED})
TICK_SECONDS = 0.01
MAX_BLOCK_SECONDS = 2.0           # the fake's cap on a blocking query (Nomad's is 10 minutes)


@dataclasses.dataclass
class FakeNode:
    id: str
    name: str
    status: str = "ready"             # ready | down | disconnected
    eligible: bool = True
    drain_deadline: Optional[float] = None    # monotonic; set while draining

    @property
    def takes_work(self) -> bool:
        return self.status == "ready" and self.eligible


@dataclasses.dataclass
class FakeAllocation:
    id: str
    job_id: str
    mode: str
    outcome: str
    created: float
    create_index: int
    node_id: str = ""
    status: str = "pending"
    desired: str = "run"
    migrate: bool = False                 # set when a drain deadline force-stops it
    stop_at: Optional[float] = None       # when the client will have killed the task
    modify_index: int = 0
    events: List[Dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.status in ("complete", "failed", "lost")


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
                 on_stopped: Callable[[FakeAllocation], None] = lambda alloc: None,
                 on_lost: Callable[[FakeAllocation], None] = lambda alloc: None) -> None:
        self.spec = spec
        self.token = token
        self.on_running = on_running
        self.on_stopped = on_stopped
        self.on_lost = on_lost
        # Knobs for tests.
        self.outcomes: Deque[str] = collections.deque()
        self.default_outcome = RUN
        self.gate = threading.Event()
        self.pending_seconds = 0.05
        self.stop_seconds = 0.05
        self.latency_seconds = 0.0
        self.drop_dispatch_responses = 0
        self.apply_delays: Deque[float] = collections.deque()   # per dispatch: snapshot-to-apply time
        self.nodes: List[FakeNode] = [FakeNode(str(uuid.uuid4()), f"sandbox-{n}") for n in (1, 2)]
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
        self._changed = threading.Condition(self._lock)
        self._http = FakeHTTPServer(self, "nomad")
        self._stopping = threading.Event()
        self._clock = threading.Thread(target=self._tick, name="fake-nomad-clock", daemon=True)
        self.address = ""
        self._jobs[parent.id] = self._parent_json(parent)

    def start(self) -> str:
        self.address = self._http.start()
        self._clock.start()
        return self.address

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        self._http.stop()
        if self._clock.is_alive():
            self._clock.join(5)

    # ------------------------------------------------------------------ test helpers

    def children(self) -> List[str]:
        with self._lock:
            return [job_id for job_id, job in self._jobs.items() if job.get("Dispatched")]

    def job(self, job_id: str) -> Optional[Dict[str, Any]]:
        with self._lock:
            return self._jobs.get(job_id)

    def allocations_of(self, job_id: str) -> List[FakeAllocation]:
        with self._lock:
            return sorted((a for a in self._allocations.values() if a.job_id == job_id),
                          key=lambda a: a.create_index)

    def node_of(self, job_id: str) -> FakeNode:
        """The node of the job's first allocation."""
        with self._lock:
            first = self.allocations_of(job_id)[0]
            return next(node for node in self.nodes if node.id == first.node_id)

    def drain(self, node: FakeNode, deadline_seconds: float) -> None:
        """``nomad node drain -enable -deadline``: the node takes no new work; its batch
        allocations run on until the deadline, then are stopped (not replaced)."""
        with self._lock:
            node.eligible = False
            node.drain_deadline = time.monotonic() + deadline_seconds
            self._bump()

    def lose_node(self, node: FakeNode) -> None:
        """The node stops heartbeating: its allocations are lost and replaced elsewhere.
        Its sandboxes are not told (nobody can reach them); their sockets stay open."""
        with self._lock:
            node.status = "down"
            for allocation in list(self._allocations.values()):
                if allocation.node_id == node.id and not allocation.terminal:
                    allocation.status, allocation.desired = "lost", "stop"
                    allocation.events.append(_event("Lost", "alloc is lost since its node is down"))
                    self._touch(allocation)
                    self.on_lost(allocation)
                    self._replace(allocation)

    def disconnect_node(self, node: FakeNode) -> None:
        """max_client_disconnect: the node's allocations become unknown until it is back."""
        with self._lock:
            node.status = "disconnected"
            for allocation in self._allocations.values():
                if allocation.node_id == node.id and allocation.status in ("pending", "running"):
                    allocation.status = "unknown"
                    self._touch(allocation)

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
        operation = request.operation.operation_id
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            self.violations.append(f"the fake does not implement {operation}")
            return Reply.text(500, f"fake Nomad: {operation} not implemented")
        if operation == "PostJobDispatch":
            reply = self._dispatch(request)        # takes the lock itself, twice: the race
        else:
            with self._changed:
                self._block(request)
                reply = handler(request)
        if reply.drop:
            return reply
        try:
            self.spec.check_response(request.operation, reply.status, reply.body)
        except SpecViolation as violation:
            self.violations.append(f"response: {violation}")
            return Reply.text(500, f"fake Nomad made an answer the spec forbids: {violation}")
        return reply

    def _block(self, request: CheckedRequest) -> None:
        """A blocking query returns once the index moved past the client's, or after its wait."""
        index = int(request.query.get("index") or 0)
        if not index or request.operation.method != "get":
            return
        wait = min(_duration(request.query.get("wait", "5m")), MAX_BLOCK_SECONDS)
        self._changed.wait_for(lambda: self._index > index or self._stopping.is_set(), wait)

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
        stubs = [_allocation_json(a, self._node(a.node_id), stub=True)
                 for a in self._allocations.values() if a.job_id == job_id]
        return Reply.json(200, stubs, **self._index_header())

    def _op_GetAllocation(self, request: CheckedRequest) -> Reply:
        allocation = self._allocations.get(request.path_params["allocID"])
        if allocation is None:
            return Reply.text(404, "alloc not found")
        return Reply.json(200, _allocation_json(allocation, self._node(allocation.node_id), stub=False),
                          **self._index_header())

    def _op_GetNode(self, request: CheckedRequest) -> Reply:
        node = self._node(request.path_params["nodeId"])
        if node is None:
            return Reply.text(404, "node not found")
        return Reply.json(200, _node_json(node), **self._index_header())

    def _op_PostJobDispatch(self, request: CheckedRequest) -> Reply:
        return self._dispatch(request)

    def _op_DeleteJob(self, request: CheckedRequest) -> Reply:
        job_id = request.path_params["jobName"]
        if job_id not in self._jobs:
            return Reply.text(404, "job not found")
        for allocation in self._allocations.values():
            if allocation.job_id == job_id:
                self._stop_allocation(allocation)
        if request.query.get("purge") == "true":
            del self._jobs[job_id]
            self.purged.append(job_id)
            for allocation in [a for a in self._allocations.values() if a.job_id == job_id]:
                if allocation.stop_at is None:      # nothing left to kill: garbage collected
                    del self._allocations[allocation.id]
        else:
            self._jobs[job_id].update(Stop=True, Status="dead")
        return Reply.json(200, {"EvalID": str(uuid.uuid4()), "EvalCreateIndex": self._bump(),
                                "JobModifyIndex": self._index}, **self._index_header())

    # ------------------------------------------------------------------ dispatch semantics

    def _dispatch(self, request: CheckedRequest) -> Reply:
        body = request.body or {}
        token = request.query.get("idempotency_token", "")
        with self._lock:      # the snapshot: Nomad checks the token before its Raft apply
            parent = self._jobs.get(request.path_params["jobName"])
            problem = self._dispatch_problem(parent, body)
            if problem:
                self.rejections.append(problem)
                return Reply.text(500, problem)
            assert parent is not None
            existing = self._existing_child(parent["ID"], token) if token else None
            delay = self.apply_delays.popleft() if self.apply_delays and existing is None else 0.0
        if delay:
            time.sleep(delay)   # the Raft apply, after the snapshot was read (the fake's behaviour)
        with self._changed:
            if existing is not None:
                # Real Nomad answers a repeated token with the child and no evaluation.
                reply = {"DispatchedJobID": existing, "EvalID": "", "EvalCreateIndex": 0,
                         "JobCreateIndex": self._jobs[existing]["CreateIndex"]}
            else:
                child_id = self._new_child(parent["ID"], body.get("Meta") or {}, token)
                reply = {"DispatchedJobID": child_id, "EvalID": str(uuid.uuid4()),
                         "EvalCreateIndex": self._index, "JobCreateIndex": self._index}
            if self.drop_dispatch_responses > 0:
                self.drop_dispatch_responses -= 1
                return Reply(0, drop=True)
            return Reply.json(200, reply, **self._index_header())

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
            self._place(child_id, meta.get("mode", ""), outcome)
        return child_id

    def _place(self, job_id: str, mode: str, outcome: str) -> Optional[FakeAllocation]:
        node = next((node for node in self.nodes if node.takes_work), None)
        if node is None:
            return None      # blocked: no node with room (real Nomad keeps a blocked eval)
        allocation = FakeAllocation(str(uuid.uuid4()), job_id, mode, outcome, time.monotonic(), self._bump(),
                                    node_id=node.id)
        allocation.modify_index = allocation.create_index
        self._allocations[allocation.id] = allocation
        return allocation

    def _replace(self, allocation: FakeAllocation) -> None:
        """scheduler/reconcile.go: lost allocations are always replaced."""
        if allocation.job_id in self._jobs and self._jobs[allocation.job_id].get("Stop") is not True:
            self._place(allocation.job_id, allocation.mode, RUN)

    # ------------------------------------------------------------------ allocation lifecycle

    def _tick(self) -> None:
        while not self._stopping.is_set():
            with self._changed:
                before = self._index
                self._advance()
                if self._index != before:
                    self._changed.notify_all()
            self._stopping.wait(TICK_SECONDS)

    def _advance(self) -> None:
        now = time.monotonic()
        for node in self.nodes:
            if node.drain_deadline is not None and now >= node.drain_deadline:
                self._force_drain(node)
        for allocation in list(self._allocations.values()):
            if allocation.stop_at is not None and now >= allocation.stop_at:
                self._stopped(allocation)
            elif allocation.status == "pending" and allocation.desired == "run":
                self._start(allocation, now)

    def _start(self, allocation: FakeAllocation, now: float) -> None:
        if allocation.outcome == HOLD and not self.gate.is_set():
            return
        if now - allocation.created < self.pending_seconds:
            return
        if allocation.outcome == FAIL:
            allocation.status = "failed"
            allocation.events.append(_event("Terminated", "Exit Code: 1, Exit Message: \"fake failure\"",
                                            ExitCode=1))
            self._job_status(allocation.job_id, "dead")
        else:
            allocation.status = "running"
            allocation.events.append(_event("Started", "Task started by client"))
            self._job_status(allocation.job_id, "running")
            self.on_running(allocation)
        self._touch(allocation)

    def _force_drain(self, node: FakeNode) -> None:
        """nomad/drainer at the deadline: batch allocations still running are marked to
        migrate and stopped; the docs say they are not replaced."""
        node.drain_deadline = None
        for allocation in list(self._allocations.values()):
            if allocation.node_id == node.id and allocation.desired == "run" and not allocation.terminal:
                allocation.migrate = True
                self._stop_allocation(allocation)

    def _stop_allocation(self, allocation: FakeAllocation) -> None:
        """DesiredStatus=stop now; the client kills the task stop_seconds later."""
        if allocation.desired == "stop" or allocation.terminal:
            allocation.desired = "stop"
            return
        allocation.desired = "stop"
        if allocation.status == "running":
            allocation.stop_at = time.monotonic() + self.stop_seconds
        elif allocation.status == "pending":
            allocation.status = "complete"
        self._touch(allocation)

    def _stopped(self, allocation: FakeAllocation) -> None:
        allocation.stop_at = None
        allocation.status = "complete"
        allocation.events.append(_event("Killed", "Task successfully killed"))
        self._touch(allocation)
        self.on_stopped(allocation)
        if allocation.job_id not in self._jobs:     # purged: the allocation is garbage collected
            del self._allocations[allocation.id]

    # ------------------------------------------------------------------ JSON

    def _touch(self, allocation: FakeAllocation) -> None:
        allocation.modify_index = self._bump()

    def _job_status(self, job_id: str, status: str) -> None:
        if job_id in self._jobs:
            self._jobs[job_id]["Status"] = status

    def _node(self, node_id: str) -> Optional[FakeNode]:
        return next((node for node in self.nodes if node.id == node_id), None)

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
            "NodePool": "default",
            "Status": "running", "StatusDescription": "", "Stop": False, "Dispatched": False,
            "ParentID": "", "DispatchIdempotencyToken": "", "Meta": {}, "TaskGroups": [],
            "ParameterizedJob": {"Payload": parent.payload, "MetaRequired": list(parent.meta_required),
                                 "MetaOptional": list(parent.meta_optional)},
            "Version": 0, "CreateIndex": 10, "ModifyIndex": 10, "JobModifyIndex": 10,
            "SubmitTime": time.time_ns(),
        }


def _duration(text: str) -> float:
    """A Go duration as Nomad reads ``wait`` ("500ms", "5s", "1m")."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", text)
    if not match:
        return 300.0
    amount, unit = float(match.group(1)), match.group(2)
    return amount * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]


def _event(kind: str, message: str, **extra: Any) -> Dict[str, Any]:
    return {"Type": kind, "Time": time.time_ns(), "DisplayMessage": message, **extra}


def _job_stub(job: Dict[str, Any]) -> Dict[str, Any]:
    keys = ("ID", "ParentID", "Name", "Namespace", "Type", "Priority", "Status", "StatusDescription",
            "Stop", "Datacenters", "NodePool", "CreateIndex", "ModifyIndex", "JobModifyIndex", "SubmitTime")
    stub = {key: job[key] for key in keys}
    stub["ParameterizedJob"] = bool(job.get("ParameterizedJob")) and not job.get("Dispatched")
    stub["Periodic"] = False
    return stub


def _node_json(node: FakeNode) -> Dict[str, Any]:
    draining = node.drain_deadline is not None
    return {
        "ID": node.id, "Name": node.name, "Datacenter": "dc1", "NodeClass": "sandbox", "NodePool": "default",
        "Status": node.status, "StatusDescription": "",
        "SchedulingEligibility": "eligible" if node.eligible else "ineligible",
        "Drain": draining,
        "DrainStrategy": {"Deadline": 3_600_000_000_000, "IgnoreSystemJobs": False} if draining else None,
        "CreateIndex": 5, "ModifyIndex": 5,
    }


def _allocation_json(allocation: FakeAllocation, node: Optional[FakeNode], *, stub: bool) -> Dict[str, Any]:
    state = {"pending": "pending", "running": "running"}.get(allocation.status, "dead")
    value: Dict[str, Any] = {
        "ID": allocation.id, "EvalID": str(uuid.uuid5(uuid.NAMESPACE_URL, allocation.id)),
        "Name": f"{allocation.job_id}.sandbox[0]", "Namespace": "default",
        "NodeID": allocation.node_id, "NodeName": node.name if node else "", "JobID": allocation.job_id,
        "TaskGroup": "sandbox", "DesiredStatus": allocation.desired, "DesiredDescription": "",
        "ClientStatus": allocation.status, "ClientDescription": "",
        "TaskStates": {"agent": {"State": state, "Failed": allocation.status == "failed",
                                 "Restarts": 0, "Events": list(allocation.events)}},
        "CreateIndex": allocation.create_index, "ModifyIndex": allocation.modify_index,
        "CreateTime": int(allocation.created * 1e9), "ModifyTime": int(allocation.created * 1e9),
    }
    if stub:
        value.update(JobType="batch", JobVersion=0)
    else:
        value["DesiredTransition"] = {"Migrate": allocation.migrate}
    return value

"""Nomad's published OpenAPI spec (../shared/nomad/openapi.yaml) as a validator.

The fake Nomad runs every request and every response it makes through ``NomadSpec``.
What the spec does not allow is a ``SpecViolation``: an unknown path or method, an
undeclared or mistyped query parameter, a body that does not match the operation's
schema.  The check is stricter than the spec in one way, on purpose: object schemas are
closed (unknown properties are violations).  Nomad's Go decoder silently ignores fields
it does not know, so a misspelt or misplaced field "works" against a real cluster while
doing nothing; that is exactly the bug a test should catch.

Deliberate leniency, both real Nomad behaviour missing from the spec: a 404 answer with a
plain-text body (Nomad says "job not found" that way).

The spec describes Nomad 1.1.4; the cluster runs 1.7.7.  ``NOMAD_1_7`` adds what 1.7 has
and the spec lacks, each with the page of Nomad's API docs that documents it
(https://developer.hashicorp.com/nomad/api-docs/...):

* ``?index=`` on every blocking-capable read (the spec declares it as a header; Nomad's
  HTTP server reads the query string): api-docs#blocking-queries;
* ``NodePool`` on nodes and jobs (node pools, 1.6): api-docs/nodes#read-node,
  api-docs/jobs#read-job; a node's ``DrainStrategy`` is null when it is not draining;
* ``IdPrefixTemplate`` and ``Priority`` in a dispatch request (1.6):
  api-docs/jobs#dispatch-job.

Allocation states need no schema change: ClientStatus is a string, and 1.7's set is
pending, running, complete, failed, lost and unknown (api-docs/allocations).
"""
from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import functools
import json
import pathlib
import re
import urllib.parse
from typing import Any, Dict, List, Mapping, Optional, Tuple

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

REPO = pathlib.Path(__file__).resolve().parents[3]
SPEC_PATH = REPO.parent / "shared" / "nomad" / "openapi.yaml"
SPEC_URI = "urn:nomad-openapi"
BASE_PATH = "/v1"
UNDOCUMENTED_STATUSES = frozenset({404})


class SpecViolation(Exception):
    """A request or response that Nomad's OpenAPI spec does not allow."""


@dataclasses.dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    params: Mapping[Tuple[str, str], Dict[str, Any]]     # (in, lower-cased name) -> schema
    body_schema: Optional[Dict[str, Any]]
    body_required: bool
    responses: Mapping[str, Optional[Dict[str, Any]]]    # status -> JSON schema (None: no body)


@dataclasses.dataclass(frozen=True)
class CheckedRequest:
    operation: Operation
    path_params: Dict[str, str]
    query: Dict[str, str]
    body: Any


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()

    @checker.checks("byte", raises=(binascii.Error, ValueError))
    def _is_base64(value: object) -> bool:
        if isinstance(value, str):
            base64.b64decode(value, validate=True)
        return True

    return checker


def _closed(node: Any) -> Any:
    """Every object schema with declared properties refuses undeclared ones."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _closed(value)
    elif isinstance(node, list):
        for value in node:
            _closed(value)
    return node


INDEX_QUERY = {"description": "Nomad 1.7: blocking query index (api-docs#blocking-queries)",
               "in": "query", "name": "index", "schema": {"type": "integer"}}
NOMAD_1_7: Dict[str, Dict[str, Any]] = {
    # A node that is not draining has "DrainStrategy": null (api-docs/nodes#read-node).
    "Node": {"NodePool": {"type": "string"},
             "DrainStrategy": {"anyOf": [{"$ref": "#/components/schemas/DrainStrategy"}, {"type": "null"}]}},
    "NodeListStub": {"NodePool": {"type": "string"}},
    "Job": {"NodePool": {"type": "string"}},
    "JobListStub": {"NodePool": {"type": "string"}},
    "JobDispatchRequest": {"IdPrefixTemplate": {"type": "string"}, "Priority": {"type": "integer"}},
}


def with_nomad_1_7(document: Dict[str, Any]) -> Dict[str, Any]:
    """The 1.1.4 spec plus what Nomad 1.7 added that the fake and the scheduler use."""
    document = copy.deepcopy(document)
    document["components"]["parameters"]["IndexQuery"] = INDEX_QUERY
    index_header = {"$ref": "#/components/parameters/IndexHeader"}
    for item in document["paths"].values():
        for spec in item.values():
            if isinstance(spec, dict) and index_header in spec.get("parameters", []):
                spec["parameters"].append({"$ref": "#/components/parameters/IndexQuery"})
    for schema, fields in NOMAD_1_7.items():
        document["components"]["schemas"][schema].setdefault("properties", {}).update(fields)
    return document


class NomadSpec:
    def __init__(self, document: Dict[str, Any]) -> None:
        document = with_nomad_1_7(document)
        self._document = document
        closed = _closed(copy.deepcopy(document))
        self._registry = Registry().with_resource(SPEC_URI, Resource(closed, specification=DRAFT4))
        self._format_checker = _format_checker()
        self._operations = self._collect_operations()

    @classmethod
    @functools.lru_cache(maxsize=1)
    def load(cls, path: pathlib.Path = SPEC_PATH) -> NomadSpec:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(path, encoding="utf-8") as stream:
            return cls(yaml.load(stream, Loader=loader))

    # ------------------------------------------------------------------ requests

    def check_request(self, method: str, raw_target: str, headers: Mapping[str, str],
                      body: bytes) -> CheckedRequest:
        raw_path, _, raw_query = raw_target.partition("?")
        operation, path_params = self.match(method, raw_path)
        query = self._check_query(operation, raw_query)
        self._check_headers(operation, headers)
        return CheckedRequest(operation, path_params, query, self._check_body(operation, headers, body))

    def match(self, method: str, raw_path: str) -> Tuple[Operation, Dict[str, str]]:
        if not raw_path.startswith(BASE_PATH + "/"):
            raise SpecViolation(f"{raw_path} is outside the API base path {BASE_PATH}")
        segments = raw_path[len(BASE_PATH):].split("/")
        methods_here = []
        for operation in self._operations:
            params = _match_segments(operation.template.split("/"), segments)
            if params is None:
                continue
            if operation.method == method.lower():
                return operation, params
            methods_here.append(operation.method.upper())
        if methods_here:
            raise SpecViolation(f"{method} {raw_path}: the spec allows only {sorted(set(methods_here))}")
        raise SpecViolation(f"{method} {raw_path}: no such path in the spec "
                            "(a job ID with '/' must be path-escaped)")

    def _check_query(self, operation: Operation, raw_query: str) -> Dict[str, str]:
        pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        names = [name for name, _ in pairs]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise SpecViolation(f"{operation.operation_id}: query parameters repeated: {duplicated}")
        query = dict(pairs)
        for name, value in query.items():
            schema = operation.params.get(("query", name.lower()))
            if schema is None:
                allowed = sorted(n for (where, n) in operation.params if where == "query")
                raise SpecViolation(f"{operation.operation_id}: undeclared query parameter {name!r} "
                                    f"(allowed: {allowed})")
            _check_scalar(f"{operation.operation_id}: query {name}", value, schema)
        return query

    def _check_headers(self, operation: Operation, headers: Mapping[str, str]) -> None:
        for (where, name), schema in operation.params.items():
            if where != "header":
                continue
            for key, value in headers.items():
                if key.lower() == name:
                    _check_scalar(f"{operation.operation_id}: header {key}", value, schema)

    def _check_body(self, operation: Operation, headers: Mapping[str, str], body: bytes) -> Any:
        if operation.body_schema is None:
            if body:
                raise SpecViolation(f"{operation.operation_id} takes no request body, got {len(body)} bytes")
            return None
        if not body:
            if operation.body_required:
                raise SpecViolation(f"{operation.operation_id} requires a JSON body")
            return None
        content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        if not content_type.startswith("application/json"):
            raise SpecViolation(f"{operation.operation_id}: body must be application/json, not {content_type!r}")
        try:
            value = json.loads(body)
        except ValueError as error:
            raise SpecViolation(f"{operation.operation_id}: body is not JSON: {error}") from None
        self._validate(f"{operation.operation_id} request body", value, operation.body_schema)
        return value

    # ------------------------------------------------------------------ responses

    def check_response(self, operation: Operation, status: int, body: Optional[bytes]) -> None:
        key = str(status)
        if key not in operation.responses:
            if status in UNDOCUMENTED_STATUSES:
                return
            raise SpecViolation(f"{operation.operation_id} may not answer {status} "
                                f"(declared: {sorted(operation.responses)})")
        schema = operation.responses[key]
        if schema is None:
            return
        try:
            value = json.loads(body or b"")
        except ValueError as error:
            raise SpecViolation(f"{operation.operation_id} {status} body is not JSON: {error}") from None
        self._validate(f"{operation.operation_id} {status} response", value, schema)

    # ------------------------------------------------------------------ internals

    def _validate(self, what: str, value: Any, schema: Dict[str, Any]) -> None:
        validator = jsonschema.Draft4Validator(schema, registry=self._registry,
                                               format_checker=self._format_checker)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            details = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                                for e in errors[:5])
            raise SpecViolation(f"{what} does not match the spec: {details}")

    def _resolve(self, node: Dict[str, Any]) -> Dict[str, Any]:
        while "$ref" in node:
            target: Any = self._document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _collect_operations(self) -> List[Operation]:
        operations = []
        for template, item in self._document["paths"].items():
            for method, spec in item.items():
                if method in ("get", "put", "post", "delete", "patch", "head"):
                    operations.append(self._operation(method, template, spec))
        return operations

    def _operation(self, method: str, template: str, spec: Dict[str, Any]) -> Operation:
        params = {}
        for raw in spec.get("parameters", []):
            param = self._resolve(raw)
            params[(param["in"], param["name"].lower())] = param.get("schema", {})
        body_schema, body_required = None, False
        if "requestBody" in spec:
            request_body = self._resolve(spec["requestBody"])
            body_schema = _json_schema(request_body)
            body_required = bool(request_body.get("required"))
        responses = {status: _json_schema(self._resolve(answer))
                     for status, answer in spec.get("responses", {}).items()}
        return Operation(method, template, spec["operationId"], params, body_schema, body_required, responses)


def _json_schema(node: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    schema = node.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    return {"$ref": SPEC_URI + schema["$ref"]} if "$ref" in schema else _rebased(schema)


def _rebased(schema: Any) -> Any:
    """Inline schemas' local $refs point into the spec document."""
    if isinstance(schema, dict):
        return {k: (SPEC_URI + v if k == "$ref" else _rebased(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rebased(v) for v in schema]
    return schema


def _match_segments(template: List[str], segments: List[str]) -> Optional[Dict[str, str]]:
    if len(template) != len(segments):
        return None
    params = {}
    for expected, actual in zip(template, segments, strict=True):
        if expected.startswith("{") and expected.endswith("}"):
            if not actual:
                return None
            params[expected[1:-1]] = urllib.parse.unquote(actual)
        elif expected != actual:
            return None
    return params


def _check_scalar(what: str, value: str, schema: Dict[str, Any]) -> None:
    kind = schema.get("type", "string")
    if kind == "integer" and not re.fullmatch(r"-?[0-9]+", value):
        raise SpecViolation(f"{what}={value!r} is not an integer")
    if kind == "boolean" and value not in ("true", "false"):
        raise SpecViolation(f"{what}={value!r} is not a boolean (true or false)")

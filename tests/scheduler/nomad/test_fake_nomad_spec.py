"""The fake Nomad refuses what Nomad's OpenAPI spec does not allow, in both directions.

These tests show the guard works (so a passing scheduler test means "spec-conformant"),
and record why scheduler/nomad/api.py does not use two of python-nomad's helpers.
"""
from __future__ import annotations

import nomad
import nomad.api.exceptions as nomad_errors
import pytest

from scheduler.nomad.api import NomadAPI
from tests.scheduler.nomad.fake_http import Reply
from tests.scheduler.nomad.openapi_spec import SpecViolation


def _client(cluster) -> nomad.Nomad:
    return nomad.Nomad(address=cluster.nomad.address, timeout=5)


def _take_violations(cluster) -> list:
    found = list(cluster.nomad.violations)
    cluster.nomad.violations.clear()
    return found


def test_python_nomads_dispatch_job_sends_fields_nomad_ignores(cluster):
    with pytest.raises(nomad_errors.BadRequestNomadException):
        _client(cluster).job.dispatch_job("pyplay-sandbox", meta={"mode": "python"}, idempotency_token="t-1")

    (violation,) = _take_violations(cluster)
    assert "('idempotency_token' was unexpected)" in violation
    assert "Payload: None is not of type 'string'" in violation
    assert cluster.nomad.dispatched == []


def test_unescaped_dispatched_job_id_is_not_a_path_in_the_spec(cluster):
    with pytest.raises(nomad_errors.BadRequestNomadException):
        _client(cluster).job.get_allocations("pyplay-sandbox/dispatch-1700000000-0a1b2c3d")
    (violation,) = _take_violations(cluster)
    assert "must be path-escaped" in violation


def test_boolean_query_parameters_must_be_true_or_false(cluster):
    child = cluster.nomad.dispatch_directly({"mode": "python"})
    with pytest.raises(nomad_errors.BadRequestNomadException):
        # python-nomad would send purge=True (Python's spelling); the spec's boolean is "true".
        _client(cluster).job.deregister_job(child.replace("/", "%2F"), purge=True)
    (violation,) = _take_violations(cluster)
    assert "purge='True' is not a boolean" in violation
    assert cluster.nomad.job(child) is not None


def test_undeclared_query_parameters_are_refused(cluster):
    with pytest.raises(nomad_errors.BadRequestNomadException):
        _client(cluster).jobs.get_jobs(prefix="pyplay-sandbox/", meta=True)
    (violation,) = _take_violations(cluster)
    assert "undeclared query parameter 'meta'" in violation


def test_unknown_paths_and_methods_are_refused(cluster):
    import requests

    assert requests.get(f"{cluster.nomad.address}/v1/no-such-thing", timeout=5).status_code == 400
    assert requests.put(f"{cluster.nomad.address}/v1/allocation/abc", timeout=5).status_code == 400
    first, second = _take_violations(cluster)
    assert "no such path" in first
    assert "allows only ['GET']" in second


def test_the_fakes_own_answers_are_checked_against_the_spec(cluster, monkeypatch):
    monkeypatch.setattr(type(cluster.nomad), "_op_GetJobs",
                        lambda self, request: Reply.json(200, [{"ID": 7, "Surprise": True}]))

    with pytest.raises(nomad_errors.BaseNomadException):
        _client(cluster).jobs.get_jobs()

    (violation,) = _take_violations(cluster)
    assert violation.startswith("response: GetJobs 200 response does not match the spec")
    assert "7 is not of type 'string'" in violation and "'Surprise' was unexpected" in violation


def test_a_response_status_the_spec_does_not_declare_is_a_violation(nomad_spec):
    operation, _ = nomad_spec.match("GET", "/v1/jobs")
    with pytest.raises(SpecViolation, match="may not answer 418"):
        nomad_spec.check_response(operation, 418, b"")


def test_dispatch_meta_is_held_to_the_jobspecs_parameterized_block(cluster):
    api = NomadAPI(address=cluster.nomad.address)
    try:
        with pytest.raises(Exception, match="unpermitted metadata keys: \\['colour'\\]"):
            api.dispatch("pyplay-sandbox", {"mode": "python", "colour": "blue"}, "token-1")
        with pytest.raises(Exception, match="required meta keys: \\['mode'\\]"):
            api.dispatch("pyplay-sandbox", {"pool": "warm"}, "token-2")
    finally:
        api.close()
    assert cluster.nomad.dispatched == []


def test_the_same_idempotency_token_returns_the_same_child(cluster):
    api = NomadAPI(address=cluster.nomad.address)
    try:
        first = api.dispatch("pyplay-sandbox", {"mode": "python"}, "same-token")
        again = api.dispatch("pyplay-sandbox", {"mode": "python"}, "same-token")
        other = api.dispatch("pyplay-sandbox", {"mode": "python"}, "other-token")
    finally:
        api.close()
    assert first == again != other
    assert cluster.nomad.dispatched == [first, other]

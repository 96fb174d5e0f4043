"""Reading the repo's HCL (jobspecs/, terraform/) with python-hcl2, for tests and fakes.

python-hcl2 turns every block into a list of dicts keyed by label; ``blocks`` and
``only`` walk that shape.  ``render`` does what Nomad does to a string at run time for
the few ``${...}`` references the fakes need (NOMAD_* variables, var.*).
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Any, Dict, List, Mapping, Tuple

import hcl2

REPO = pathlib.Path(__file__).resolve().parents[3]
JOBSPECS = REPO / "jobspecs"
TERRAFORM = REPO / "terraform"
SANDBOX_JOBSPEC = JOBSPECS / "sandbox.nomad.hcl"

_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
_REFERENCE = re.compile(r"\$\{([^}]+)\}")


def load(path: pathlib.Path) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as stream:
        return hcl2.load(stream, serialization_options=_OPTIONS)


def loads(text: str) -> Dict[str, Any]:
    return hcl2.loads(text, serialization_options=_OPTIONS)


def blocks(body: Mapping[str, Any], kind: str) -> List[Tuple[str, Dict[str, Any]]]:
    """Labelled blocks of one kind: [(label, body), ...]."""
    found = []
    for entry in body.get(kind, []):
        for label, inner in entry.items():
            found.append((label, inner))
    return found


def only(body: Mapping[str, Any], kind: str) -> Dict[str, Any]:
    """The single unlabelled block of one kind (assertion if there is not exactly one)."""
    entries = body.get(kind, [])
    assert len(entries) == 1, f"expected one {kind} block, found {len(entries)}"
    return entries[0]


def variable_defaults(document: Mapping[str, Any]) -> Dict[str, Any]:
    return {name: spec.get("default") for name, spec in blocks(document, "variable")}


def render(value: str, env: Mapping[str, Any]) -> str:
    """Substitute ``${name}`` references found in ``env``; leave others as they are."""
    return _REFERENCE.sub(lambda m: str(env[m.group(1)]) if m.group(1) in env else m.group(0), value)


def heredoc_body(value: str) -> str:
    """The text of a ``<<-EOT ... EOT`` heredoc as python-hcl2 keeps it."""
    lines = value.splitlines()
    assert lines and lines[0].startswith("<<"), f"not a heredoc: {value[:40]!r}"
    return "\n".join(lines[1:-1]) + "\n"


@dataclasses.dataclass(frozen=True)
class SandboxJobspec:
    """What the fakes take from jobspecs/sandbox.nomad.hcl."""

    job_id: str
    job: Dict[str, Any]
    defaults: Dict[str, Any]
    service: Dict[str, Any]
    task: Dict[str, Any]

    @classmethod
    def load(cls, path: pathlib.Path = SANDBOX_JOBSPEC) -> SandboxJobspec:
        document = load(path)
        (job_id, job), = blocks(document, "job")
        (_, group), = blocks(job, "group")
        (_, task), = blocks(group, "task")
        return cls(job_id, job, variable_defaults(document), only(task, "service"), task)

    @property
    def parameterized(self) -> Dict[str, Any]:
        return only(self.job, "parameterized")

    def service_tags(self, env: Mapping[str, str]) -> Tuple[str, ...]:
        return tuple(render(tag, env) for tag in self.service["tags"])

    def service_meta(self, env: Mapping[str, str]) -> Dict[str, str]:
        return {key: render(value, env) for key, value in only(self.service, "meta").items()}

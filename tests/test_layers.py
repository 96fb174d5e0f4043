"""The layering rule, checked on every import in the tree, so it cannot silently rot.

    app/        the application: may import every layer below it
    proxy/      sessions and runs: only the scheduler's interfaces
    scheduler/  making and ending sandboxes: never the proxy or the app
    common/     configuration and logs: no layer above it
    sandbox/    runs inside the sandbox (Python 3.10, its own environment): itself only

Host layers may use the few I/O-free modules the agent shares with the host (SHARED).
"""
from __future__ import annotations

import ast
import pathlib
import sys
from typing import Dict, Iterator, List, Set, Tuple

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
LAYERS = ("app", "proxy", "scheduler", "common", "sandbox")
SHARED = {"sandbox.wire", "sandbox.limits", "sandbox.modes", "sandbox.paths", "sandbox.ratelimit"}
SCHEDULER_INTERFACE = {"scheduler.interface", "scheduler.errors"}
ALLOWED: Dict[str, Set[str]] = {
    "app": {"app", "proxy", "scheduler", "common", *SHARED},
    "proxy": {"proxy", "common", *SCHEDULER_INTERFACE, *SHARED},
    "scheduler": {"scheduler", "common", *SHARED},
    "common": {"common", *SHARED},
    "sandbox": {"sandbox"},
}


def imports_of(path: pathlib.Path) -> Iterator[Tuple[int, str]]:
    """Every module a file imports, at any depth (function-local imports too)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            # `from scheduler import errors` names the module scheduler.errors
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def allowed(layer: str, module: str) -> bool:
    top = module.split(".")[0]
    if top not in LAYERS:
        return True  # the standard library and installed packages
    rules = ALLOWED[layer]
    if module == top:  # `from scheduler import errors`: the submodule is judged on its own
        return any(rule.split(".")[0] == top for rule in rules)
    return any(module == rule or module.startswith(rule + ".") for rule in rules)


def violations(layer: str) -> List[str]:
    found = []
    for path in sorted((REPO / layer).rglob("*.py")):
        for line, module in imports_of(path):
            if not allowed(layer, module) and not _names_an_object(module):
                found.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    return found


def _names_an_object(module: str) -> bool:
    """`from proxy.errors import ProtocolError` also yields proxy.errors.ProtocolError: only
    module paths that exist as files or packages are judged."""
    parts = module.split(".")
    path = REPO.joinpath(*parts)
    return not (path.with_suffix(".py").exists() or (path / "__init__.py").exists())


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_what_it_may(layer):
    assert violations(layer) == [], f"{layer}/ reaches past its layer"


def test_the_rule_catches_a_proxy_reaching_into_the_scheduler(tmp_path, monkeypatch):
    """Sabotage: the rule must see a forbidden import, function-local ones included."""
    fake = tmp_path / "proxy"
    fake.mkdir()
    (fake / "leaky.py").write_text("def f():\n    from scheduler.local import LocalScheduler\n")
    (tmp_path / "scheduler").mkdir()
    (tmp_path / "scheduler" / "local.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert violations("proxy") == ["proxy/leaky.py:2 imports scheduler.local"]

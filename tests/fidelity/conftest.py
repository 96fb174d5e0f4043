"""The corpus's service (warm pools two deep, so the next program's sandbox is ready while
one runs) and its pass/fail table at the end of the session."""
from __future__ import annotations

import pytest

from tests.conftest import _service
from tests.fidelity.harness import OUTCOMES

POOLS = {"PYPLAY_POOL_PYTHON": "1", "PYPLAY_POOL_PYGAME": "2", "PYPLAY_POOL_TURTLE": "2"}


@pytest.fixture(scope="session")
def corpus_service():
    yield from _service(POOLS)


def pytest_terminal_summary(terminalreporter) -> None:
    if not OUTCOMES:
        return
    write = terminalreporter.write_line
    passed = sum(outcome.passed for outcome in OUTCOMES)
    total_seconds = sum(outcome.seconds for outcome in OUTCOMES)
    terminalreporter.section(f"real-program corpus: {passed}/{len(OUTCOMES)} passed in {total_seconds:.0f} s")
    write(f"{'program':44} {'mode':7} {'result':6} {'seconds':>7} {'frames':>6}  exit / why")
    for outcome in sorted(OUTCOMES, key=lambda o: (o.passed, o.name)):
        result = "pass" if outcome.passed else "FAIL"
        write(f"{outcome.name:44} {outcome.mode:7} {result:6} {outcome.seconds:7.1f} {outcome.frames:6}  "
              f"{outcome.exit} {outcome.why}"[:160])

"""The real-program corpus (tests/fidelity/corpus.py) through the real service, one test
per program, and a pass/fail table at the end of the session (conftest.py).

What every program owes besides its own checks: no traceback before we stop it, and an
end that is ours (stopped) or its own (exit code 0) as its entry says."""
from __future__ import annotations

import time

import pytest

from tests.fidelity.corpus import CORPUS
from tests.fidelity.harness import OUTCOMES, Outcome, run_program


@pytest.mark.parametrize("program", CORPUS, ids=[program.name for program in CORPUS])
async def test_program_runs_as_on_a_desktop(corpus_service, program):
    outcome = Outcome(program.name, program.mode)
    OUTCOMES.append(outcome)
    began = time.monotonic()
    try:
        player, exit_event, text = await run_program(corpus_service, program)
        outcome.frames, outcome.exit = len(player.seen), f"{exit_event['reason']} {exit_event.get('code')}"
        assert "Traceback" not in text, text[-1500:]
        if program.ends:
            assert (exit_event["reason"], exit_event["code"]) == ("exited", 0), (exit_event, text[-800:])
        else:
            assert exit_event["reason"] == "stopped", (exit_event, text[-800:])
        outcome.passed = True
    except BaseException as error:
        outcome.why = f"{type(error).__name__}: {error}".replace("\n", " | ")
        raise
    finally:
        outcome.seconds = time.monotonic() - began

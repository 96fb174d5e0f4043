"""Sabotage checks: with isolation switched off, every deny check must fail; with the
reset between runs switched off, every leak check must fail.

This proves the deny and leak tests test something.  Only those checks run here, never
the resource bombs: without gVisor they would hit the host.
"""
from __future__ import annotations

import pytest

from testkit.client import connect
from testkit.service import Service
from tests.sandbox.hostile.deny_checks import DENY_CHECKS
from tests.sandbox.hostile.leak_checks import LEAK_CHECKS

# What each check must have seen when it fails for the right reason (not a crash).
EVIDENCE = {"files": r"SEEN \['", "environment": r"SECRETS \['", "network": r"REACHED \['",
            "processes": r"PROCS [1-9]"}
# A uid nothing else on the host uses: an agent ends all of its uid's processes, so with no
# sandbox around them agents would end each other's programs; hence no warm pool here.
UNSAFE_UID = "64123"


@pytest.fixture(scope="module")
def unsafe_service():
    service = Service({"PYPLAY_UNSAFE_NO_ISOLATION": "true", "PYPLAY_SANDBOX_UID": UNSAFE_UID,
                       "PYPLAY_POOL_PYTHON": "0"}).start(wait_ready=20)
    yield service
    service.stop()
    service.cleanup()


@pytest.mark.parametrize("name", sorted(DENY_CHECKS))
async def test_deny_check_fails_without_isolation(unsafe_service, name):
    ws = await connect(unsafe_service.url)
    try:
        with pytest.raises(AssertionError, match=EVIDENCE[name]):
            await DENY_CHECKS[name](ws, unsafe_service)
    finally:
        await ws.close()


@pytest.fixture(scope="module")
def no_reset_service():
    """Real gVisor sandboxes whose agents start the next run without resetting."""
    service = Service({"PYPLAY_UNSAFE_SKIP_RESET": "true", "PYPLAY_POOL_PYTHON": "1"}).start()
    yield service
    assert service.stop() == 0
    leftovers = service.runsc_ids()
    service.cleanup()
    assert leftovers == []


@pytest.mark.parametrize("name", sorted(LEAK_CHECKS))
async def test_leak_check_fails_without_the_reset(no_reset_service, name):
    ws = await connect(no_reset_service.url)
    try:
        with pytest.raises(AssertionError, match=r"LEAKED \['"):
            await LEAK_CHECKS[name](ws, no_reset_service)
    finally:
        await ws.close()

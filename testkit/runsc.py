"""What `runsc list` says about the sandboxes under a pyplay state dir (``<state_dir>/runsc``
is the runsc root LocalScheduler uses): whether any are left, and the pid of one's gVisor kernel."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, Dict, List

from scheduler.runsc import sandboxes

LIST_SECONDS = 30.0


def runsc_list(state_dir: str) -> List[Dict[str, Any]]:
    """The entries of ``runsc --root <state_dir>/runsc list -format=json`` (none: ``[]``).

    A failing `runsc list` raises: "nothing listed" must never stand in for "could not look"."""
    command = [shutil.which("runsc") or "runsc", "--root", os.path.join(state_dir, "runsc"), "list", "-format=json"]
    listed = subprocess.run(command, capture_output=True, text=True, timeout=LIST_SECONDS)
    if listed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {listed.returncode}: {listed.stderr.strip()}")
    return sandboxes(listed.stdout)


def runsc_ids(state_dir: str) -> List[str]:
    """The ids of the sandboxes runsc still lists."""
    return [entry["id"] for entry in runsc_list(state_dir)]


def runsc_pid(state_dir: str, sandbox_id: str) -> int:
    """The pid of the sandbox's gVisor kernel (runsc-sandbox), as `runsc list` reports it."""
    for entry in runsc_list(state_dir):
        if entry["id"] == sandbox_id:
            return entry["pid"]
    raise LookupError(f"runsc lists no sandbox {sandbox_id!r} under {state_dir}")

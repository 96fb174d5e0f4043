"""What `runsc list -format=json` says, read in one place (the scheduler, its tests, benchmarks)."""
from __future__ import annotations

import json
from typing import Any, Dict, List


def sandboxes(output: str) -> List[Dict[str, Any]]:
    """The entries of `runsc list -format=json`; none when runsc printed nothing usable."""
    try:
        entries = json.loads(output or "[]") or []
    except ValueError:
        return []
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries if isinstance(entry, dict) and "id" in entry]


def sandbox_ids(output: str) -> List[str]:
    return [str(entry["id"]) for entry in sandboxes(output)]

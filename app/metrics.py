"""Prometheus text exposition of one replica's gauges and live runs (each replica serves its
own on its internal listener; ``pyplay_replica_info`` names it)."""
from __future__ import annotations

from typing import Any, Dict, Iterable

from sandbox.modes import MODES

# sandbox_*: the session leases' counters (proxy/lease.py); sandboxes_live is a gauge.
COUNTER_PREFIXES = ("acquired_", "sandboxes_created", "sandboxes_failed", "sandbox_", "forward")


def render_metrics(stats: Dict[str, float], runs: Iterable[Any], replica: str) -> str:
    lines = ["# TYPE pyplay_replica_info gauge", f'pyplay_replica_info{{replica="{replica}"}} 1']
    for name, value in sorted(stats.items()):
        metric = f"pyplay_{name}"
        kind = "counter" if name.startswith(COUNTER_PREFIXES) else "gauge"
        lines += [f"# TYPE {metric} {kind}", f"{metric} {float(value)}"]
    by_mode: Dict[str, int] = {}
    for run in runs:
        if not run.finished.is_set():
            by_mode[run.mode] = by_mode.get(run.mode, 0) + 1
    lines.append("# TYPE pyplay_runs_live gauge")
    for mode in MODES:
        lines.append(f'pyplay_runs_live{{mode="{mode}"}} {by_mode.get(mode, 0)}')
    return "\n".join(lines) + "\n"

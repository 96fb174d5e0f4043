"""Medians, percentiles and the table every benchmark prints."""
from __future__ import annotations

import statistics
from typing import List, Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def table(title: str, rows: List[Sequence[object]], headers: Sequence[str]) -> str:
    cells = [list(map(str, headers))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    return "\n".join(lines)


def summary_row(name: str, seconds: Sequence[float], baseline: float) -> List[object]:
    median = statistics.median(seconds)
    return [name, len(seconds), f"{median * 1000:.1f}", f"{percentile(seconds, 0.95) * 1000:.1f}",
            f"{median / baseline:.1f}x"]

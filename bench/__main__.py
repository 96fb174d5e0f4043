"""`make bench`: run every benchmark module in bench/ (each prints its own table).

    python -m bench                              # all of them
    python -m bench bench_classroom --quick      # some, each given the options that follow it
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Dict, List

import bench


def main() -> int:
    names = sorted(module.name for module in pkgutil.iter_modules(bench.__path__) if module.name.startswith("bench_"))
    options = _options_by_name(sys.argv[1:])
    status = 0
    for name in names:
        if options and name not in options:
            continue
        print(f"== bench/{name}.py", flush=True)
        module = importlib.import_module(f"bench.{name}")
        sys.argv = [name, *options.get(name, [])]
        try:
            module.main()
        except Exception as error:  # noqa: BLE001 - report and go on to the next benchmark
            print(f"{name} failed: {error!r}", flush=True)
            status = 1
        print(flush=True)
    return status


def _options_by_name(arguments: List[str]) -> Dict[str, List[str]]:
    """``bench_a --x 1 bench_b`` -> {"bench_a": ["--x", "1"], "bench_b": []}."""
    chosen: Dict[str, List[str]] = {}
    current: List[str] = []
    for argument in arguments:
        if argument.startswith("bench_"):
            current = chosen.setdefault(argument, [])
        else:
            current.append(argument)
    return chosen


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: run every benchmark module in bench/ (each prints its own table)."""
from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main() -> int:
    names = sorted(module.name for module in pkgutil.iter_modules(bench.__path__) if module.name.startswith("bench_"))
    only = sys.argv[1:]
    status = 0
    for name in names:
        if only and name not in only:
            continue
        print(f"== bench/{name}.py", flush=True)
        module = importlib.import_module(f"bench.{name}")
        sys.argv = [name]
        try:
            module.main()
        except Exception as error:  # noqa: BLE001 - report and go on to the next benchmark
            print(f"{name} failed: {error!r}", flush=True)
            status = 1
        print(flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

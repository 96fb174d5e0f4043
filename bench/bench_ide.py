"""The IDE in Chromium: click on Run -> first output visible, and display frames drawn per second.

The benches themselves are Playwright scripts (web/bench/*.bench.ts, `make web-bench`); this
runs them from `make bench` and passes their tables through. They need Node, the IDE's npm
packages and Debian's chromium (what `make web-test` needs); without them this says so and skips.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def missing() -> str:
    if not shutil.which("npx"):
        return "npx (Node.js)"
    chromium = os.environ.get("PLAYWRIGHT_CHROMIUM") or shutil.which("chromium")
    return "" if chromium else "Debian's chromium (apt-get install chromium)"


def main() -> None:
    lacking = missing()
    if lacking:
        print(f"bench_ide skipped: needs {lacking}")
        return
    env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    subprocess.run(["make", "--no-print-directory", "web-bench"], cwd=ROOT, env=env, check=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()

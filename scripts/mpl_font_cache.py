"""Builds matplotlib's font list at make time, for the sandbox (build_sandbox_env.sh).

matplotlib scans the machine's fonts on its first import (~0.5 s in gVisor) and keeps the
list in its cache folder; the launcher links this prebuilt one in (sandbox/launcher.py).
Run with the sandbox's Python 3.10 and MPLCONFIGDIR set to an empty scratch folder:

    mpl_font_cache.py BUILT_SITE_PACKAGES OUT_DIR

matplotlib keeps its own fonts' paths relative to its data folder, so they hold in the
sandbox too; of the host's fonts only /usr/share/fonts is mounted there, so only those stay.
"""
from __future__ import annotations

import json
import os
import sys

VISIBLE_HOST_FONTS = "/usr/share/fonts/"


def visible(path: str) -> bool:
    return not os.path.isabs(path) or path.startswith(VISIBLE_HOST_FONTS)


def keep_visible(cache: dict) -> dict:
    for key in ("ttflist", "afmlist"):
        cache[key] = [font for font in cache[key] if visible(font["fname"])]
    return cache


def main() -> None:
    built, out = sys.argv[1:3]
    sys.path.insert(0, built)
    import matplotlib
    from matplotlib import font_manager

    name = f"fontlist-v{font_manager.FontManager.__version__}.json"
    with open(os.path.join(matplotlib.get_cachedir(), name), encoding="utf-8") as handle:
        cache = keep_visible(json.load(handle))
    if not cache["ttflist"]:
        raise SystemExit("mpl_font_cache: no font left in matplotlib's list")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, name), "w", encoding="utf-8") as handle:
        json.dump(cache, handle, indent=1)


if __name__ == "__main__":
    main()

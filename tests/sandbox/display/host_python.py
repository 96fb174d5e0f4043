"""The sandbox's own Python 3.10 and pygame, as `make` built them, for host-side display tests."""
from __future__ import annotations

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[3]
SANDBOX = REPO / "build" / "sandbox"


def python310_prefix() -> pathlib.Path:
    return SANDBOX / "python"


def pygame_site() -> pathlib.Path:
    return SANDBOX / "env" / "lib" / "python3.10" / "site-packages"

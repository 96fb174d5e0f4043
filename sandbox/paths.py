"""Validation of the file names a student uploads: pure, shared by proxy and agent."""
from __future__ import annotations

import posixpath
from typing import Optional


def path_problem(path: object, max_bytes: int = 255) -> Optional[str]:
    """Return why ``path`` is not an acceptable workspace path, or None when it is."""
    if not isinstance(path, str):
        return "a file path must be a string"
    if path == "":
        return "a file path is empty"
    if "\x00" in path:
        return "a file path contains a NUL character"
    if len(path.encode("utf-8", "surrogatepass")) > max_bytes:
        return f"a file path is longer than {max_bytes} bytes"
    if path.startswith("/") or path.startswith("\\"):
        return f"{path!r} is an absolute path; use a path inside the project"
    if "\\" in path:
        return f"{path!r} contains a backslash; use / between folders"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"{path!r} must not contain '..', '.' or empty folder names"
    if any(not part.isprintable() for part in parts):
        return f"{path!r} contains control characters"
    if posixpath.normpath(path) != path:
        return f"{path!r} is not a plain relative path"
    return None

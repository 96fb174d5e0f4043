"""Writing the student's files into the sandbox's workspace, refusing anything odd.

The host validated the paths already; this is the second line of defence, so it
never follows a link and never leaves the workspace.
"""
import base64
import os
from typing import Any, Dict, List

from sandbox.errors import WorkspaceError
from sandbox.paths import path_problem


def decode_files(files: List[Dict[str, Any]], max_bytes: int, max_files: int, max_path: int) -> Dict[str, bytes]:
    if not isinstance(files, list):
        raise WorkspaceError("files must be a list")
    if len(files) > max_files:
        raise WorkspaceError(f"too many files ({len(files)}; the limit is {max_files})")
    decoded: Dict[str, bytes] = {}
    total = 0
    for item in files:
        path = item.get("path") if isinstance(item, dict) else None
        problem = path_problem(path, max_path)
        if problem:
            raise WorkspaceError(problem)
        assert isinstance(path, str)  # path_problem refuses anything else; this tells the type checker
        data = base64.b64decode(item.get("data", ""), validate=True)
        total += len(data)
        if total > max_bytes:
            raise WorkspaceError(f"the files are larger than {max_bytes // 1024} KiB in total")
        decoded[path] = data
    return decoded


def write_files(root: str, files: Dict[str, bytes], uid: int) -> None:
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for path, data in files.items():
            _write_one(root_fd, path.split("/"), data, uid)
    finally:
        os.close(root_fd)


def _write_one(root_fd: int, parts: List[str], data: bytes, uid: int) -> None:
    dir_fd = os.dup(root_fd)
    try:
        for folder in parts[:-1]:
            try:
                os.mkdir(folder, 0o755, dir_fd=dir_fd)
                os.chown(folder, uid, uid, dir_fd=dir_fd, follow_symlinks=False)
            except FileExistsError:
                pass
            next_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = next_fd
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            fd = os.open(parts[-1], flags, 0o644, dir_fd=dir_fd)
        except FileExistsError:
            raise WorkspaceError(f"{'/'.join(parts)!r} is given twice, or is also a folder") from None
        os.fchown(fd, uid, uid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except NotADirectoryError:
        raise WorkspaceError(f"{'/'.join(parts)!r} uses a file name as a folder") from None
    except OSError as error:
        raise WorkspaceError(f"{'/'.join(parts)!r} could not be written: {error.strerror}") from None
    finally:
        os.close(dir_fd)

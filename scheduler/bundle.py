"""The OCI runtime spec of one local gVisor sandbox: pure data, no I/O besides `exists`.

The root is read-only and made of an explicit allow-list of host paths; the
workspace and /tmp are size-limited tmpfs; the only writable host path is the
sandbox's own socket directory (root-owned 0700, so the student cannot use it).
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List

from sandbox.limits import Limits

AGENT_ROOT = "/opt/pyplay/agent"
PYTHON_ROOT = "/opt/pyplay/python"
ENV_ROOT = "/opt/pyplay/env"
SOCKET_DIR = "/run/pyplay"
AGENT_SOCKET = SOCKET_DIR + "/agent.sock"
VNC_SOCKET = SOCKET_DIR + "/vnc.sock"
AUDIO_SOCKET = SOCKET_DIR + "/audio.sock"     # pygame runs' sound, Opus (sandbox/sound.py)
WORKSPACE = "/workspace"

# Host paths a program may read: libraries, tools a student's os.system() might call,
# fonts, X keymaps for Xvnc, Tk's scripts, terminfo, time zones, and the General MIDI
# instruments (freepats) that SDL_mixer's timidity plays .mid files with.  Nothing else.
HOST_READ_ONLY = (
    "/usr/bin", "/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/share/fonts",
    "/usr/share/X11", "/usr/share/tcltk", "/usr/share/terminfo", "/usr/share/zoneinfo",
    "/usr/share/fontconfig", "/usr/share/tigervnc", "/usr/share/midi",
)
# CAP_SYS_ADMIN (inside gVisor, for the agent's own processes only) gives each run a SysV IPC
# namespace of its own; the student's launcher drops every capability with its uid.
AGENT_CAPABILITIES = ["CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE",
                      "CAP_SYS_ADMIN"]


def _bind(source: str, destination: str, writable: bool = False) -> Dict[str, Any]:
    return {"destination": destination, "type": "bind", "source": source,
            "options": ["rbind", "rw" if writable else "ro", "nosuid", "nodev"]}


def _tmpfs(destination: str, size: int, mode: str) -> Dict[str, Any]:
    return {"destination": destination, "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", f"size={size}", f"mode={mode}"]}


def mounts(sandbox_root: str, agent_source: str, socket_dir: str, limits: Limits,
           exists: Callable[[str], bool] = os.path.exists) -> List[Dict[str, Any]]:
    result: List[Dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        _tmpfs("/dev/shm", 16 * 1024 * 1024, "1777"),
        _tmpfs(WORKSPACE, limits.workspace_bytes, "0755"),
        _tmpfs("/tmp", limits.workspace_bytes, "1777"),
    ]
    result += [_bind(path, path) for path in HOST_READ_ONLY if exists(path)]
    result += [
        _bind(os.path.join(sandbox_root, "python"), PYTHON_ROOT),
        _bind(os.path.join(sandbox_root, "env"), ENV_ROOT),
        _bind(agent_source, AGENT_ROOT + "/sandbox"),
        _bind(socket_dir, SOCKET_DIR, writable=True),
    ]
    return result


SCRATCH = ("/tmp", "/dev/shm")   # emptied between runs, with the workspace


def agent_args(mode: str, uid: int, skip_reset: bool = False) -> List[str]:
    display = [] if mode == "python" else ["--vnc-listen", "unix:" + VNC_SOCKET]
    sound = ["--audio-listen", "unix:" + AUDIO_SOCKET] if mode == "pygame" else []
    scratch = [arg for folder in SCRATCH for arg in ("--scratch", folder)]
    sabotage = ["--unsafe-skip-reset"] if skip_reset else []
    return [ENV_ROOT + "/bin/python3", "-m", "sandbox", "--listen", "unix:" + AGENT_SOCKET,
            "--mode", mode, "--workspace", WORKSPACE, "--uid", str(uid), *display, *sound, *scratch, *sabotage]


def spec(mode: str, sandbox_root: str, agent_source: str, socket_dir: str, limits: Limits,
         uid: int, exists: Callable[[str], bool] = os.path.exists, skip_reset: bool = False) -> Dict[str, Any]:
    """The config.json of one sandbox whose agent will serve ``mode``."""
    caps = list(AGENT_CAPABILITIES)
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},  # root *inside* gVisor; the program drops to ``uid``
            "args": agent_args(mode, uid, skip_reset),
            "env": ["PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", "LANG=C.UTF-8"],
            "cwd": AGENT_ROOT,
            "noNewPrivileges": True,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096},
                        {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}],
        },
        "root": {"path": os.path.join(sandbox_root, "rootfs"), "readonly": True},
        "hostname": "pyplay",
        "mounts": mounts(sandbox_root, agent_source, socket_dir, limits, exists),
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
        },
    }

"""Start and stop a real pyplay service (real gVisor sandboxes) for tests and benchmarks."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from typing import Dict, List, Optional

from common.config import Config
from testkit import runsc
from testkit.waiting import WaitTimeout, until_sync

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """`python -m app` on free loopback ports (public and internal) with its own state dir."""

    def __init__(self, env: Optional[Dict[str, str]] = None) -> None:
        self.port = free_port()
        self.admin_port = free_port()
        self.state_dir = tempfile.mkdtemp(prefix="pyplay-test-")
        self.env = {"PYPLAY_PORT": str(self.port), "PYPLAY_HOST": "127.0.0.1",
                    "PYPLAY_ADMIN_PORT": str(self.admin_port), "PYPLAY_ADMIN_HOST": "127.0.0.1",
                    "PYPLAY_STATE_DIR": self.state_dir, "PYPLAY_LOG_FORMAT": "json",
                    "PYPLAY_POOL_PYGAME": "0", "PYPLAY_POOL_TURTLE": "0", **(env or {})}
        self.log_path = os.path.join(self.state_dir, "service.log")
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def http(self) -> str:
        """The public listener: what students (and the load balancer) reach."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> str:
        """The internal listener: REST, /metrics, peers' forwarded sockets."""
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self, wait_ready: float = 60.0) -> Service:
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen([sys.executable, "-m", "app"], cwd=REPO,
                                            env={**os.environ, **self.env}, stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL)
        try:
            until_sync(self._ready, wait_ready, "the service's warm pools to fill", interval=0.1)
        except WaitTimeout:
            self.stop()  # a service that never became ready must not outlive the test
            raise RuntimeError(f"service not ready in {wait_ready}s: {self.log()[-3000:]}") from None
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"service exited: {self.log()[-3000:]}")
        return all(self.pool_ready(mode) for mode in ("python", "pygame", "turtle"))

    def get_json(self, path: str) -> Dict:
        """GET from the internal listener (the operators' REST)."""
        with urllib.request.urlopen(self.admin + path, timeout=5) as answer:
            return json.loads(answer.read())

    def metrics(self) -> Dict[str, float]:
        with urllib.request.urlopen(self.admin + "/metrics", timeout=5) as answer:
            text = answer.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, value = line.split()
                values[name] = float(value)
        return values

    def pool_ready(self, mode: str = "python") -> bool:
        try:
            wanted = int(self.env.get(f"PYPLAY_POOL_{mode.upper()}", Config().pool_size(mode)))
            return self.metrics().get(f"pyplay_pool_ready_{mode}", 0) >= wanted
        except OSError:
            return False

    def runsc_ids(self) -> List[str]:
        """The sandboxes runsc still lists for this service."""
        return runsc.runsc_ids(self.state_dir)

    def runsc_pid(self, sandbox_id: str) -> int:
        """The pid of the sandbox's gVisor kernel (runsc-sandbox), as `runsc list` reports it."""
        return runsc.runsc_pid(self.state_dir, sandbox_id)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def cleanup(self) -> None:
        shutil.rmtree(self.state_dir, ignore_errors=True)

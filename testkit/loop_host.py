"""What the fake Nomad client's sandbox hosts share: an asyncio loop of their own in a
background thread (the fake Nomad starts sandboxes from its HTTP handler threads, so they
cannot depend on the test's loop), and the live sandboxes, removed when the host stops."""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, Dict, Generic, Hashable, List, TypeVar

Sandbox = TypeVar("Sandbox")
T = TypeVar("T")


class LoopHost(Generic[Sandbox]):
    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._sandboxes: Dict[Hashable, Sandbox] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def on_loop(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coroutine`` on the host's loop from any other thread; its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _add(self, key: Hashable, sandbox: Sandbox) -> None:
        with self._lock:
            self._sandboxes[key] = sandbox

    def _forget(self, key: Hashable) -> None:
        with self._lock:
            self._sandboxes.pop(key, None)

    def live(self) -> List[Sandbox]:
        with self._lock:
            return list(self._sandboxes.values())

    def remove(self, sandbox: Sandbox) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        for sandbox in self.live():
            self.remove(sandbox)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

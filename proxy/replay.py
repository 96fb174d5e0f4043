"""A bounded buffer of a run's recent output, addressed by absolute byte offset (for resume)."""
from __future__ import annotations

from typing import Optional


class ReplayBuffer:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data = bytearray()
        self.end = 0  # total bytes ever appended

    @property
    def start(self) -> int:
        return self.end - len(self._data)

    def append(self, chunk: bytes) -> None:
        self._data += chunk
        self.end += len(chunk)
        overflow = len(self._data) - self.capacity
        if overflow > 0:
            del self._data[:overflow]

    def since(self, offset: int) -> Optional[bytes]:
        """Bytes from ``offset`` on, or None when they are no longer kept (or never were)."""
        if offset < self.start or offset > self.end:
            return None
        return bytes(self._data[offset - self.start:])

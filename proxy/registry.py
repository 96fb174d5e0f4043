"""Live runs by id, display tickets, and per-client counts: the proxy's shared state."""
from __future__ import annotations

import hmac
import secrets
import time
from typing import Dict, List, Optional, Tuple

from proxy.run import Run


class RunRegistry:
    def __init__(self, ticket_seconds: float) -> None:
        self._runs: Dict[str, Run] = {}
        self._tickets: Dict[str, Tuple[str, float]] = {}
        self._ticket_seconds = ticket_seconds

    def add(self, run: Run) -> None:
        self._runs[run.id] = run

    def remove(self, run: Run) -> None:
        self._runs.pop(run.id, None)
        for ticket, (run_id, _) in list(self._tickets.items()):
            if run_id == run.id:
                del self._tickets[ticket]

    def get(self, run_id: str) -> Optional[Run]:
        return self._runs.get(run_id)

    def all(self) -> List[Run]:
        return list(self._runs.values())

    def count_for(self, client: str) -> int:
        return sum(1 for run in self._runs.values() if run.client == client and not run.finished.is_set())

    def resume(self, run_id: str, token: str) -> Optional[Run]:
        run = self._runs.get(run_id)
        if run is None or not hmac.compare_digest(run.resume_token.encode(), token.encode()):
            return None
        return run

    # Display tickets: single-run, short-lived, unguessable; usable again while valid so
    # noVNC can reconnect after a drop.
    def issue_ticket(self, run: Run) -> str:
        self._expire_tickets()
        ticket = secrets.token_urlsafe(24)
        self._tickets[ticket] = (run.id, time.monotonic() + self._ticket_seconds)
        return ticket

    def check_ticket(self, run_id: str, ticket: str) -> Optional[Run]:
        self._expire_tickets()
        entry = self._tickets.get(ticket)
        if entry is None or entry[0] != run_id:
            return None
        return self._runs.get(run_id)

    def _expire_tickets(self) -> None:
        now = time.monotonic()
        for ticket, (_, expires) in list(self._tickets.items()):
            if expires < now:
                del self._tickets[ticket]

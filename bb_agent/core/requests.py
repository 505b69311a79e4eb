"""Per-request bookkeeping of the agent: idempotency keys and per-actor sessions.

- :class:`IdempotencyStore`: the first request with a key runs; a retry with the same key
  (while it runs, or within ``ttl_s`` after) gets the first one's result, never a second
  execution.
- :class:`Sessions`: history per (actor, session); one actor never sees another's.
"""

from __future__ import annotations

from collections import OrderedDict
import threading
import time


class IdempotencyStore:
    """Request key -> result, with waiting for a request still in flight."""

    def __init__(self, *, ttl_s: float = 3600.0, maxsize: int = 10_000) -> None:
        self.ttl_s, self.maxsize = ttl_s, maxsize
        self.lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, threading.Event, list]] = OrderedDict()

    def claim(self, key: str) -> tuple[bool, threading.Event, list]:
        """Return (first, done event, result box); only the first claimant runs the request."""
        now = time.monotonic()
        with self.lock:
            for k in [k for k, (t, _e, _b) in self._entries.items() if now - t > self.ttl_s]:
                del self._entries[k]
            if key in self._entries:
                _t, event, box = self._entries[key]
                return False, event, box
            while len(self._entries) >= self.maxsize:
                self._entries.popitem(last=False)
            event, box = threading.Event(), []
            self._entries[key] = (now, event, box)
            return True, event, box

    @staticmethod
    def finish(event: threading.Event, box: list, result) -> None:
        """Publish the first request's result to every retry."""
        box.append(result)
        event.set()


class Sessions:
    """Conversation history per (actor, session); bounded per session."""

    def __init__(self, *, max_turns: int = 20) -> None:
        self.max_turns = max_turns
        self.lock = threading.Lock()
        self._history: dict[tuple[str, str], list[str]] = {}

    def context(self, actor: str, session: str) -> list[str]:
        """Return a copy of the actor's session history (empty for a new session)."""
        with self.lock:
            return list(self._history.get((actor, session), ()))

    def add(self, actor: str, session: str, line: str) -> None:
        """Append one turn to the actor's session."""
        with self.lock:
            turns = self._history.setdefault((actor, session), [])
            turns.append(line)
            del turns[:-self.max_turns]

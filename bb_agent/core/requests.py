"""Per-request bookkeeping of the agent: idempotency keys and per-actor sessions.

- :class:`IdempotencyStore`: the first request with a key runs; a retry with the same key
  (while it runs, or within ``ttl_s`` after) gets the first one's result, never a second
  execution.
- :class:`Sessions`: history per (actor, session); one actor never sees another's.
- :class:`Confirmations`: the plan the intent gate asked about, taken by a "yes".
"""

from __future__ import annotations

from collections import OrderedDict
import re
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


class Confirmations:
    """The plan the gate asked about, per (actor, session), until a "yes" or anything else.

    The agent offers a plan when it defers on an intent mismatch; the requester's next
    request in the same session takes it if it is an affirmative ("yes", "go ahead", "do
    it"), within ``ttl_s``. Any other request drops it: a confirmation answers one question.
    """

    AFFIRMATIVE = re.compile(
        r"^\s*(?:(?:yes|yeah|yep|yup|sure|ok|okay|correct|right|affirmative|confirmed|"
        r"please|do it|go ahead|do that|go for it|that's fine|that is fine|fine|sounds good)"
        r"[\s,.!]*)+$", re.IGNORECASE)

    def __init__(self, *, ttl_s: float = 120.0, clock=time.monotonic) -> None:
        self.ttl_s, self.clock = ttl_s, clock
        self.lock = threading.Lock()
        self._offers: dict[tuple[str, str], tuple[float, object]] = {}

    def offer(self, actor: str, session: str, plan) -> None:
        """Remember ``plan`` as the answer to a "yes" from this actor and session."""
        if self.ttl_s > 0:
            with self.lock:
                self._offers[(actor, session)] = (self.clock(), plan)

    def take(self, actor: str, session: str, text: str):
        """Return the offered plan if ``text`` confirms it in time; drop the offer anyway."""
        with self.lock:
            offered = self._offers.pop((actor, session), None)
        if offered is None or not self.AFFIRMATIVE.match(text):
            return None
        at, plan = offered
        return plan if self.clock() - at <= self.ttl_s else None


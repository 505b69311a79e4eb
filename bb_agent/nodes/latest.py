"""The latest message of a topic, when it arrived, and a wait for a fresh one.

:class:`Latest` is what a node keeps of a state topic (the world, joint states, a base
pose): subscription callbacks ``put``; readers ask for it ``fresh`` (younger than a given
age), optionally waiting for one to arrive. :class:`LiveWorld` adds a lazy, cached
conversion of ``world_state`` to a core World.
"""

from __future__ import annotations

import threading
import time

from bb_agent.core.world import World
from bb_agent.nodes.convert import world_or_none


class Latest:
    """The latest value and its monotonic arrival time (s); thread-safe."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.value = None
        self.at = float('-inf')  # monotonic arrival time of ``value`` (s)

    def put(self, value) -> None:
        """Take a new value (a subscription callback)."""
        with self.cond:
            self.value, self.at = value, time.monotonic()
            self.cond.notify_all()

    def age(self) -> float:
        """Return seconds since the last value (inf before the first)."""
        return time.monotonic() - self.at

    def fresh(self, max_age_s: float, wait_s: float = 0.0):
        """Return the value if younger than ``max_age_s``, waiting up to ``wait_s`` for one."""
        with self.cond:
            if self.cond.wait_for(lambda: self.age() <= max_age_s, timeout=wait_s):
                return self.value
            return None


class LiveWorld(Latest):
    """The latest ``world_state`` message, converted to a World only when asked, and once.

    Subscribers get states at the robot's rate (50 Hz); validating every one into a World
    costs more CPU than most nodes spend on anything else, so only readers pay it.
    A malformed message is dropped at read time: the last valid World stands.
    """

    def __init__(self) -> None:
        super().__init__()
        self.world: World | None = None  # the last valid conversion
        self._converted = None  # the message ``world`` came from

    def get(self) -> World | None:
        """Return the World of the latest valid message (None before the first)."""
        with self.cond:
            if self.value is not None and self.value is not self._converted:
                self._converted = self.value
                self.world = world_or_none(self.value) or self.world
            return self.world

    def fresh_world(self, max_age_s: float) -> World | None:
        """Return the World of the latest message if it is younger than ``max_age_s``."""
        return self.get() if self.fresh(max_age_s) is not None else None

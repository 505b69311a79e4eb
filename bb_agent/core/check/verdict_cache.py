"""A bounded, expiring cache of checker verdicts (LRU + TTL).

Keyed by :func:`cache_key`: the unkeyed approval-token hash of the canonical plan text, the
schema hash and the world-state hash, so any change to the plan, the rules or the world
misses the cache. Not thread-safe by itself; the plan-checker node serialises access.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
import time

from bb_agent.core.check.checker import Verdict, approval_token


def cache_key(canonical: str, schema_hash: str, world_hash: str) -> str:
    """Return the cache key for a canonical plan under a schema and world state."""
    return approval_token(canonical, schema_hash, world_hash, None)


class VerdictCache:
    """LRU cache of verdicts whose entries expire ``ttl_s`` seconds after insertion.

    Args:
        maxsize: most entries kept; the least recently used is evicted first.
        ttl_s: entry lifetime in seconds.
        clock: monotonic time source in seconds (injectable for tests).
    """

    def __init__(self, *, maxsize: int = 256, ttl_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if maxsize < 1 or ttl_s <= 0:
            raise ValueError(f'maxsize must be >= 1 and ttl_s > 0 (got {maxsize}, {ttl_s})')
        self._entries: OrderedDict[str, tuple[float, Verdict]] = OrderedDict()
        self._maxsize, self._ttl, self._clock = maxsize, ttl_s, clock
        self.hits = self.misses = 0

    def get(self, key: str) -> Verdict | None:
        """Return the cached verdict for ``key``, or None when absent or expired."""
        entry = self._entries.get(key)
        if entry is None or self._clock() - entry[0] > self._ttl:
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: str, verdict: Verdict) -> None:
        """Store ``verdict`` under ``key``, evicting the least recently used if full."""
        self._entries[key] = (self._clock(), verdict)
        self._entries.move_to_end(key)
        while len(self._entries) > self._maxsize:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

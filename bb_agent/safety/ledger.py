"""The run ledger: an append-only JSONL record of requests, verdicts, approvals, outcomes.

One line per event, flushed at once, so a crash loses at most the event being written.
"""

from __future__ import annotations

import json
from pathlib import Path
import threading
import time


class Ledger:
    """Appends events to ``path`` (its folder is created)."""

    def __init__(self, path: str | Path, on_record=None) -> None:
        self.path = Path(path)
        self.on_record = on_record  # called with each record once it is written
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def record(self, event: str, **fields) -> dict:
        """Append ``{"t", "event", ...fields}``; return the record."""
        entry = {'t': round(time.time(), 6), 'event': event, **fields}
        line = json.dumps(entry, sort_keys=True, default=str)
        with self.lock, self.path.open('a', encoding='utf-8') as handle:
            handle.write(line + '\n')
        if self.on_record is not None:
            self.on_record(entry)
        return entry

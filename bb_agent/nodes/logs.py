"""Structured JSON log lines: one object per event, with the correlation id when known."""

from __future__ import annotations

import json


def log_json(node, event: str, *, level: str = 'info', **fields) -> str:
    """Log ``{"node", "event", ...fields}`` as one JSON line through the node's logger."""
    line = json.dumps({'node': node.get_name(), 'event': event, **fields}, default=str,
                      sort_keys=True)
    getattr(node.get_logger(), level)(line)
    return line

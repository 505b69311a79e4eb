"""The stop request of a node process: set by the first SIGINT or SIGTERM, never lost.

rclpy's own signal handling turns a SIGINT into a KeyboardInterrupt and a context shutdown.
Both can be lost in start-up: an exception raised while Python runs a ``__del__`` or a
callback is printed and dropped, and a signal that lands before rclpy's handler is in place
never shuts the context down. Seen in CI: a node sent SIGINT 0.3 s after start came up READY
and spun on for ever. So a node process installs :func:`install` before it imports anything
heavy, rclpy is started without its handlers (``lifecycle.ros_init``), and the spin loop polls
:func:`requested` (``lifecycle.run_node``). The request is a flag, so nothing can swallow it.

This module imports nothing heavy: it runs before torch, rclpy and pydantic are imported.
"""

from __future__ import annotations

import signal
import threading

_STOP = threading.Event()
_installed = False


def _on_signal(signum: int, frame) -> None:
    # Only sets the flag: the spin loop ends, then the node cleans up. A second signal (a
    # terminal's Ctrl-C plus launch's SIGINT) lands here too and changes nothing.
    _STOP.set()


def install() -> None:
    """Route SIGINT and SIGTERM to the stop flag (call once, from the main thread)."""
    global _installed
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    _installed = True


def installed() -> bool:
    """Whether this process stops by the flag (a node entry point) or by rclpy's handlers."""
    return _installed


def requested() -> bool:
    """Whether a SIGINT or SIGTERM has asked this process to stop."""
    return _STOP.is_set()


class StopRequested(Exception):  # noqa: N818 (a stop, not an error)
    """Raised where a node's start-up finds that a stop was asked for: a clean exit."""

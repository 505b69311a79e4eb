"""The stop request of a node process: set by the first SIGINT or SIGTERM, never lost.

rclpy's own signal handling turns a SIGINT into a KeyboardInterrupt and a context shutdown.
Seen in CI: a node sent SIGINT 0.3 s after start came up READY and spun on for ever. The
exact loss was never reproduced here; ways it can happen are a KeyboardInterrupt raised
while Python runs a ``__del__`` or a callback (printed and dropped) and a signal landing
while rclpy swaps its handlers in. So a node process installs :func:`install` before it
imports anything heavy, rclpy is started without its handlers (``lifecycle.ros_init``), and
the spin loop checks :func:`requested` (``lifecycle.run_node``). The request is a flag, so
nothing can swallow it. A Python handler only runs between bytecodes, and the main thread
may sit in the middleware's wait: the signal's wakeup byte (``signal.set_wakeup_fd``) wakes
a helper thread at once, which sets the flag and wakes the executor (:func:`on_stop`).

This module imports nothing heavy: it runs before torch, rclpy and pydantic are imported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

_STOP = threading.Event()
_installed = False
_wakers: list = []  # called once a stop is asked for (a node's guard condition trigger)


def _on_signal(signum: int, frame) -> None:
    # Only sets the flag: the spin loop ends, then the node cleans up. A second signal (a
    # terminal's Ctrl-C plus launch's SIGINT) lands here too and changes nothing.
    _STOP.set()


def install() -> None:
    """Route SIGINT and SIGTERM to the stop flag (call once, from the main thread)."""
    global _installed
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read,), name='stop-watch', daemon=True).start()
    _installed = True


def _watch(read: int) -> None:
    # The C-level handler writes each signal's number here, whatever the main thread does.
    while True:
        data = os.read(read, 64)
        if not data:
            return
        if {signal.SIGINT, signal.SIGTERM} & set(data):
            _STOP.set()
            for wake in list(_wakers):
                with contextlib.suppress(Exception):  # a waker of a node already gone
                    wake()


def on_stop(wake) -> None:
    """Call ``wake()`` (from a helper thread) as soon as a stop is asked for."""
    _wakers.append(wake)
    if _STOP.is_set():
        wake()


def installed() -> bool:
    """Whether this process stops by the flag (a node entry point) or by rclpy's handlers."""
    return _installed


def requested() -> bool:
    """Whether a SIGINT or SIGTERM has asked this process to stop."""
    return _STOP.is_set()


class StopRequested(Exception):  # noqa: N818 (a stop, not an error)
    """Raised where a node's start-up finds that a stop was asked for: a clean exit."""

"""A node in a context of its own, spun by a background thread: for CLI tools and clients.

``bb-agent ask``, the demo's client and the tests' client talk to a running stack from
ordinary (blocking) code; this thread answers their futures and subscriptions meanwhile.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rclpy is imported when a node is made: wait_future needs none of it
    from rclpy.action import ActionClient

SPIN_PERIOD_S = 0.02  # longest wait for the spin lock; messages wake the executor at once
JOIN_S = 5.0  # how long close() waits for the spin thread (one SPIN_PERIOD_S in practice)


GONE_S = 2.0  # a server missing from the graph this long has gone (not a discovery blip)


def wait_future(future, timeout: float, alive=None, gone_s: float = GONE_S):
    """Return ``future``'s result once it is done, or None after ``timeout`` seconds.

    For code outside the executor (its node spun by another thread): the future is
    completed by that thread, so this only blocks the caller. With ``alive`` (e.g. an
    action client's ``server_is_ready``), it also gives up with None once the server has
    been gone for ``gone_s`` seconds: a request whose server died gets an answer in seconds,
    not after its own timeout. Call ``alive()`` again to tell the two apart.
    """
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    deadline = time.monotonic() + timeout
    missing_since = None
    while not done.is_set():
        now = time.monotonic()
        if now >= deadline:
            return None
        if alive is not None:
            if alive():
                missing_since = None
            elif missing_since is None:
                missing_since = now
            elif now - missing_since >= gone_s:
                return None
        done.wait(min(0.25, deadline - now))
    return future.result()


class SpunNode:
    """A node ``name`` in its own context, spun in the background until :meth:`close`.

    Make action clients with :meth:`action_client`: rclpy registers an ``ActionClient``
    with its node before the client is complete, and an executor building its wait set at
    that moment dies (``'ActionClient' object has no attribute '_lock'``, seen in CI).
    :meth:`close` joins the spin thread before the context goes: a thread left inside the
    middleware's wait at interpreter exit aborts the process (``terminate called without
    an active exception``, seen from ``bb-agent ask``).
    """

    def __init__(self, name: str) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.spinning = threading.Lock()  # held while the executor waits or runs callbacks
        self.running = True
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        while self.running and self.context.ok():
            with self.spinning:
                self.executor.spin_once(timeout_sec=SPIN_PERIOD_S)

    def action_client(self, action_type, name: str) -> ActionClient:
        """Return an action client on this node, made while the executor is between waits."""
        from rclpy.action import ActionClient
        with self.spinning:
            return ActionClient(self.node, action_type, name)

    def close(self) -> None:
        """Stop spinning, wait for the thread, then destroy the node and the context."""
        self.running = False
        self.thread.join(JOIN_S)
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()

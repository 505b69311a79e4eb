"""Shared start-up and spin helpers of the bb_agent nodes."""

from __future__ import annotations

import rclpy
from rclpy.executors import (
    ExternalShutdownException,
    MultiThreadedExecutor,
    SingleThreadedExecutor,
)


def autostart(node) -> None:
    """Configure and activate a LifecycleNode whose ``autostart`` parameter is true.

    Raises:
        RuntimeError: when a transition fails (the node cannot run; fail at start-up).
    """
    if not node.get_parameter('autostart').value:
        return
    from rclpy.lifecycle import TransitionCallbackReturn
    for transition in (node.trigger_configure, node.trigger_activate):
        if transition() != TransitionCallbackReturn.SUCCESS:
            raise RuntimeError(f'{node.get_name()}: {transition.__name__} failed')


def run_node(node, *, threads: int = 4) -> int:
    """Spin ``node`` until SIGINT/shutdown; print READY once spinning; return 0.

    ``threads=1`` spins a single-threaded executor: for nodes with no blocking callback it
    costs a fraction of the CPU of the multi-threaded one (rclpy's thread pool hand-off).
    """
    executor = SingleThreadedExecutor() if threads == 1 else \
        MultiThreadedExecutor(num_threads=threads)
    executor.add_node(node)
    print(f'{node.get_name()} READY', flush=True)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        if rclpy.ok():
            rclpy.try_shutdown()
    return 0

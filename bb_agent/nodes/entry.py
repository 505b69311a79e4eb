"""Console-script entry points of the nodes: a SIGINT at any moment is a clean stop.

Each function imports its node module only when called, inside the guard, so a Ctrl-C
while Python still imports rclpy, pydantic or torch exits 0 quietly instead of printing a
KeyboardInterrupt traceback (exit -2). This module imports nothing heavy itself.
"""

from __future__ import annotations

import faulthandler
import importlib
import signal


def _run(module: str) -> int:
    # SIGUSR1 prints every thread's stack to stderr: how a hung node is diagnosed
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        return importlib.import_module(f'bb_agent.nodes.{module}').main()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stop has begun
        return 0


def sim_robot() -> int:
    """``sim_robot_node``."""
    return _run('sim_robot_node')


def safety_monitor() -> int:
    """``safety_monitor_node``."""
    return _run('safety_monitor_node')


def plan_checker() -> int:
    """``plan_checker_node``."""
    return _run('plan_checker_node')


def executor() -> int:
    """``executor_node``."""
    return _run('executor_node')


def builder() -> int:
    """``builder_node``."""
    return _run('builder_node')


def agent() -> int:
    """``agent_node``."""
    return _run('agent_node')


def http_bridge() -> int:
    """``http_bridge_node``."""
    return _run('http_bridge_node')


def api_executor() -> int:
    """``api_executor_node``."""
    return _run('api_executor_node')


def chat_bridge() -> int:
    """``chat_bridge_node``."""
    return _run('chat_bridge_node')

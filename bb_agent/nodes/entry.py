"""Console-script entry points of the nodes: a SIGINT or SIGTERM at any moment is a clean stop.

Each function routes both signals to the stop flag (:mod:`bb_agent.nodes.stopping`) first
and only then imports its node module, so a Ctrl-C while Python still imports rclpy,
pydantic or torch is neither a KeyboardInterrupt traceback nor lost: the node stops as
soon as its start-up reaches ``ros_init`` or its spin loop. This module imports nothing
heavy itself.
"""

from __future__ import annotations

import faulthandler
import importlib
import signal

from bb_agent.nodes import stopping


def _run(module: str) -> int:
    # SIGUSR1 prints every thread's stack to stderr: how a hung node is diagnosed
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    stopping.install()
    return importlib.import_module(f'bb_agent.nodes.{module}').main()


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

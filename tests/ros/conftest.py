"""Each multi-process test module gets a DDS domain of its own.

A module's nodes, or a straggler of an earlier module still shutting down on a loaded
machine, can then never feed another module's stack (seen once in CI: a second world with
a human in it reached the runtime-stack module's safety monitor).
"""

import itertools
import os

import pytest

_MODULES = itertools.count(1)


@pytest.fixture(scope='module', autouse=True)
def module_domain():
    """Set ROS_DOMAIN_ID for this module (the run's domain + n, within 1..101)."""
    saved = os.environ['ROS_DOMAIN_ID']
    domain = (int(saved) + next(_MODULES) - 1) % 101 + 1
    os.environ['ROS_DOMAIN_ID'] = str(domain)
    yield domain
    os.environ['ROS_DOMAIN_ID'] = saved


@pytest.fixture
def rclpy_context(monkeypatch):
    """Yield an rclpy context of the test's own (discovery off), for in-process nodes."""
    import rclpy
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'OFF')
    ctx = rclpy.Context()
    rclpy.init(context=ctx, args=['--ros-args', '--log-level', 'fatal'])
    yield ctx
    rclpy.try_shutdown(context=ctx)

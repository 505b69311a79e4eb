"""Parameters are applied when set, or refused with a reason: never accepted and ignored.

In-process nodes in their own rclpy context (no other process); sets go through the
node's real parameter service, as ``ros2 param set`` does.
"""

import os

import pytest
import rclpy
from rclpy.parameter import Parameter

pytestmark = pytest.mark.ros


@pytest.mark.parametrize('name,value,ok,why', [
    ('stale_s', 0.5, True, ''),  # live: applied to the running monitor
    ('warn_fraction', 0.9, True, ''),
    ('stale_s', -1.0, False, 'out of range'),
    ('domain', 'phone', False, 'read-only'),
    ('rate_hz', 200.0, False, 'read-only'),
])
def test_when_a_monitor_parameter_is_set_expect_applied_or_refused_with_a_reason(
        rclpy_context, name, value, ok, why):
    from bb_agent.nodes.safety_monitor_node import SafetyMonitorNode
    node = _in_context(SafetyMonitorNode, rclpy_context)
    try:
        node.trigger_configure()
        result = node.set_parameters([Parameter(name, value=value)])[0]
        assert result.successful is ok, result.reason
        assert why in result.reason
        if ok:
            assert getattr(node.monitor.cfg, name) == value  # the running monitor has it
        else:
            assert node.get_parameter(name).value != value
    finally:
        node.destroy_node()


@pytest.mark.parametrize('name,value,why', [
    ('backoff_s', [-1.0, 2.0], 'read-only'),
    ('adapter', 'bogus', 'read-only'),
    ('adapter_routes', 'pick=twist', 'read-only'),
])
def test_when_an_executor_parameter_is_set_at_run_time_expect_a_refusal(
        rclpy_context, name, value, why):
    from bb_agent.nodes.executor_node import ExecutorNode
    node = _in_context(ExecutorNode, rclpy_context)
    try:
        result = node.set_parameters([Parameter(name, value=value)])[0]
        assert not result.successful and why in result.reason
    finally:
        node.destroy_node()


@pytest.mark.parametrize('override,why', [
    ('backoff_s:=[-1.0, 2.0]', 'outside'),
    ('adapter:=bogus', 'not one of'),
    ('adapter_routes:=pick=twist', 'runs only'),
])
def test_when_an_executor_starts_with_a_bad_value_expect_a_clear_error(override, why,
                                                                      monkeypatch):
    from bb_agent.nodes.executor_node import ExecutorNode
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'OFF')
    ctx = rclpy.Context()
    rclpy.init(context=ctx, args=['--ros-args', '-p', override])
    try:
        with pytest.raises(ValueError, match=why):
            _in_context(ExecutorNode, ctx)
    finally:
        rclpy.try_shutdown(context=ctx)


def _in_context(cls, context):
    """Build ``cls`` (a node whose __init__ takes no arguments) in ``context``."""
    original = rclpy.node.Node.__init__

    def init(self, name, *args, **kwargs):
        kwargs.setdefault('context', context)
        original(self, name, *args, **kwargs)
    rclpy.node.Node.__init__ = init
    try:
        return cls()
    finally:
        rclpy.node.Node.__init__ = original
        os.environ.setdefault('ROS_DOMAIN_ID', '0')

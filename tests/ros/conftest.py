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


@pytest.fixture(scope='module')
def approval_key(tmp_path_factory):
    """Give this module's stack an approval key file of its own (the env var, undone after)."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp('key') / 'approval.key'
    mp.setenv('BB_AGENT_APPROVAL_KEY_FILE', str(path))
    yield path
    mp.undo()


@pytest.fixture(scope='module')
def supervised():
    """Return a function that brings up ``bb-agent up``'s stack with overrides (stopped after).

    The monitor runs at the loaded-machine ``stale_s`` unless the overrides say otherwise,
    and the stack is ready to move when it returns.
    """
    from bb_agent.clients.supervisor import Supervisor
    started = []

    def start(overrides: dict):
        from tests.ros.stack import LOADED_STALE_S, RosClient
        monitor = {'stale_s': LOADED_STALE_S, **overrides.get('safety_monitor', {})}
        s = Supervisor(overrides={**overrides, 'safety_monitor': monitor}, quiet=True)
        started.append(s)
        s.start()
        assert s.wait_ready(180), [c.spec.name for c in s.children if not c.ready.is_set()]
        client = RosClient('supervised_bringup_client')
        try:  # a STOP latched by the starved bring-up is reset, as an operator would
            client.ready_to_move(30)
        finally:
            client.close()
        return s
    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope='module')
def orders():
    """Serve the loopback order service (bench/peers.py) for this module; yield its URL."""
    from bench.peers import orders_service
    with orders_service() as url:
        yield url

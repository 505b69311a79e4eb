"""Every bb_msgs interface round-trips between two OS processes over DDS on loopback.

One peer process (tests/ros/echo_peer.py) serves all interfaces for the whole module:
messages are echoed, services answer with a response derived from the request's bytes,
actions send feedback and a result (or end canceled when the client cancels).
"""

import importlib
import sys
import time

import pytest
import rclpy
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from std_srvs.srv import SetBool

from tests.interface_contract import ACTION, MSG, SRV
from tests.ros.fill import fill, seed_of
from tests.ros.harness import Proc

DISCOVERY_TIMEOUT_S = 15.0  # discovery on LOCALHOST takes 0.1-2.7 s; generous for CI
CALL_TIMEOUT_S = 10.0

pytestmark = pytest.mark.ros


def _cls(family, name):
    return getattr(importlib.import_module(f'bb_msgs.{family}'), name)


class Client:
    """The test side: one node in its own context, spun on demand."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('bb_msgs_roundtrip_client', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=0.05)
        return True

    def wait_future(self, future, timeout=CALL_TIMEOUT_S):
        assert self.spin_until(future.done, timeout), 'no answer from the peer in time'
        return future.result()

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture(scope='module')
def peer(repo_root):
    kinds = ([f'msg:{n}' for n in MSG] + [f'srv:{n}' for n in SRV]
             + [f'action:{n}' for n in ACTION])
    proc = Proc([sys.executable, '-m', 'tests.ros.echo_peer', *kinds], cwd=repo_root)
    assert proc.wait_for_line('READY', 60), f'peer did not start:\n{proc.output()}'
    yield proc
    code = proc.stop()
    assert code in (0, -2), f'peer exited with {code}:\n{proc.output()}'


@pytest.fixture(scope='module')
def client(peer):
    c = Client()
    yield c
    c.close()


@pytest.mark.parametrize('name', sorted(MSG))
def test_when_message_published_to_other_process_expect_identical_echo(client, name):
    cls = _cls('msg', name)
    received = []
    pub = client.node.create_publisher(cls, f'bbtest/in/{name}', 10)
    sub = client.node.create_subscription(cls, f'bbtest/out/{name}', received.append, 10)
    try:
        assert client.spin_until(
            lambda: pub.get_subscription_count() > 0 and sub.get_publisher_count() > 0,
            DISCOVERY_TIMEOUT_S), f'{name}: peer endpoints not discovered'
        sent = fill(cls, 1000 + len(name))
        # Matching is not symmetric in time: a sample sent the moment our side sees the
        # peer may reach a reader that does not see us yet (volatile QoS drops it), so the
        # same message is sent again every 0.5 s until the echo arrives.
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while not received and time.monotonic() < deadline:
            pub.publish(sent)
            client.spin_until(lambda: received, 0.5)
        assert received, f'{name}: no echo'
        assert received[0] == sent
    finally:
        client.node.destroy_publisher(pub)
        client.node.destroy_subscription(sub)


@pytest.mark.parametrize('name', sorted(SRV))
def test_when_service_called_in_other_process_expect_response_derived_from_request(
        client, name):
    cls = _cls('srv', name)
    cli = client.node.create_client(cls, f'bbtest/srv/{name}')
    try:
        assert client.spin_until(cli.service_is_ready, DISCOVERY_TIMEOUT_S)
        request = fill(cls.Request, 2000 + len(name))
        response = client.wait_future(cli.call_async(request))
        assert response == fill(cls.Response, seed_of(request))
    finally:
        client.node.destroy_client(cli)


def _set_hold(client, hold):
    cli = client.node.create_client(SetBool, 'bbtest/hold_goals')
    try:
        assert client.spin_until(cli.service_is_ready, DISCOVERY_TIMEOUT_S)
        assert client.wait_future(cli.call_async(SetBool.Request(data=hold))).success
    finally:
        client.node.destroy_client(cli)


@pytest.mark.parametrize('name', sorted(ACTION))
def test_when_action_goal_sent_to_other_process_expect_feedback_and_result(client, name):
    cls = _cls('action', name)
    _set_hold(client, False)
    ac = ActionClient(client.node, cls, f'bbtest/action/{name}')
    try:
        assert client.spin_until(ac.server_is_ready, DISCOVERY_TIMEOUT_S)
        goal = fill(cls.Goal, 3000 + len(name))
        seed = seed_of(goal)
        feedback = []
        handle = client.wait_future(
            ac.send_goal_async(goal, feedback_callback=lambda f: feedback.append(f.feedback)))
        assert handle.accepted
        result = client.wait_future(handle.get_result_async())
        assert result.status == 4  # action_msgs/GoalStatus STATUS_SUCCEEDED
        assert result.result == fill(cls.Result, seed + 3)
        # Feedback is best-effort ordered with the result; wait briefly for stragglers.
        client.spin_until(lambda: len(feedback) >= 2, 2.0)
        assert feedback == [fill(cls.Feedback, seed + 1), fill(cls.Feedback, seed + 2)]
    finally:
        ac.destroy()


@pytest.mark.parametrize('name', sorted(ACTION))
def test_when_action_goal_canceled_expect_canceled_status_and_result(client, name):
    cls = _cls('action', name)
    _set_hold(client, True)
    ac = ActionClient(client.node, cls, f'bbtest/action/{name}')
    try:
        assert client.spin_until(ac.server_is_ready, DISCOVERY_TIMEOUT_S)
        goal = fill(cls.Goal, 4000 + len(name))
        seed = seed_of(goal)
        feedback = []
        handle = client.wait_future(
            ac.send_goal_async(goal, feedback_callback=lambda f: feedback.append(f.feedback)))
        assert handle.accepted
        assert client.spin_until(lambda: feedback, CALL_TIMEOUT_S), 'no feedback before cancel'
        cancel = client.wait_future(handle.cancel_goal_async())
        assert len(cancel.goals_canceling) == 1
        result = client.wait_future(handle.get_result_async())
        assert result.status == 5  # action_msgs/GoalStatus STATUS_CANCELED
        assert result.result == fill(cls.Result, seed + 4)
    finally:
        ac.destroy()
        _set_hold(client, False)

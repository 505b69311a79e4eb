"""plan_checker_node in this process, in its own namespace: how it treats the live world.

A robot plan is never checked without a fresh world: with none the answer is UNAVAILABLE
(401) after ``world_wait_s``; a world that arrives during the wait is used at once.
"""

import threading
import time
import uuid

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

from bb_agent.core.resources import config_path
from bb_agent.core.schema import load_schema
from bb_agent.core.world import load_world
from bb_agent.nodes.convert import world_to_msg
from bb_agent.nodes.plan_checker_node import PlanCheckerNode
from bb_msgs.msg import PlanGraph, WorldState
from bb_msgs.srv import CheckPlan

pytestmark = pytest.mark.ros
WAIT_S = 0.6  # the node's world_wait_s here
R = CheckPlan.Response


@pytest.fixture
def checker(tmp_path, monkeypatch):
    """Start a checker in a namespace of its own, with a client and a world publisher."""
    monkeypatch.setenv('BB_AGENT_APPROVAL_KEY_FILE', str(tmp_path / 'approval.key'))
    ns = f'/checker_{uuid.uuid4().hex[:8]}'
    context = rclpy.Context()
    rclpy.init(context=context, args=['--ros-args', '-r', f'__ns:={ns}',
                                      '-p', f'world_wait_s:={WAIT_S}'])
    node = PlanCheckerNode(context=context)
    peer = rclpy.create_node('peer', namespace=ns, context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(peer)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    client = peer.create_client(CheckPlan, 'check')
    world = peer.create_publisher(WorldState, 'world_state', 10)
    assert client.wait_for_service(timeout_sec=10.0)
    yield client, world, peer
    executor.shutdown()
    node.destroy_node()
    peer.destroy_node()
    rclpy.shutdown(context=context)


def call(client, timeout=10.0):
    plan = PlanGraph(plan_id=str(uuid.uuid4()), domain='robot',
                     program='s1 = move_to(target=bin_b);\n')
    done = threading.Event()
    future = client.call_async(CheckPlan.Request(plan=plan))
    future.add_done_callback(lambda _f: done.set())
    assert done.wait(timeout)
    return future.result()


def world_msg(peer):
    world = load_world(config_path(*load_schema('robot').default_world.split('/')))
    return world_to_msg(world, peer.get_clock().now().to_msg())


def test_when_no_world_arrives_expect_unavailable_after_the_wait(checker):
    client, _world, _peer = checker
    start = time.monotonic()
    answer = call(client)
    waited = time.monotonic() - start
    assert (answer.outcome, answer.error_code) == (R.OUTCOME_UNAVAILABLE, 401)
    assert 'fresh world' in answer.error_msg and waited >= WAIT_S * 0.9


def test_when_world_arrives_during_the_wait_expect_a_verdict(checker):
    client, world, peer = checker
    msg = world_msg(peer)
    timer = threading.Timer(WAIT_S / 3, lambda: [world.publish(msg) for _ in range(3)])
    timer.start()
    answer = call(client)
    timer.join()
    assert answer.outcome == R.OUTCOME_SUCCEEDED, answer.error_msg
    assert answer.verdict.approved and answer.verdict.world_hash


def test_when_live_world_is_read_expect_lazy_conversion_and_last_valid_kept():
    from builtin_interfaces.msg import Time

    from bb_agent.nodes.latest import LiveWorld
    live = LiveWorld()
    assert live.get() is None and live.age() == float('inf')
    world = load_world(config_path(*load_schema('robot').default_world.split('/')))
    live.put(world_to_msg(world, Time()))
    first = live.get()
    assert first.sha256 == world.sha256 and live.get() is first  # converted once
    bad = world_to_msg(world, Time())
    bad.objects[0].id = bad.objects[1].id  # duplicate ids: not a valid World
    live.put(bad)
    assert live.get() is first and live.age() < 1.0  # dropped, the last valid one stands

"""api_json plans carried out over DDS: plan_checker approves, api_executor makes the call.

A real HTTP service on loopback (bench/peers.py) stands for the user's API; the
checker and the api_executor run as their own processes in this module's DDS domain.
"""

import json
import os
import uuid

import pytest

from bb_msgs.action import ExecutePlan
from bb_msgs.msg import PlanGraph
from bb_msgs.srv import CheckPlan
from bench.peers import Orders
from tests.ros.stack import RosClient, Stack

pytestmark = pytest.mark.ros
R = ExecutePlan.Result
CALLS = Orders.calls


@pytest.fixture(scope='module')
def stack(repo_root, orders, tmp_path_factory):
    env = {**os.environ, 'BB_AGENT_APPROVAL_KEY_FILE':
           str(tmp_path_factory.mktemp('key') / 'approval.key')}
    s = Stack(repo_root, {'plan_checker': ('plan_checker_node', {}),
                          'api_executor': ('api_executor_node', {'base_url': orders})}, env)
    yield s
    s.stop()


@pytest.fixture(scope='module')
def ros(stack):
    c = RosClient('api_executor_test_client')
    c.check = c.node.create_client(CheckPlan, 'check')
    c.execute = c.action_client(ExecutePlan, 'api/execute_plan')
    yield c
    c.close()


def checked(ros, program):
    plan = PlanGraph(plan_id=str(uuid.uuid4()), domain='api_json', program=program)
    answer = ros.call(ros.check, CheckPlan.Request(plan=plan))
    return plan, answer


def goal(plan, answer, **change):
    g = ExecutePlan.Goal(plan=plan, approval_token=answer.verdict.approval_token,
                         world_hash=answer.verdict.world_hash,
                         correlation_id=str(uuid.uuid4()))
    for key, value in change.items():
        setattr(g, key, value)
    return g


ORDER = '{"endpoint": "get_order_status", "args": {"order_id": 42}}'


def test_when_an_approved_call_is_executed_expect_the_service_called_and_its_reply(ros):
    CALLS.clear()
    plan, answer = checked(ros, ORDER)
    assert answer.outcome == CheckPlan.Response.OUTCOME_SUCCEEDED, answer.error_msg
    accepted, result = ros.run_action(ros.execute, goal(plan, answer), 30)
    assert accepted and result.outcome == R.OUTCOME_SUCCEEDED, result.error_msg
    assert CALLS == ['/orders/42']
    assert json.loads(result.summary.nodes[0].message) == {'status': 'shipped'}
    # the same token again: single use
    accepted, again = ros.run_action(ros.execute, goal(plan, answer), 30)
    assert again.outcome == R.OUTCOME_REJECTED and 'already used' in again.error_msg
    assert CALLS == ['/orders/42']


@pytest.mark.parametrize('program,change,needle', [
    # a token of one call does not carry another
    ('{"endpoint": "get_order_status", "args": {"order_id": 43}}', {}, 'does not verify'),
    (ORDER, {'approval_token': '1.deadbeef'}, 'does not verify'),
    (ORDER, {'approval_token': ''}, 'missing'),
    ('{"endpoint": "drop_tables", "args": {}}', {}, 'unknown endpoint'),
])
def test_when_a_call_is_not_the_approved_one_expect_rejected_and_nothing_called(
        ros, program, change, needle):
    CALLS.clear()
    plan, answer = checked(ros, ORDER)
    swapped = PlanGraph(plan_id=plan.plan_id, domain='api_json', program=program)
    accepted, result = ros.run_action(ros.execute, goal(swapped, answer, **change), 30)
    assert result.outcome == R.OUTCOME_REJECTED and needle in result.error_msg, \
        result.error_msg
    assert CALLS == []


def test_when_a_robot_plan_is_sent_to_the_api_door_expect_invalid_input_and_nothing_called(ros):
    CALLS.clear()
    plan, answer = checked(ros, ORDER)
    robot = PlanGraph(plan_id=plan.plan_id, domain='robot', program='s1 = home();\n')
    accepted, result = ros.run_action(ros.execute, goal(robot, answer), 30)
    assert result.outcome == R.OUTCOME_INVALID_INPUT and 'api_json' in result.error_msg
    assert CALLS == []

"""The executor's topic adapters over real DDS: JointTrajectory (arm) and Twist (mobile base).

One sim robot and one checker serve the module; each adapter configuration gets its own
executor process, started in turn. The sim robot takes the same topic interfaces as
ros2_control's joint_trajectory_controller and a base driver's ``cmd_vel``.
"""

import math
import os
import time
import uuid

from geometry_msgs.msg import PoseStamped
import pytest

from bb_agent.domains.robot.motion import HOME
from bb_msgs.action import ExecutePlan
from bb_msgs.msg import PlanGraph, WorldState
from bb_msgs.srv import CheckPlan
from tests.ros.stack import LOADED_STALE_S, RosClient, Stack

pytestmark = pytest.mark.ros
R = ExecutePlan.Result
BIN_B = (0.3, -0.4, 0.05)  # config/worlds/tabletop.json
ARM_TOL_M = 0.03  # joint_tolerance 0.02 rad over 0.9 m of arm
BASE_TOL_M = 0.06  # base_tolerance 0.05 m, plus one control period of drift


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    return {**os.environ, 'BB_AGENT_APPROVAL_KEY_FILE':
            str(tmp_path_factory.mktemp('key') / 'approval.key')}


@pytest.fixture(scope='module')
def robot(repo_root, env):
    # The safety monitor too: the executor moves nothing without its heartbeat.
    s = Stack(repo_root, {'sim_robot': ('sim_robot_node', {'time_scale': 4.0}),
                          'safety_monitor': ('safety_monitor_node', {'stale_s': LOADED_STALE_S}),
                          'plan_checker': ('plan_checker_node', {})}, env)
    yield s
    s.stop()


@pytest.fixture(scope='module')
def ros(robot):
    c = RosClient('adapter_test_client')
    c.check = c.node.create_client(CheckPlan, 'check')
    c.execute = c.action_client(ExecutePlan, 'execute_plan')
    c.world = c.collect(WorldState, 'world_state')
    c.base = c.collect(PoseStamped, 'base/pose')
    assert c.wait_until(lambda: c.world and c.base, 15)
    yield c
    c.close()


def executor(ros, repo_root, env, **params):
    """Start an executor process; then reset a STOP its start-up load may have latched.

    Each executor gets a fresh action client: the module's earlier one may still count
    the previous (stopped) executor's server as matched, so its wait_for_server can pass
    before the new server has matched it, and the first goal is lost.
    """
    stack = Stack(repo_root, {'executor': ('executor_node', params)}, env)
    ros.execute = ros.action_client(ExecutePlan, 'execute_plan')
    ros.ready_to_move()
    return stack


def approved(ros, program):
    plan = PlanGraph(plan_id=str(uuid.uuid4()), domain='robot', program=program)
    answer = ros.check_until_world(ros.check, plan)
    assert answer.outcome == CheckPlan.Response.OUTCOME_SUCCEEDED, answer.error_msg
    return ExecutePlan.Goal(plan=plan, approval_token=answer.verdict.approval_token,
                            world_hash=answer.verdict.world_hash,
                            correlation_id=str(uuid.uuid4()))


def ee(ros):
    p = ros.world[-1].robot.end_effector.position
    return (p.x, p.y, p.z)


def base_xy(ros):
    p = ros.base[-1].pose.position
    return (p.x, p.y)


def test_when_arm_adapter_is_joint_trajectory_expect_arm_reaches_each_target(
        ros, repo_root, env):
    ex = executor(ros, repo_root, env, adapter='joint_trajectory')
    try:
        for program, where in (('s1 = move_to(target=bin_b);\n', BIN_B),
                               ('s1 = home();\n', HOME)):
            accepted, result = ros.run_action(ros.execute, approved(ros, program), 30)
            assert accepted and result.outcome == R.OUTCOME_SUCCEEDED, result.error_msg
            assert ros.wait_until(lambda w=where: math.dist(ee(ros), w) < ARM_TOL_M, 2), \
                (program, ee(ros))
        # pick needs the gripper: this adapter cannot run it, so nothing starts.
        assert ros.wait_until(lambda: math.dist(ee(ros), HOME) < 1e-6, 2)  # settled
        before = ee(ros)
        accepted, result = ros.run_action(ros.execute, approved(
            ros, 's1 = pick(object=red_cup);\n'), 10)
        assert accepted and (result.outcome, result.error_code) == (R.OUTCOME_REJECTED, 302)
        assert 'pick' in result.error_msg and result.summary.nodes_total == 0
        assert math.dist(ee(ros), before) < 1e-6
    finally:
        ex.stop()


def test_when_move_to_routes_to_twist_expect_base_drives_there_and_back(ros, repo_root, env):
    ex = executor(ros, repo_root, env, adapter_routes='move_to=twist,home=twist')
    try:
        for program, where in (('s1 = move_to(target=bin_b);\n', BIN_B[:2]),
                               ('s1 = home();\n', (0.0, 0.0))):
            accepted, result = ros.run_action(ros.execute, approved(ros, program), 30)
            assert accepted and result.outcome == R.OUTCOME_SUCCEEDED, result.error_msg
            assert math.dist(base_xy(ros), where) < BASE_TOL_M, (program, base_xy(ros))
    finally:
        ex.stop()


def test_when_base_drive_is_canceled_expect_zero_twist_and_base_stands_still(
        ros, repo_root, env):
    ex = executor(ros, repo_root, env, adapter='twist', base_max_linear=0.05)
    try:
        goal = approved(ros, 's1 = move_to(target=bin_a);\n')
        assert ros.execute.wait_for_server(timeout_sec=10)
        start = base_xy(ros)
        handle = ros.wait(ros.execute.send_goal_async(goal), 10)
        assert ros.wait_until(lambda: math.dist(base_xy(ros), start) > 0.01, 10)
        ros.wait(handle.cancel_goal_async(), 5)
        result = ros.wait(handle.get_result_async(), 5).result
        assert result.outcome == R.OUTCOME_CANCELED, result.error_msg
        time.sleep(0.2)  # the zero twist lands
        stopped_at = base_xy(ros)
        time.sleep(0.5)
        assert math.dist(base_xy(ros), stopped_at) < 1e-3
        assert math.dist(stopped_at, (0.3, 0.4)) > BASE_TOL_M  # it did not get there
    finally:
        ex.stop()

"""The runtime nodes over real DDS: checker, executor, safety monitor and the sim robot.

One bring-up (four processes) serves the module; the last test kills the robot.
Numeric thresholds are the module's parameters below.
"""

import math
import os
import time
import uuid

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import Point
import pytest
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from bb_agent.core.schema import load_schema
from bb_agent.nodes.qos import LATCHED
from bb_msgs.action import ExecutePlan
from bb_msgs.msg import PlanGraph, SafetyStatus, WorldState
from bb_msgs.srv import CheckPlan
from tests.ros.stack import RosClient, Stack

pytestmark = pytest.mark.ros
STOP_PREEMPT_S = 0.5  # human appears -> goal ends STOPPED (monitor 100 Hz + executor poll)
KILL_TO_RESULT_S = 2.0  # robot SIGKILLed mid-plan -> typed result with safe pose commanded
SCHEMA = load_schema('robot')
PROBE = 's1 = move_to(target=bin_b);\n'


@pytest.fixture(scope='module')
def stack(repo_root, tmp_path_factory):
    env = {**os.environ, 'BB_AGENT_APPROVAL_KEY_FILE':
           str(tmp_path_factory.mktemp('key') / 'approval.key')}
    s = Stack(repo_root, {
        'sim_robot': ('sim_robot_node', {'time_scale': 4.0}),
        'safety_monitor': ('safety_monitor_node', {}),
        'plan_checker': ('plan_checker_node', {}),
        'executor': ('executor_node', {'backoff_s': '[0.05, 0.1, 0.2, 0.4]'}),
    }, env)
    yield s
    s.stop()


@pytest.fixture(scope='module')
def ros(stack):
    c = RosClient('runtime_test_client')
    c.check = c.node.create_client(CheckPlan, 'check')
    c.execute = c.action_client(ExecutePlan, 'execute_plan')
    c.reset = c.node.create_client(Trigger, 'safety/reset')
    c.human = c.node.create_publisher(Point, 'sim/human', 10)
    c.status = c.collect(SafetyStatus, 'safety/status')
    c.estop = c.collect(Bool, 'estop', LATCHED)
    c.diagnostics = c.collect(DiagnosticArray, '/diagnostics')
    c.world = c.collect(WorldState, 'world_state')
    c.ready_to_move(15)
    # The checker answers UNAVAILABLE (401) until its own world subscription has matched;
    # on a loaded box that can trail the monitor's. Wait for it, as a client would retry.
    probe = PlanGraph(plan_id='probe', domain='robot', program=PROBE)
    assert c.check_until_world(c.check, probe).error_code != 401, \
        'checker never saw a fresh world state'
    yield c
    c.close()


def check(ros, program):
    plan = PlanGraph(plan_id=str(uuid.uuid4()), domain='robot', program=program)
    return plan, ros.call(ros.check, CheckPlan.Request(plan=plan))


def execute(ros, plan, token, world_hash, timeout=30.0):
    goal = ExecutePlan.Goal(plan=plan, approval_token=token, world_hash=world_hash,
                            correlation_id=str(uuid.uuid4()))
    return ros.run_action(ros.execute, goal, timeout)


def monitor_stops(stack) -> str:
    """Return the safety monitor's 'STOP latched' log lines (why it stopped)."""
    return '\n'.join(line for line in stack.procs['safety_monitor'].lines
                     if 'STOP latched' in line)


def test_when_approved_plan_is_executed_expect_success_and_summary(ros, stack):
    plan, answer = check(ros, 's1 = pick(object=red_cup);\n'
                              's2 = place(object=red_cup, target=bin_a);\n')
    assert answer.outcome == CheckPlan.Response.OUTCOME_SUCCEEDED, answer.error_msg
    accepted, result = execute(ros, plan, answer.verdict.approval_token,
                               answer.verdict.world_hash)
    assert accepted and result.outcome == ExecutePlan.Result.OUTCOME_SUCCEEDED, \
        f'{result.error_msg}\n{monitor_stops(stack)}'
    assert result.summary.nodes_succeeded == 2 and not result.summary.safe_pose_commanded


@pytest.mark.parametrize('forge', ['missing', 'forged', 'other_world', 'edited_program'])
def test_when_token_is_missing_or_forged_expect_refusal_and_nothing_moves(ros, forge):
    plan, answer = check(ros, 's1 = move_to(target=bin_b);\n')
    token, world = answer.verdict.approval_token, answer.verdict.world_hash
    if forge == 'missing':
        token = ''
    elif forge == 'forged':
        token = 'f' * 64
    elif forge == 'other_world':
        world = '0' * 64
    else:
        plan.program = 's1 = move_to(target=bin_a);\n'
    before = ros.status[-1].header.stamp
    accepted, result = execute(ros, plan, token, world)
    assert accepted and result.outcome == ExecutePlan.Result.OUTCOME_REJECTED
    assert result.error_code == 202 and 'token' in result.error_msg
    assert result.summary.nodes_total == 0 and before is not None


def test_when_plan_breaks_a_safety_rule_expect_checker_rejection_with_reasons(ros):
    _plan, answer = check(ros, 's1 = move_to(target=bin_a, speed=0.9 m/s);\n')
    assert answer.outcome == CheckPlan.Response.OUTCOME_REJECTED
    assert not answer.verdict.approval_token and answer.verdict.violations


def test_when_human_enters_during_motion_expect_stop_within_bound_then_reset(ros, stack):
    plan, answer = check(ros, 's1 = move_to(target=bin_b, speed=0.05 m/s);\n'
                              's2 = move_to(target=bin_a, speed=0.05 m/s);\n')
    assert answer.outcome == CheckPlan.Response.OUTCOME_SUCCEEDED, answer.error_msg
    goal = ExecutePlan.Goal(plan=plan, approval_token=answer.verdict.approval_token,
                            world_hash=answer.verdict.world_hash, correlation_id='human')
    assert ros.execute.wait_for_server(timeout_sec=10)
    handle = ros.wait(ros.execute.send_goal_async(goal), 10)
    time.sleep(0.5)  # moving now
    ee = ros.world[-1].robot.end_effector.position
    start = time.monotonic()
    ros.human.publish(Point(x=ee.x + 0.15, y=ee.y, z=ee.z))  # 0.15 m from the gripper
    result = ros.wait(handle.get_result_async(), 10).result
    elapsed = time.monotonic() - start
    assert result.outcome == ExecutePlan.Result.OUTCOME_STOPPED, result.error_msg
    assert elapsed < STOP_PREEMPT_S, elapsed
    assert ros.wait_until(lambda: ros.estop and ros.estop[-1].data, 2)
    assert not ros.call(ros.reset, Trigger.Request()).success  # the human is still there
    ros.human.publish(Point(x=math.nan, y=math.nan, z=math.nan))
    assert ros.wait_until(lambda: ros.status[-1].v_s < 1.0, 2)
    # A reset needs reset_hold_s (1 s) of fresh states below the threshold in a row.
    early = ros.call(ros.reset, Trigger.Request())
    assert not early.success and 'in a row' in early.message
    deadline = time.monotonic() + 3.0
    while not (reset := ros.call(ros.reset, Trigger.Request())).success and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert reset.success, f'{reset.message}\n{monitor_stops(stack)}'
    assert ros.wait_until(lambda: not ros.estop[-1].data, 2)


def _clear_human(ros, stack):
    """Remove the sim's person and reset STOP if it latched (a reset needs 1 s of safety)."""
    ros.human.publish(Point(x=math.nan, y=math.nan, z=math.nan))
    assert ros.wait_until(lambda: not any(o.kind == 'human' for o in ros.world[-1].objects), 3)
    deadline = time.monotonic() + 5.0
    while ros.status[-1].latched and time.monotonic() < deadline:
        ros.call(ros.reset, Trigger.Request())
        time.sleep(0.2)
    assert not ros.status[-1].latched, monitor_stops(stack)


def test_when_an_approval_token_is_replayed_expect_the_second_use_refused(ros):
    plan, answer = check(ros, 's1 = move_to(target=bin_b, speed=0.3 m/s);\n')
    token, world = answer.verdict.approval_token, answer.verdict.world_hash
    first = execute(ros, plan, token, world)[1]
    assert first.outcome == ExecutePlan.Result.OUTCOME_SUCCEEDED, first.error_msg
    accepted, again = execute(ros, plan, token, world)
    assert accepted and again.outcome == ExecutePlan.Result.OUTCOME_REJECTED
    assert again.error_code == 202 and 'already used' in again.error_msg
    assert again.summary.nodes_total == 0


@pytest.mark.parametrize('how', ['forged_world', 'stale_approval'])
def test_when_the_world_changed_since_the_check_expect_the_executor_to_refuse(ros, stack, how):
    # The check sees a world without the person (a forged world_state, or an approval
    # minted before the person stepped in); the executor re-checks on its own live world.
    empty = ros.world[-1]
    program = 's1 = move_to(target=bin_b, speed=0.3 m/s);\n'
    if how == 'stale_approval':
        plan, answer = check(ros, program)
    ros.human.publish(Point(x=0.3, y=-0.55, z=0.1))  # beside bin_b
    assert ros.wait_until(lambda: any(o.kind == 'human' for o in ros.world[-1].objects), 3)
    try:
        if how == 'forged_world':
            plan = PlanGraph(plan_id=str(uuid.uuid4()), domain='robot', program=program)
            answer = ros.call(ros.check, CheckPlan.Request(plan=plan, world_state=[empty]))
        assert answer.outcome == CheckPlan.Response.OUTCOME_SUCCEEDED, answer.error_msg
        accepted, result = execute(ros, plan, answer.verdict.approval_token,
                                   answer.verdict.world_hash)
        assert accepted and result.outcome == ExecutePlan.Result.OUTCOME_REJECTED
        assert result.error_code == 201 and 'live world' in result.error_msg, result.error_msg
        assert 'person' in result.error_msg and result.summary.nodes_total == 0
    finally:
        _clear_human(ros, stack)


def test_when_a_plan_needs_an_operator_and_none_approved_expect_refusal(ros, stack):
    ros.human.publish(Point(x=1.2, y=-0.8, z=0.3))  # present, and far from the arm
    assert ros.wait_until(lambda: any(o.kind == 'human' for o in ros.world[-1].objects), 3)
    try:
        plan, answer = check(ros, 's1 = pick(object=red_cup, speed=0.1 m/s);\n'
                                  's2 = hand_over(object=red_cup);\n')
        assert answer.outcome == CheckPlan.Response.OUTCOME_SUCCEEDED, answer.error_msg
        accepted, result = execute(ros, plan, answer.verdict.approval_token,
                                   answer.verdict.world_hash)
        assert accepted and result.outcome == ExecutePlan.Result.OUTCOME_REJECTED
        assert result.error_code == 402 and 'operator' in result.error_msg
        assert result.summary.nodes_total == 0
    finally:
        _clear_human(ros, stack)


def test_when_the_safety_monitor_hangs_expect_no_motion_and_a_typed_failure(ros, stack):
    import signal
    plan, answer = check(ros, 's1 = move_to(target=bin_a, speed=0.3 m/s);\n')
    assert answer.outcome == CheckPlan.Response.OUTCOME_SUCCEEDED, answer.error_msg
    before = ros.world[-1].robot.end_effector.position
    monitor = stack.procs['safety_monitor'].popen
    os.killpg(monitor.pid, signal.SIGSTOP)  # hung: alive, silent
    try:
        time.sleep(0.5)
        accepted, result = execute(ros, plan, answer.verdict.approval_token,
                                   answer.verdict.world_hash)
        after = ros.world[-1].robot.end_effector.position
    finally:
        os.killpg(monitor.pid, signal.SIGCONT)
    assert accepted and result.outcome != ExecutePlan.Result.OUTCOME_SUCCEEDED
    assert result.error_code == 400 and 'heartbeat' in result.error_msg, result.error_msg
    assert math.dist((before.x, before.y, before.z), (after.x, after.y, after.z)) < 1e-3
    _clear_human(ros, stack)  # the monitor latches on its stale inputs when it resumes


def test_when_robot_is_killed_mid_plan_expect_typed_error_safe_pose_and_stale_stop(ros, stack):
    # the bin farther from where earlier tests left the arm: the move lasts seconds
    p = ros.world[-1].robot.end_effector.position
    target = max(('bin_a', (0.3, 0.4, 0.05)), ('bin_b', (0.3, -0.4, 0.05)),
                 key=lambda b: math.dist((p.x, p.y, p.z), b[1]))[0]
    plan, answer = check(ros, f's1 = move_to(target={target}, speed=0.05 m/s);\n')
    goal = ExecutePlan.Goal(plan=plan, approval_token=answer.verdict.approval_token,
                            world_hash=answer.verdict.world_hash, correlation_id='kill')
    handle = ros.wait(ros.execute.send_goal_async(goal), 10)
    time.sleep(0.5)
    start = time.monotonic()
    stack.kill('sim_robot')
    result = ros.wait(handle.get_result_async(), 10).result
    assert time.monotonic() - start < KILL_TO_RESULT_S
    # Whichever notices first: the executor's heartbeat (adapter unavailable) or the
    # monitor's stale-state STOP; both are typed, and both command the safe pose.
    assert (result.outcome, result.error_code) in {
        (ExecutePlan.Result.OUTCOME_FAILED, 303), (ExecutePlan.Result.OUTCOME_STOPPED, 400)}
    assert result.summary.safe_pose_commanded
    assert ros.wait_until(lambda: ros.status[-1].latched and
                          'stale' in ' '.join(ros.status[-1].reasons), 2)
    assert ros.wait_until(lambda: any(s.level == DiagnosticStatus.ERROR for d in
                                      ros.diagnostics[-3:] for s in d.status), 3)

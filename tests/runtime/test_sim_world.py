"""The embedded kinematic robot: skills change the world; faults are injected on request."""

import math
import threading

import pytest

from bb_agent.core.outcomes import ErrorCode
from bb_agent.core.resources import config_path
from bb_agent.core.world import load_world
from bb_agent.domains.robot.motion import JOINT_LIMITS
from bb_agent.domains.robot.sim_world import Faults, SimWorld

WORLD = load_world(config_path('worlds', 'tabletop.json'))


def sim(**faults):
    return SimWorld(WORLD, faults=Faults(**faults), time_scale=20.0, seed=1)


def test_when_object_is_picked_and_placed_expect_world_facts_and_positions_updated():
    robot, cancel = sim(), threading.Event()
    assert robot.run_skill('pick', {'object': 'red_cup', 'speed': 0.5}, 10, cancel).ok
    assert 'holding(red_cup)' in robot.snapshot().facts
    assert robot.run_skill('place', {'object': 'red_cup', 'target': 'bin_a', 'speed': 0.5},
                           10, cancel).ok
    world = robot.snapshot()
    assert 'gripper_empty' in world.facts and 'at(red_cup,bin_a)' in world.facts
    cup, bin_a = world.object('red_cup').position, world.object('bin_a').position
    assert math.dist(cup[:2], bin_a[:2]) < 0.01


@pytest.mark.parametrize('faults,skill,args,code', [
    ({'fail_skills': ('scan',)}, 'scan', {}, ErrorCode.SKILL_FAILED),
    ({'failure_rate': 1.0}, 'home', {}, ErrorCode.SKILL_FAILED),
    ({'stall_rate': 1.0}, 'home', {}, ErrorCode.SKILL_TIMEOUT),
    ({}, 'fly', {}, ErrorCode.UNKNOWN_SKILL),
    ({}, 'place', {'object': 'red_cup', 'target': 'bin_a'}, ErrorCode.PRECONDITION_FAILED),
])
def test_when_fault_is_injected_expect_typed_failure(faults, skill, args, code):
    result = sim(**faults).run_skill(skill, args, 0.3, threading.Event())
    assert not result.ok and result.error_code is code


def test_when_estop_is_latched_expect_motion_refused_and_running_skill_preempted():
    robot = sim()
    robot.estop.set()
    refused = robot.run_skill('home', {}, 5, threading.Event())
    assert refused.error_code is ErrorCode.SAFETY_STOP


def test_when_state_is_frozen_expect_identical_snapshots_while_robot_moves():
    robot = sim(stale_state=True)
    first = robot.snapshot()
    robot.run_skill('move_to', {'target': 'bin_b', 'speed': 0.5}, 10, threading.Event())
    assert robot.snapshot() is first and robot.ee != first.robot.ee_position


def test_when_arm_reaches_targets_expect_joints_within_limits():
    robot = sim()
    for target in ('bin_a', 'bin_b', 'green_ball'):
        robot.run_skill('move_to', {'target': target, 'speed': 0.8}, 10, threading.Event())
        for q, (lo, hi) in zip(robot.joints(), JOINT_LIMITS, strict=True):
            assert lo <= q <= hi, (target, robot.joints())


def test_when_the_robot_process_is_paused_mid_motion_expect_a_halt_not_one_more_step(
        monkeypatch):
    import time

    from bb_agent.domains.robot import sim_world
    from bb_agent.domains.robot.sim_world import DT
    robot = SimWorld(WORLD)
    real_sleep, calls = time.sleep, [0]

    def sleep(seconds):  # the third step's sleep is a freeze (SIGSTOP, a frozen VM)
        calls[0] += 1
        real_sleep(0.7 if calls[0] == 3 else seconds)

    monkeypatch.setattr(sim_world.time, 'sleep', sleep)
    start = robot.ee
    result = robot.run_skill('move_to', {'target': 'bin_b', 'speed': 0.1}, 10.0,
                             threading.Event())
    assert not result.ok and 'paused' in result.message
    assert math.dist(robot.ee, start) <= 3 * 0.1 * DT + 1e-9  # no step after the freeze
    assert robot.speed == 0.0

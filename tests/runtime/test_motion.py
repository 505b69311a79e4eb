"""Motion maths, the sim base, the sim's trajectory input and adapter routing.

Arm kinematics and the base's go-to-point law are pure; the sim pieces run in-process.
"""

import math
import time

import pytest

from bb_agent.core.resources import config_path
from bb_agent.core.world import load_world
from bb_agent.domains.robot.motion import (
    HOME,
    BaseLimits,
    base_goal,
    forward_kinematics,
    go_to_point,
    inverse_kinematics,
    joint_goal,
    joints_reached,
    trajectory_duration,
    yaw_from_quaternion,
)
from bb_agent.domains.robot.sim_base import BaseSpec, SimBase
from bb_agent.domains.robot.sim_world import SimWorld
from bb_agent.nodes.motion_adapters import AdapterRouter, parse_routes

WORLD = load_world(config_path('worlds', 'tabletop.json'))


@pytest.mark.parametrize('point', [HOME, (0.3, -0.4, 0.05), (0.45, 0.1, 0.17),
                                   (-0.2, 0.5, 0.3), (0.6, 0.0, 0.1)])
def test_when_ik_solution_is_fed_to_fk_expect_the_same_point(point):
    assert math.dist(forward_kinematics(inverse_kinematics(point)), point) < 1e-9


@pytest.mark.parametrize('skill,args,expect', [
    ('home', {}, HOME),
    ('move_to', {'target': 'bin_b'}, (0.3, -0.4, 0.05)),
    ('move_to', {'target': [0.4, 0.0, 0.3]}, (0.4, 0.0, 0.3)),
    ('move_to', {'target': 'nowhere'}, 'unknown target'),
    ('pick', {'object': 'red_cup'}, 'not a motion skill'),
    ('move_to', {'target': [0.05, 0.0, -0.5]}, 'outside'),  # below the base: joint limits
])
def test_when_motion_skill_is_mapped_to_joints_expect_goal_or_reason(skill, args, expect):
    goal = joint_goal(skill, args, WORLD)
    if isinstance(expect, str):
        assert isinstance(goal, str) and expect in goal
    else:
        assert math.dist(forward_kinematics(goal), expect) < 1e-9


def test_when_joints_move_expect_slowest_joint_sets_duration_and_reach_uses_tolerance():
    assert trajectory_duration((0, 0, 0), (1.0, -2.0, 0.5), 1.0) == pytest.approx(2.0)
    assert trajectory_duration((0, 0, 0), (0, 0, 0), 1.0) == pytest.approx(0.1)  # floor
    names = ('a', 'b')
    assert joints_reached({'a': 1.0, 'b': 2.01}, names, (1.0, 2.0), 0.02)
    assert not joints_reached({'a': 1.0, 'b': 2.05}, names, (1.0, 2.0), 0.02)
    assert not joints_reached({'a': 1.0}, names, (1.0, 2.0), 0.02)  # a joint not reported


@pytest.mark.parametrize('pose,goal,expect', [
    ((0.3, -0.4, 0.0), (0.3, -0.4), (0.0, 0.0, True)),  # there
    ((0.0, 0.0, 0.0), (0.0, 1.0), (0.0, 1.0, False)),  # 90 deg off: turn in place, capped
    ((0.0, 0.0, 0.0), (2.0, 0.0), (0.3, 0.0, False)),  # straight ahead: speed capped
    ((0.0, 0.0, 0.0), (0.1, 0.0), (0.1, 0.0, False)),  # close: proportional
    ((0.0, 0.0, math.pi - 0.1), (-1.0, 0.01), None),  # heading wraps across +-pi
])
def test_when_base_drives_to_point_expect_saturated_turn_then_drive(pose, goal, expect):
    linear, angular, arrived = go_to_point(pose, goal, BaseLimits())
    if expect is None:
        assert not arrived and linear > 0.25 and abs(angular) < 0.4
    else:
        assert (linear, angular, arrived) == pytest.approx(expect)


def test_when_base_goal_is_asked_expect_target_xy_or_home():
    assert base_goal('move_to', {'target': 'bin_a'}, WORLD) == (0.3, 0.4)
    assert base_goal('home', {}, WORLD) == (0.0, 0.0)
    assert 'unknown' in base_goal('move_to', {'target': 'x'}, WORLD)
    assert yaw_from_quaternion(math.sin(0.3), math.cos(0.3)) == pytest.approx(0.6)


def test_when_base_commands_stop_arriving_expect_it_stands_still():
    base = SimBase(BaseSpec(command_timeout_s=0.05), time_scale=10.0)
    base.command_velocity(0.5, 0.0)
    time.sleep(0.03)
    moved = base.step()[0]
    assert moved > 0.05
    time.sleep(0.1)
    base.step()  # integrates up to now, but the command went stale
    still = base.step()[0]
    assert still == pytest.approx(base.step()[0]) and base.speed == 0.0


@pytest.mark.parametrize('command', [(math.nan, 0.0), (0.2, math.inf)])
def test_when_base_command_is_not_finite_expect_it_is_refused_as_a_stop(command):
    base = SimBase(time_scale=10.0)
    base.command_velocity(*command)
    time.sleep(0.02)
    assert base.step() == (0.0, 0.0, 0.0)


def test_when_estop_is_latched_expect_base_ignores_commands():
    base = SimBase(time_scale=10.0)
    base.estop.set()
    base.command_velocity(0.5, 1.0)
    time.sleep(0.02)
    assert base.step() == (0.0, 0.0, 0.0)


def test_when_sim_follows_joint_goal_expect_arm_there_and_new_goal_preempts():
    robot = SimWorld(WORLD, time_scale=20.0)
    first = robot.follow_joints(inverse_kinematics((0.3, 0.4, 0.05)), 1.0)
    second = robot.follow_joints(inverse_kinematics((0.3, -0.4, 0.05)), 0.5)
    assert first.is_set() and not second.is_set()
    deadline = time.monotonic() + 5
    while math.dist(robot.ee, (0.3, -0.4, 0.05)) > 1e-6:
        assert time.monotonic() < deadline, robot.ee
        time.sleep(0.01)
    robot.follow_joints(inverse_kinematics(HOME), 5.0)
    robot.stop()  # the executor's stop command halts it
    time.sleep(0.05)
    held = robot.ee
    time.sleep(0.1)
    assert robot.ee == held and math.dist(held, HOME) > 0.1


@pytest.mark.parametrize('text,default,expect', [
    ('', 'skill_action', {}),
    ('move_to=twist, home=joint_trajectory', 'skill_action',
     {'move_to': 'twist', 'home': 'joint_trajectory'}),
    ('move_to', 'skill_action', ValueError),
    ('move_to=warp', 'skill_action', ValueError),
    ('=twist', 'skill_action', ValueError),
    ('', 'warp', ValueError),
])
def test_when_adapter_routes_are_parsed_expect_table_or_typed_error(text, default, expect):
    if expect is ValueError:
        with pytest.raises(ValueError, match='adapter'):
            parse_routes(text, default)
    else:
        assert parse_routes(text, default) == expect


class _Recorder:
    def __init__(self, supported):
        self.supported, self.calls = supported, []

    def supports(self, skill):
        return self.supported is None or skill in self.supported

    def __call__(self, node_id, skill, args, timeout_s, cancel):
        self.calls.append(skill)
        return skill


def test_when_skills_are_routed_expect_their_adapter_and_unsupported_listed():
    action, twist = _Recorder(None), _Recorder({'move_to', 'home'})
    router = AdapterRouter({'skill_action': action, 'twist': twist}, 'skill_action',
                           {'move_to': 'twist', 'pick': 'twist'})
    router('s1', 'move_to', {}, 1.0, None)
    router('s2', 'place', {}, 1.0, None)
    assert (twist.calls, action.calls) == (['move_to'], ['place'])
    assert router.unsupported(['move_to', 'place', 'pick', 'pick']) == ['pick']

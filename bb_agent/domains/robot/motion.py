"""Motion maths shared by the sim robot and the topic-level skill adapters (pure Python).

The arm model is the embedded robot's: a 3-joint (yaw, shoulder, elbow) arm with closed-form
inverse and forward kinematics. Positions are metres in frame ``world``, angles radians,
speeds m/s or rad/s. The mobile-base helpers drive a unicycle (``geometry_msgs/Twist``
linear.x and angular.z) to a point with a saturated proportional law.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import math

from bb_agent.core.safety_model.kinematics import (  # noqa: F401 (the arm model, re-exported)
    BASE_Z,
    HOME,
    JOINT_LIMITS,
    JOINT_NAMES,
    L1,
    L2,
    forward_kinematics,
    inverse_kinematics,
)
from bb_agent.core.world import Vec3, World

BASE_HOME = (0.0, 0.0)  # the mobile base's home (x, y)
MOTION_SKILLS = ('home', 'move_to')  # skills that are pure motion (no gripper, no sensing)


def target_position(skill: str, args: Mapping, world: World) -> Vec3 | str:
    """Return where a motion skill sends the end effector, or why it cannot say.

    ``home`` goes to :data:`HOME`; ``move_to`` to its ``target``: a world object's id or an
    explicit ``[x, y, z]``.
    """
    if skill == 'home':
        return HOME
    if skill != 'move_to':
        return f'{skill!r} is not a motion skill'
    target = args.get('target')
    if isinstance(target, (list, tuple)) and len(target) == 3:
        return tuple(float(c) for c in target)
    obj = world.object(str(target))
    return obj.position if obj else f'unknown target {target!r}'


def joint_goal(skill: str, args: Mapping, world: World) -> tuple[float, ...] | str:
    """Return the joint goal (rad) of a motion skill, or why there is none (limits included)."""
    where = target_position(skill, args, world)
    if isinstance(where, str):
        return where
    q = inverse_kinematics(where)
    for name, value, (lo, hi) in zip(JOINT_NAMES, q, JOINT_LIMITS, strict=True):
        if not lo <= value <= hi:
            return f'{name} {value:.2f} rad is outside [{lo}, {hi}] for {skill}'
    return q


def trajectory_duration(start: Sequence[float], goal: Sequence[float],
                        max_joint_speed: float, min_s: float = 0.1) -> float:
    """Return the time (s) the slowest joint needs at ``max_joint_speed`` (rad/s)."""
    span = max((abs(g - s) for s, g in zip(start, goal, strict=True)), default=0.0)
    return max(min_s, span / max_joint_speed)


def joints_reached(measured: Mapping[str, float], names: Sequence[str],
                   goal: Sequence[float], tolerance: float) -> bool:
    """Return True when every named joint is within ``tolerance`` rad of its goal."""
    return all(n in measured and abs(measured[n] - g) <= tolerance
               for n, g in zip(names, goal, strict=True))


@dataclass(frozen=True)
class BaseLimits:
    """The mobile base's go-to-point law (twist adapter parameters)."""

    max_linear: float = 0.3  # m/s
    max_angular: float = 1.0  # rad/s
    gain_linear: float = 1.0  # (m/s) per m of distance
    gain_angular: float = 2.0  # (rad/s) per rad of heading error
    tolerance: float = 0.05  # m: arrived
    turn_first: float = 0.5  # rad: heading errors above this turn in place


def base_goal(skill: str, args: Mapping, world: World) -> tuple[float, float] | str:
    """Return the (x, y) a motion skill sends the mobile base to, or why it cannot say."""
    if skill == 'home':
        return BASE_HOME
    where = target_position(skill, args, world)
    return where if isinstance(where, str) else (where[0], where[1])


def go_to_point(pose: tuple[float, float, float], goal: tuple[float, float],
                limits: BaseLimits) -> tuple[float, float, bool]:
    """Return (linear m/s, angular rad/s, arrived) that drive pose (x, y, yaw) to ``goal``."""
    dx, dy = goal[0] - pose[0], goal[1] - pose[1]
    dist = math.hypot(dx, dy)
    if dist <= limits.tolerance:
        return 0.0, 0.0, True
    error = math.atan2(math.sin(math.atan2(dy, dx) - pose[2]),
                       math.cos(math.atan2(dy, dx) - pose[2]))  # wrapped to [-pi, pi]
    angular = max(-limits.max_angular, min(limits.max_angular, limits.gain_angular * error))
    if abs(error) > limits.turn_first:
        return 0.0, angular, False
    linear = min(limits.max_linear, limits.gain_linear * dist) * math.cos(error)
    return linear, angular, False


def yaw_from_quaternion(z: float, w: float) -> float:
    """Return the yaw (rad) of a rotation about z given as quaternion (0, 0, z, w)."""
    return 2.0 * math.atan2(z, w)

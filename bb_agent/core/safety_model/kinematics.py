"""The embedded arm's kinematics: a 3-joint (yaw, shoulder, elbow) arm, closed form.

One description of the robot for the sim, the skill adapters, the plan checker's swept-path
prediction and the safety monitor's joint term. Positions are metres in frame ``world``,
angles radians.
"""

from __future__ import annotations

from collections.abc import Sequence
import math

from bb_agent.core.world import Vec3

L1, L2, BASE_Z = 0.45, 0.45, 0.10  # link lengths and shoulder height, metres
SHOULDER: Vec3 = (0.0, 0.0, BASE_Z)  # the shoulder joint, metres
JOINT_NAMES = ('yaw', 'shoulder', 'elbow')
JOINT_LIMITS = ((-2.6, 2.6), (-0.2, 2.2), (0.05, 2.8))  # rad
HOME: Vec3 = (0.30, 0.0, 0.40)  # the arm's home (end-effector position)
CARRY_OFFSET_Z = -0.05  # a held object hangs this far below the end effector, metres
PUSH_AXES = {'left': (1, 1.0), 'right': (1, -1.0), 'forward': (0, 1.0), 'back': (0, -1.0)}


def inverse_kinematics(p: Vec3) -> tuple[float, float, float]:
    """Return (yaw, shoulder, elbow) in rad for end-effector position ``p`` (clamped reach)."""
    x, y, z = p
    r, h = math.hypot(x, y), z - BASE_Z
    d = min(math.hypot(r, h), L1 + L2 - 1e-6)
    elbow = math.pi - math.acos(max(-1.0, min(1.0, (L1 ** 2 + L2 ** 2 - d ** 2) / (2 * L1 * L2))))
    shoulder = math.atan2(h, r) + math.atan2(L2 * math.sin(elbow), L1 + L2 * math.cos(elbow))
    return math.atan2(y, x), shoulder, elbow


def forward_kinematics(q: Sequence[float]) -> Vec3:
    """Return the end-effector position (m) for joints (yaw, shoulder, elbow) in rad."""
    yaw, shoulder, elbow = q
    r = L1 * math.cos(shoulder) + L2 * math.cos(shoulder - elbow)
    z = BASE_Z + L1 * math.sin(shoulder) + L2 * math.sin(shoulder - elbow)
    return (r * math.cos(yaw), r * math.sin(yaw), z)


def joint_term(joints: Sequence[float], margin0: float) -> float:
    """Return max over joints of ((margin0 - m) / margin0)^2 within ``margin0`` rad of a limit.

    ``m`` is the joint's distance (rad) to its nearer limit, negative beyond it (capped at
    ``-margin0``, so the term is at most 4).
    """
    worst = 0.0
    if margin0 <= 0:
        return worst
    for q, (lo, hi) in zip(joints, JOINT_LIMITS, strict=False):
        margin = min(q - lo, hi - q)
        if margin < margin0:
            worst = max(worst, ((margin0 - max(margin, -margin0)) / margin0) ** 2)
    return worst


def carried(ee: Vec3) -> Vec3:
    """Return where a held object is when the end effector is at ``ee`` (metres)."""
    return (ee[0], ee[1], ee[2] + CARRY_OFFSET_Z)


def dropped(ee: Vec3, height: float) -> Vec3:
    """Return where an object of ``height`` (m) lands when let go below ``ee`` (on the table)."""
    return (ee[0], ee[1], height / 2)


def pushed(position: Vec3, direction: str, distance: float) -> Vec3:
    """Return where ``push`` leaves an object at ``position`` (unknown direction: left)."""
    axis, sign = PUSH_AXES.get(direction, PUSH_AXES['left'])
    out = list(position)
    out[axis] += sign * distance
    return (out[0], out[1], out[2])

"""The safety value V_s: a dimensionless, barrier-style sum of normalised hazard terms.

    V_s = w_v (v / v_lim)^2 + w_f (f / f_max)^2 + w_h max_k (c_k / d_k)^2 + w_e e + w_j j

- v: end-effector speed in m/s; v_lim the schema's speed limit, the near-human limit while
  any person is in the world state (people anywhere count, not only inside the box);
- f: contact force in N, f_max the schema's force limit (N);
- d_k: distance in m from the end effector to hazard k, c_k its clearance: the schema's
  ``human_clearance_m`` for people, ``obstacle_clearance_m`` for obstacles; the term reaches
  w_h at the clearance and grows without bound as d_k -> 0;
- e: workspace-edge term in [0, 1], 0 beyond ``EDGE_MARGIN_M`` from the box faces and 1 on
  a face;
- j: joint-limit term (:func:`~bb_agent.core.safety_model.kinematics.joint_term`) within the
  schema's ``joint_margin_rad`` of a limit.

0 is perfectly safe; the schema's ``vs_threshold`` (default 1.0) is the stop level. The
*hazard* part of V_s is everything but the speed term: the rise rule (the monitor latches
when it rises by more than ``vs_rise_tol`` within one step) is about hazards a step brings
closer, not about the commanded speed, which the speed limit already bounds. The plan
checker predicts both along every swept path (:mod:`.paths`); the safety monitor evaluates
the same function on live state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bb_agent.core.safety_model.kinematics import inverse_kinematics, joint_term
from bb_agent.core.schema import SafetySpec
from bb_agent.core.world import Vec3, World, distance

W_SPEED, W_FORCE, W_HUMAN, W_EDGE, W_JOINT = 0.5, 0.3, 1.0, 0.3, 0.8  # weights
EDGE_MARGIN_M = 0.05  # metres from a workspace face where the edge term starts
MIN_HAZARD_DISTANCE_M = 1e-3  # guards the 1/d^2 term
HUMAN, OBSTACLE = 'human', 'obstacle'  # world-object kinds that are hazards
# Recovery: above the threshold, a reset may clear STOP for motions that only lower V_s,
# but only while the people/obstacle term is at most this (V_s is high from the robot's
# own pose, not from someone at the gripper: ~0.7 m from a person).
RECOVERY_MAX_CLEARANCE_TERM = 0.25


@dataclass(frozen=True)
class Hazards:
    """The hazards V_s keeps the arm away from (positions in metres, world frame).

    ``human_present`` also holds when a plan branch is checked under a guard that asserts a
    person (``if human_near``) although none is in the world state yet.
    """

    humans: tuple[Vec3, ...] = ()
    obstacles: tuple[Vec3, ...] = ()
    human_present: bool = False

    @property
    def points(self) -> tuple[Vec3, ...]:
        """Return every hazard position."""
        return self.humans + self.obstacles


def hazards_of(world: World, *, assume_human: bool = False) -> Hazards:
    """Return the people and obstacles of ``world``, wherever they are."""
    humans = tuple(o.position for o in world.objects if o.kind == HUMAN)
    obstacles = tuple(o.position for o in world.objects if o.kind == OBSTACLE)
    return Hazards(humans, obstacles, bool(humans) or assume_human)


def speed_limit(safety: SafetySpec, human_present: bool) -> float:
    """Return the end-effector speed limit (m/s): lower while a person is present."""
    return safety.max_speed_near_human_mps if human_present else safety.max_speed_mps


def clearance_term(point: Vec3, hazards: Hazards, safety: SafetySpec) -> float:
    """Return w_h max_k (c_k / d_k)^2 at ``point`` (0 without hazards)."""
    worst = 0.0
    for clearance, where in ((safety.human_clearance_m, hazards.humans),
                             (safety.obstacle_clearance_m, hazards.obstacles)):
        for h in where:
            worst = max(worst, (clearance / max(distance(point, h), MIN_HAZARD_DISTANCE_M)) ** 2)
    return W_HUMAN * worst


def edge_term(point: Vec3, safety: SafetySpec) -> float:
    """Return the workspace-edge term at ``point`` (0 well inside, w_e on or beyond a face)."""
    box = safety.workspace
    margin = min(min(c - lo, hi - c) for c, (lo, hi) in zip(point, (box.x, box.y, box.z),
                                                              strict=True))
    if margin >= EDGE_MARGIN_M:
        return 0.0
    return W_EDGE * min(1.0, (EDGE_MARGIN_M - max(margin, 0.0)) / EDGE_MARGIN_M)


def vs_terms(*, position: Vec3, speed: float, force: float, hazards: Hazards,
             safety: SafetySpec, joints: Sequence[float] | None = None) -> dict[str, float]:
    """Return the V_s terms of the arm at ``position`` (see the module docstring).

    Args:
        position: end-effector position (m).
        speed: end-effector speed (m/s).
        force: contact force (N).
        hazards: people and obstacles, and whether a person is present.
        safety: the schema's limits.
        joints: measured joint angles (rad); None computes them from ``position`` (IK).
    """
    v_lim = speed_limit(safety, hazards.human_present)
    q = inverse_kinematics(position) if joints is None else joints
    return {'speed': W_SPEED * (max(speed, 0.0) / v_lim) ** 2,
            'force': W_FORCE * (max(force, 0.0) / safety.max_force_n) ** 2,
            'human': clearance_term(position, hazards, safety),
            'edge': edge_term(position, safety),
            'joint': W_JOINT * joint_term(q, safety.joint_margin_rad)}


def hazard_part(terms: dict[str, float]) -> float:
    """Return V_s without its speed term: what the rise rule watches."""
    return sum(v for k, v in terms.items() if k != 'speed')


def recoverable(terms: dict[str, float]) -> bool:
    """Return True when V_s is high from the robot's own state, not from a nearby hazard."""
    return terms.get('human', 0.0) <= RECOVERY_MAX_CLEARANCE_TERM

"""The safety value V_s: a dimensionless, barrier-style sum of normalised hazard terms.

    V_s = w_v (v / v_max)^2 + w_f (f / f_max)^2 + w_h (c / d_h)^2 + w_e e

- v: end-effector speed in m/s, v_max the schema's speed limit (m/s);
- f: contact force in N, f_max the schema's force limit (N);
- d_h: distance in m from the motion target to the nearest human, c the human clearance (m);
  the term reaches w_h at the clearance and grows without bound as d_h -> 0;
- e: workspace-edge term in [0, 1], 0 beyond ``EDGE_MARGIN_M`` from the box faces and 1 on a
  face (the same limit the monitor applies to joint-limit margins at run time).

0 is perfectly safe; the schema's ``vs_threshold`` (default 1.0) is the stop level. The
plan checker uses :class:`KinematicVsPredictor` to predict V_s per step before execution;
the safety monitor evaluates the same terms on live state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bb_agent.core.safety_model.geometry import humans_in_workspace, position_of
from bb_agent.core.schema import DomainSchema, SkillSpec
from bb_agent.core.world import Vec3, World, distance

W_SPEED, W_FORCE, W_HUMAN, W_EDGE = 0.5, 0.3, 1.0, 0.3  # term weights (dimensionless)
EDGE_MARGIN_M = 0.05  # metres from a workspace face where the edge term starts
MIN_HUMAN_DISTANCE_M = 1e-3  # guards the 1/d^2 term


@dataclass(frozen=True)
class VsPrediction:
    """A predicted V_s and its terms (each dimensionless)."""

    value: float
    terms: dict[str, float] = field(default_factory=dict)


class VsPredictor(Protocol):
    """Predicts V_s for one plan step before it runs."""

    def predict(self, skill: SkillSpec, args: dict, world: World,
                schema: DomainSchema) -> VsPrediction:
        """Return the predicted V_s of running ``skill`` with effective ``args``."""


def vs_terms(*, speed: float, force: float, target: Vec3 | None, humans: list[Vec3],
             schema: DomainSchema) -> dict[str, float]:
    """Return the V_s terms for a state or a step (see the module docstring)."""
    safety = schema.safety
    terms = {'speed': W_SPEED * (max(speed, 0.0) / safety.max_speed_mps) ** 2,
             'force': W_FORCE * (max(force, 0.0) / safety.max_force_n) ** 2,
             'human': 0.0, 'edge': 0.0}
    if target is not None:
        if humans:
            nearest = max(min(distance(target, h) for h in humans), MIN_HUMAN_DISTANCE_M)
            terms['human'] = W_HUMAN * (safety.human_clearance_m / nearest) ** 2
        box = safety.workspace
        margin = min(min(c - lo, hi - c) for c, (lo, hi)
                     in zip(target, (box.x, box.y, box.z), strict=True))
        if margin < EDGE_MARGIN_M:
            terms['edge'] = W_EDGE * min(1.0, (EDGE_MARGIN_M - max(margin, 0.0))
                                         / EDGE_MARGIN_M)
    return terms


def commanded(skill: SkillSpec, args: dict, name: str) -> float:
    """Return a numeric argument; a value unknown before execution counts as its range's top."""
    value = args.get(name, 0.0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    spec = skill.args.get(name)
    return float(spec.range[1]) if spec is not None and spec.range else float('inf')


class KinematicVsPredictor:
    """V_s of a step from its commanded speed and force and its targets' geometry.

    Every argument of type location/object/pose with a known position is a place the arm
    may go (``place`` visits its object and its target), so the step's V_s is the worst over
    them (fail closed). Steps with motion class ``none`` or ``speech`` move nothing and
    predict only the force term.
    """

    def predict(self, skill: SkillSpec, args: dict, world: World,
                schema: DomainSchema) -> VsPrediction:
        """Return the predicted V_s of one step."""
        moving = skill.motion in ('arm', 'base', 'gripper')
        targets = []
        if moving:
            targets = [pos for name, spec in skill.args.items()
                       if spec.type in ('location', 'object', 'pose') and name in args
                       and (pos := position_of(args[name], world)) is not None]
        humans = [h.position for h in humans_in_workspace(world, schema)]
        speed = commanded(skill, args, 'speed') if moving else 0.0
        force = commanded(skill, args, 'force')
        worst = max((vs_terms(speed=speed, force=force, target=t, humans=humans, schema=schema)
                     for t in targets or [None]), key=lambda terms: sum(terms.values()))
        return VsPrediction(sum(worst.values()), worst)

"""Swept paths: where a step takes the arm, and the worst V_s terms along the way.

A step's path comes from its schema entry (``path``/``path_arg``): ``home`` goes to
:data:`~.kinematics.HOME`; ``direct`` straight to the target; ``approach`` to a point
``approach_z_m`` above the target, then straight down (the sim robot moves exactly so). Each
straight segment is bounded term by term, so the result is an upper bound of what the
monitor can measure on the way:

- clearance: exact, at each hazard's closest point on the segment;
- edge: exact, at an end (a box margin is concave along a line);
- joints: yaw exactly (ends, plus the half-plane behind the base where it wraps), elbow
  exactly (it depends only on the distance to the shoulder, extreme at an end or at the
  closest point), shoulder by bisection with a Lipschitz bound down to ``path_step_m``;
- speed: the commanded speed throughout; force: the held force, the contact force at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import math

from bb_agent.core.dsl import program as p
from bb_agent.core.safety_model import vs
from bb_agent.core.safety_model.kinematics import (
    HOME,
    JOINT_LIMITS,
    L1,
    L2,
    SHOULDER,
    carried,
    dropped,
    inverse_kinematics,
    joint_term,
    pushed,
)
from bb_agent.core.schema import SafetySpec, SkillSpec
from bb_agent.core.world import Vec3, World


@dataclass(frozen=True)
class ArmState:
    """What the plan has done to the robot so far: where the arm is, what it holds.

    ``moved`` lists objects the plan moved (sorted (id, position) pairs); a held object is
    wherever the end effector carries it.
    """

    ee: Vec3
    force: float = 0.0  # N
    held: str | None = None
    moved: tuple[tuple[str, Vec3], ...] = ()

    @classmethod
    def of(cls, world: World) -> ArmState:
        """Return the state the world snapshot reports."""
        r = world.robot
        return cls(tuple(r.ee_position), max(r.ee_force, 0.0), r.held_object)

    def where(self, value: object, world: World) -> Vec3 | None:
        """Return the position (m) of an object id, a pose or ``[x, y, z]``; None if unknown."""
        if isinstance(value, p.Symbol):
            value = value.name
        if isinstance(value, str):
            if value == self.held:
                return carried(self.ee)
            moved = dict(self.moved)
            if value in moved:
                return moved[value]
            obj = world.object(value)
            return obj.position if obj else None
        if isinstance(value, p.Pose):
            coords = {a: q.value for a, q in value.coords if a in ('x', 'y', 'z')}
            return (coords['x'], coords['y'], coords['z']) if len(coords) == 3 else None
        if isinstance(value, (list, tuple)) and len(value) == 3 and all(
                isinstance(c, (int, float)) for c in value):
            return (float(value[0]), float(value[1]), float(value[2]))
        return None

    def with_moved(self, obj: str, position: Vec3) -> ArmState:
        """Return this state with ``obj`` at ``position``."""
        moved = dict(self.moved)
        moved[obj] = position
        return replace(self, moved=tuple(sorted(moved.items())))


@dataclass(frozen=True)
class StepPrediction:
    """The worst a step can do, and the state it leaves.

    ``vs`` bounds V_s along the path (sum of each term's maximum), ``rise`` bounds the rise
    of V_s's hazard part over its value at the step's start, ``unknown`` says why the path
    cannot be predicted (then nothing else is meaningful: fail closed).
    """

    vs: float = 0.0
    terms: dict[str, float] = field(default_factory=dict)
    rise: float = 0.0
    length_m: float = 0.0
    after: ArmState | None = None
    pushed_to: Vec3 | None = None
    unknown: str = ''
    start: dict[str, float] = field(default_factory=dict)  # V_s terms at rest at the start


def commanded(skill: SkillSpec, args: dict, name: str) -> float:
    """Return a numeric argument; absent or unknown before execution counts as its range's top."""
    value = args.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    spec = skill.args.get(name)
    if spec is None:
        return 0.0
    if value is None and spec.default is not None:
        return float(spec.default)
    return float(spec.range[1]) if spec.range else math.inf


def waypoints(skill: SkillSpec, args: dict, state: ArmState, world: World,
              safety: SafetySpec) -> list[Vec3] | str:
    """Return the points (m) the step's straight segments go through, or why unknown."""
    if skill.path == 'none':
        return []
    if skill.path == 'home':
        return [HOME]
    value = args.get(skill.path_arg)
    target = state.where(value, world)
    if target is None:
        what = f'${value.step}.{value.field}' if isinstance(value, p.Ref) else repr(value)
        return f'{skill.path_arg} {what} has no position before execution (fail closed)'
    if skill.path == 'direct':
        return [target]
    return [(target[0], target[1], target[2] + safety.approach_z_m), target]


def _closest(a: Vec3, b: Vec3, point: Vec3) -> Vec3:
    ab = [bi - ai for ai, bi in zip(a, b, strict=True)]
    denom = sum(c * c for c in ab)
    t = 0.0 if denom == 0 else max(0.0, min(1.0, sum(
        (pi - ai) * c for ai, pi, c in zip(a, point, ab, strict=True)) / denom))
    return (a[0] + t * ab[0], a[1] + t * ab[1], a[2] + t * ab[2])


def _lerp(a: Vec3, b: Vec3, t: float) -> Vec3:
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2]))


def _shoulder_margin(p: Vec3) -> float:
    q = inverse_kinematics(p)[1]
    lo, hi = JOINT_LIMITS[1]
    return min(q - lo, hi - q)


def _term(margin: float, margin0: float) -> float:
    return ((margin0 - max(margin, -margin0)) / margin0) ** 2 if margin < margin0 else 0.0


def _shoulder_term(a: Vec3, b: Vec3, margin0: float, step: float) -> float:
    """Bound the shoulder term on a-b by bisection with a Lipschitz bound.

    The shoulder angle is atan2(h, r) + beta(d) (d: distance to the shoulder joint); its
    gradient is at most 1/d + 1/sqrt((L1 + L2)^2 - d^2), so a piece whose end margins exceed
    ``margin0`` by that bound times half its length cannot come near the limit and is not
    sampled. Pieces that might are split down to ``step`` metres.
    """
    d_min = max(math.dist(_closest(a, b, SHOULDER), SHOULDER), 1e-3)
    d_max = min(max(math.dist(a, SHOULDER), math.dist(b, SHOULDER)), L1 + L2 - 1e-3)
    lipschitz = 1.0 / d_min + 1.0 / math.sqrt((L1 + L2) ** 2 - d_max ** 2)  # rad/m
    worst = 0.0
    pieces = [(a, b, _shoulder_margin(a), _shoulder_margin(b))]
    while pieces:
        p, q, mp, mq = pieces.pop()
        length = math.dist(p, q)
        if min(mp, mq) - lipschitz * length / 2 >= margin0:
            continue
        mid = _lerp(p, q, 0.5)
        mm = _shoulder_margin(mid)
        worst = max(worst, _term(mm, margin0), _term(mp, margin0), _term(mq, margin0))
        if length > step:
            pieces += [(p, mid, mp, mm), (mid, q, mm, mq)]
    return worst


def segment_joint_term(a: Vec3, b: Vec3, safety: SafetySpec) -> float:
    """Return an upper bound of the joint term (unweighted) on the segment a-b."""
    margin0 = safety.joint_margin_rad
    if margin0 <= 0:
        return 0.0
    worst = max(joint_term(inverse_kinematics(a), margin0),
                joint_term(inverse_kinematics(b), margin0))
    # yaw wraps through +-pi where the segment crosses the half-plane behind the base.
    if (a[1] > 0) != (b[1] > 0) and a[1] != b[1]:
        x = _lerp(a, b, a[1] / (a[1] - b[1]))[0]
        if x < 0:
            worst = max(worst, joint_term((math.pi, 1.0, 1.0), margin0))
    # elbow: extreme where the distance to the shoulder is (an end, or the closest point).
    worst = max(worst, joint_term(inverse_kinematics(_closest(a, b, SHOULDER)), margin0))
    return max(worst, _shoulder_term(a, b, margin0, safety.path_step_m))


def segment_terms(a: Vec3, b: Vec3, hazards: vs.Hazards, safety: SafetySpec) -> dict:
    """Return each position-dependent term's maximum on the segment a-b."""
    human = max([vs.clearance_term(_closest(a, b, h), hazards, safety)
                 for h in hazards.points] + [vs.clearance_term(a, hazards, safety),
                                             vs.clearance_term(b, hazards, safety)])
    return {'human': human, 'edge': max(vs.edge_term(a, safety), vs.edge_term(b, safety)),
            'joint': vs.W_JOINT * segment_joint_term(a, b, safety)}


def predict_step(skill: SkillSpec, args: dict, state: ArmState, world: World,
                 hazards: vs.Hazards, safety: SafetySpec) -> StepPrediction:
    """Return the worst V_s and rise of one step from ``state`` (see the module docstring)."""
    points = waypoints(skill, args, state, world, safety)
    if isinstance(points, str):
        return StepPrediction(unknown=points)
    moving = skill.moves and bool(points)
    speed = commanded(skill, args, 'speed') if moving else 0.0
    contact = commanded(skill, args, 'force') if 'force' in skill.args else state.force
    start = vs.vs_terms(position=state.ee, speed=0.0, force=state.force, hazards=hazards,
                        safety=safety)
    worst = {k: v for k, v in start.items() if k != 'speed'}
    path = [state.ee, *points]
    for a, b in zip(path, path[1:], strict=False):
        for k, v in segment_terms(a, b, hazards, safety).items():
            worst[k] = max(worst[k], v)
    worst['force'] = vs.W_FORCE * (max(state.force, contact) / safety.max_force_n) ** 2
    worst['speed'] = vs.W_SPEED * (speed / vs.speed_limit(safety, hazards.human_present)) ** 2
    after = _after(skill, args, state, world, path[-1], contact)
    pushed_to = None
    if skill.pushes:
        obj = args.get('object')
        origin = state.where(obj, world)
        if origin is not None:
            pushed_to = pushed(origin, str(args.get('direction')), commanded(skill, args,
                                                                             'distance'))
            after = after.with_moved(obj.name if isinstance(obj, p.Symbol) else str(obj),
                                     pushed_to)
    length = sum(math.dist(a, b) for a, b in zip(path, path[1:], strict=False))
    total = sum(worst.values())
    return StepPrediction(total, worst, vs.hazard_part(worst) - vs.hazard_part(start), length,
                          after, pushed_to, start=start)


def _after(skill: SkillSpec, args: dict, state: ArmState, world: World, end: Vec3,
           contact: float) -> ArmState:
    obj = args.get('object')
    name = obj.name if isinstance(obj, p.Symbol) else obj if isinstance(obj, str) else None
    grasps = any(t.startswith('holding(') for t in skill.effects.add)
    lets_go = any(t.startswith('holding(') for t in skill.effects.remove)
    out = replace(state, ee=end)
    if lets_go and state.held is not None:
        # place sets the object down where it carries it; release/hand_over drop it on
        # the table below the gripper (as the sim robot does).
        held = world.object(state.held)
        rest = carried(end) if skill.path != 'none' else dropped(end, held.size[2] if held
                                                                 else 0.0)
        out = replace(out.with_moved(state.held, rest), held=None, force=0.0)
    if grasps and name is not None:
        out = replace(out, held=name, force=contact,
                      moved=tuple(kv for kv in out.moved if kv[0] != name))
    return out

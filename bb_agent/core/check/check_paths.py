"""Checker stage 7a: every step's swept path, from every state the plan can leave the arm in.

States (:class:`~bb_agent.core.safety_model.paths.ArmState`: where the arm is, the force it
holds, what it carries, objects the plan moved) flow along the plan graph in topological
order. A step starts from the union of its dependencies' end states; a dependency that may
not run when this step does (it is optional, or guarded by a branch this step is not
under) also passes on the states it started from. Every motion skill locks the arm, so two
motions never run at once and this union covers where any step can start.

:func:`judge_step` is the one judgement of a step's safety: the checker applies it to every
predicted start state, the executor to the live state right before it dispatches.
"""

from __future__ import annotations

from bb_agent.core.check.check_sim import implied_literals
from bb_agent.core.check.plan_graph import PlanGraph, PlanNode
from bb_agent.core.check.violations import Code, Violation
from bb_agent.core.safety_model import vs
from bb_agent.core.safety_model.geometry import in_box
from bb_agent.core.safety_model.paths import ArmState, StepPrediction, commanded, predict_step
from bb_agent.core.schema import DomainSchema, SkillSpec
from bb_agent.core.world import World

MAX_STATES = 256  # distinct start states of one step before the check fails closed
RECOVERY_EPS = 1e-9  # a recovery step's hazard bound may equal its start (no rise)


def judge_step(node_id: str, spec: SkillSpec, args: dict, state: ArmState, world: World,
               hazards: vs.Hazards, schema: DomainSchema) -> tuple[list[Violation],
                                                                  StepPrediction]:
    """Return the safety violations of running one step from ``state``, and its prediction."""
    safety = schema.safety
    pred = predict_step(spec, args, state, world, hazards, safety)
    if pred.unknown:
        return [Violation.of(Code.E_UNCHECKABLE, node_id, pred.unknown)], pred
    out = []
    for name, arg in spec.args.items():
        value = commanded(spec, args, name) if arg.safety else None
        if arg.safety == 'speed' and spec.motion != 'none' and value > vs.speed_limit(
                safety, hazards.human_present):
            limit = vs.speed_limit(safety, hazards.human_present)
            why = ' while a person is present' if hazards.human_present else ''
            out.append(Violation.of(Code.E_SPEED_LIMIT, node_id, f'{name} {value:g} m/s over '
                                    f'the limit {limit:g} m/s{why}'))
        elif arg.safety == 'force' and value > safety.max_force_n:
            out.append(Violation.of(Code.E_FORCE_LIMIT, node_id, f'{name} {value:g} N over '
                                    f'the limit {safety.max_force_n:g} N'))
    if pred.pushed_to is not None:
        end = pred.pushed_to
        if not in_box(end, schema):
            out.append(Violation.of(Code.E_WORKSPACE, node_id, 'the pushed object would end '
                                    f'at ({end[0]:.3g}, {end[1]:.3g}, {end[2]:.3g}) m, outside '
                                    'the workspace'))
        elif vs.clearance_term(end, hazards, safety) >= vs.W_HUMAN:
            out.append(Violation.of(Code.E_VS_PREDICTED, node_id, 'the pushed object would '
                                    "end inside a person's or obstacle's clearance"))
    start_vs = sum(pred.start.values())
    if start_vs > safety.vs_threshold:
        # Recovery (the monitor's rule too): the arm stands above the threshold; a step may
        # run only if V_s's hazard terms never rise above where it starts.
        if not vs.recoverable(pred.start):
            out.append(Violation.of(Code.E_VS_PREDICTED, node_id, f'V_s is {start_vs:.2f} '
                                    'where the step starts, with a person or obstacle near; '
                                    'nothing may move until it is below the threshold'))
        elif pred.rise > RECOVERY_EPS:
            out.append(Violation.of(Code.E_VS_PREDICTED, node_id, f'recovery from V_s '
                                    f'{start_vs:.2f}: only steps that lower V_s may run; this '
                                    f'one may raise its hazard terms by {pred.rise:.2f}'))
        return out, pred
    if pred.vs > safety.vs_threshold:
        top = max(pred.terms, key=pred.terms.get)
        out.append(Violation.of(Code.E_VS_PREDICTED, node_id, f'predicted V_s {pred.vs:.2f} '
                                f'over the threshold {safety.vs_threshold:g} along the path '
                                f'(largest term: {top} {pred.terms[top]:.2f})'))
    if pred.rise > safety.vs_rise_tol:
        out.append(Violation.of(Code.E_VS_RISE, node_id, f"V_s's hazard terms would rise "
                                f'{pred.rise:.2f} during the step (tolerance '
                                f'{safety.vs_rise_tol:g}): it moves towards a hazard, an edge '
                                'or a joint limit'))
    return out, pred


def assumes_human(node: PlanNode, index: dict[str, PlanNode]) -> bool:
    """Return True when the node's guard implies ``human_near`` (a person is present)."""
    for branch, outcome in node.guard:
        cond = index[branch].cond if branch in index else None
        if cond is not None and any(pred.name == 'human_near' and value for pred, value
                                    in implied_literals(cond, outcome) or ()):
            return True
    return False


def _certain(dep: PlanNode, node: PlanNode) -> bool:
    """Return True when ``dep`` surely ran if ``node`` runs (same or weaker guard)."""
    return not dep.optional and set(dep.guard) <= set(node.guard)


def sweep_plan(graph: PlanGraph, schema: DomainSchema, world: World,
               effective: dict[str, dict], order: list[str]
               ) -> tuple[list[Violation], dict[str, float], float]:
    """Return the swept-path violations, each node's predicted duration (s), and the peak.

    The peak is the highest V_s bound of any step from any start state (0 for a plan that
    does not move); an unpredictable step counts as infinite (fail closed).
    """
    index = graph.index
    initial = ArmState.of(world)
    base = vs.hazards_of(world)
    out: list[Violation] = []
    starts: dict[str, frozenset] = {}
    ends: dict[str, frozenset] = {}
    durations: dict[str, float] = {}
    peak = 0.0
    seen: set[tuple[str, Code]] = set()
    for nid in order:
        node = index[nid]
        deps = [index[d] for d in node.depends_on if d in ends]
        states: set = set() if deps else {initial}
        for dep in deps:
            states |= ends[dep.id] if _certain(dep, node) else ends[dep.id] | starts[dep.id]
        if len(states) > MAX_STATES:
            out.append(Violation.of(Code.E_PLAN_TOO_LARGE, nid, f'more than {MAX_STATES} '
                                    'arm states to verify; simplify the conditionals'))
            return out, durations, float('inf')
        starts[nid] = frozenset(states)
        spec = None if node.is_branch else schema.skills.get(node.skill)
        if spec is None:
            ends[nid] = starts[nid]
            continue
        args = effective.get(nid, {})
        if spec.path_arg and spec.path_arg not in args:
            ends[nid] = starts[nid]  # its argument failed stage 2, which blocks the plan
            continue
        hazards = vs.hazards_of(world, assume_human=assumes_human(node, index)) \
            if node.guard else base
        after = set()
        duration = spec.duration_s
        if spec.duration_arg:
            duration = max(duration, commanded(spec, args, spec.duration_arg))
        for state in states:
            found, pred = judge_step(nid, spec, args, state, world, hazards, schema)
            peak = max(peak, float('inf') if pred.unknown else pred.vs)
            for v in found:
                if (nid, v.code) not in seen:
                    seen.add((nid, v.code))
                    out.append(v)
            after.add(pred.after or state)
            if pred.length_m and 'speed' in spec.args:
                duration = max(duration, pred.length_m / max(commanded(spec, args, 'speed'),
                                                             1e-3))
        ends[nid] = frozenset(after)
        durations[nid] = duration
    return out, durations, peak

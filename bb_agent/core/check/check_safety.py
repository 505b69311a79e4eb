"""Checker stages 5-7: resource conflicts, duration budget, and safety rules.

- Stage 5: two skill nodes that may run at the same time (neither is an ancestor of the
  other and their guards are not exclusive) must not lock the same resource.
- Stage 6: the critical-path duration (schema ``duration_s`` per skill) must fit the budget.
- Stage 7: workspace bounds for every located argument, speed and force limits (the speed
  limit drops while a human is in the workspace), forbidden skill sequences along direct
  edges, and the predicted V_s of every step against the schema's threshold.
"""

from __future__ import annotations

from bb_agent.core.check.plan_graph import PlanGraph, PlanNode
from bb_agent.core.check.violations import Code, Violation
from bb_agent.core.safety_model.geometry import humans_in_workspace, in_box, position_of
from bb_agent.core.safety_model.vs import VsPredictor, commanded
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import World


def ancestors(graph: PlanGraph, order: list[str]) -> dict[str, int]:
    """Return, per node id, a bitset (bit = position in ``order``) of all its ancestors."""
    bit = {nid: i for i, nid in enumerate(order)}
    index = graph.index
    anc: dict[str, int] = {}
    for nid in order:
        mask = 0
        for d in index[nid].depends_on:
            if d in anc:
                mask |= anc[d] | (1 << bit[d])
        anc[nid] = mask
    return anc


def _exclusive(a: PlanNode, b: PlanNode) -> bool:
    guard_a = dict(a.guard)
    return any(branch in guard_a and guard_a[branch] != ok for branch, ok in b.guard)


def check_resources(graph: PlanGraph, schema: DomainSchema, order: list[str],
                    anc: dict[str, int]) -> list[Violation]:
    """Stage 5: report concurrent nodes that lock the same resource."""
    bit = {nid: i for i, nid in enumerate(order)}
    index = graph.index
    users: dict[str, list[str]] = {}
    for nid in order:
        spec = schema.skills.get(index[nid].skill)
        for res in (spec.resources if spec else ()):
            users.setdefault(res, []).append(nid)
    out = []

    def ordered(x: str, y: str) -> bool:
        return bool(anc[y] >> bit[x] & 1) or _exclusive(index[x], index[y])

    for res, nodes in users.items():
        # A chain whose consecutive members are ordered is totally ordered (transitivity);
        # only otherwise are all pairs examined, to name each conflicting pair.
        if all(ordered(a, b) for a, b in zip(nodes, nodes[1:], strict=False)):
            continue
        for j, b in enumerate(nodes):
            for a in nodes[:j]:
                if not ordered(a, b):
                    out.append(Violation.of(Code.E_RESOURCE_CONFLICT, b,
                                            f'{b} and {a} may run at the same time and both '
                                            f'lock {res}', related=a))
    return out


def estimate_duration(graph: PlanGraph, schema: DomainSchema, order: list[str]) -> float:
    """Return the critical-path duration in seconds (branches count their longer side)."""
    index = graph.index
    finish: dict[str, float] = {}
    for nid in order:
        node = index[nid]
        spec = None if node.is_branch else schema.skills.get(node.skill)
        start = max((finish[d] for d in node.depends_on if d in finish), default=0.0)
        finish[nid] = start + (spec.duration_s if spec else 0.0)
    return max(finish.values(), default=0.0)


def check_budget(duration_s: float, budget_s: float) -> list[Violation]:
    """Stage 6: the estimated duration must fit the budget."""
    if duration_s > budget_s:
        return [Violation.of(Code.E_BUDGET, '', f'estimated duration {duration_s:g} s is over '
                             f'the budget of {budget_s:g} s')]
    return []


def check_safety(graph: PlanGraph, schema: DomainSchema, world: World,
                 effective: dict[str, dict], predictor: VsPredictor) -> list[Violation]:
    """Stage 7: workspace, speed and force limits, forbidden sequences, predicted V_s."""
    safety = schema.safety
    if safety is None:
        return []
    out = []
    human = bool(humans_in_workspace(world, schema))
    speed_limit = safety.max_speed_near_human_mps if human else safety.max_speed_mps
    forbidden = set(safety.forbidden_sequences)
    index = graph.index
    for node in graph.nodes:
        spec = None if node.is_branch else schema.skills.get(node.skill)
        if spec is None:
            continue
        args = effective.get(node.id, {})
        for name, arg in spec.args.items():
            if arg.type in ('location', 'object', 'pose') and name in args:
                pos = position_of(args[name], world)
                if pos is not None and not in_box(pos, schema):
                    out.append(Violation.of(Code.E_WORKSPACE, node.id,
                                            f'{name} at ({pos[0]:g}, {pos[1]:g}, {pos[2]:g}) m '
                                            'is outside the workspace'))
            elif arg.safety == 'speed' and name in args:
                value = commanded(spec, args, name)
                if value > speed_limit:
                    why = ' while a human is in the workspace' if human else ''
                    out.append(Violation.of(Code.E_SPEED_LIMIT, node.id,
                                            f'{name} {value:g} m/s over the limit '
                                            f'{speed_limit:g} m/s{why}'))
            elif arg.safety == 'force' and name in args:
                value = commanded(spec, args, name)
                if value > safety.max_force_n:
                    out.append(Violation.of(Code.E_FORCE_LIMIT, node.id,
                                            f'{name} {value:g} N over the limit '
                                            f'{safety.max_force_n:g} N'))
        for dep in node.depends_on:
            if (index[dep].skill, node.skill) in forbidden:
                out.append(Violation.of(Code.E_FORBIDDEN_SEQUENCE, node.id,
                                        f'{node.skill} may not directly follow '
                                        f'{index[dep].skill} ({dep})'))
        vs = predictor.predict(spec, args, world, schema)
        if vs.value > safety.vs_threshold:
            top = max(vs.terms, key=vs.terms.get)
            out.append(Violation.of(Code.E_VS_PREDICTED, node.id,
                                    f'predicted V_s {vs.value:.2f} over the threshold '
                                    f'{safety.vs_threshold:g} (largest term: {top} '
                                    f'{vs.terms[top]:.2f})'))
    return out


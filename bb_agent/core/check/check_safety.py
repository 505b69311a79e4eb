"""Checker stages 5-7: resource conflicts, duration budget, and the plan-wide safety rules.

- Stage 5: two skill nodes that may run at the same time (neither is an ancestor of the
  other and their guards are not exclusive) must not lock the same resource.
- Stage 6: the critical-path duration (each node's predicted duration) must fit the budget.
- Stage 7: workspace bounds for every located argument and forbidden sequences (the next
  motion step on every path); the per-step limits and V_s along swept paths are stage 7a
  (:mod:`~bb_agent.core.check.check_paths`).
"""

from __future__ import annotations

from bb_agent.core.check.plan_graph import PlanGraph, PlanNode
from bb_agent.core.check.violations import Code, Violation
from bb_agent.core.safety_model.geometry import in_box, position_of
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


def estimate_duration(graph: PlanGraph, schema: DomainSchema, order: list[str],
                      durations: dict[str, float] | None = None) -> float:
    """Return the critical-path duration in seconds (branches count their longer side).

    ``durations`` gives a node's own predicted duration (its time arguments, its path length
    over its speed); absent nodes take the schema's ``duration_s``.
    """
    index = graph.index
    durations = durations or {}
    finish: dict[str, float] = {}
    for nid in order:
        node = index[nid]
        spec = None if node.is_branch else schema.skills.get(node.skill)
        start = max((finish[d] for d in node.depends_on if d in finish), default=0.0)
        own = durations.get(nid, spec.duration_s if spec else 0.0)
        finish[nid] = start + own
    return max(finish.values(), default=0.0)


def check_budget(duration_s: float, budget_s: float) -> list[Violation]:
    """Stage 6: the estimated duration must fit the budget."""
    if duration_s > budget_s:
        return [Violation.of(Code.E_BUDGET, '', f'estimated duration {duration_s:g} s is over '
                             f'the budget of {budget_s:g} s')]
    return []


def _moves(node: PlanNode, schema: DomainSchema) -> bool:
    spec = None if node.is_branch else schema.skills.get(node.skill)
    return spec is not None and spec.moves


def check_sequences(graph: PlanGraph, schema: DomainSchema) -> list[Violation]:
    """Forbidden sequences: b may not be the next motion step after a, on any path.

    Steps that move nothing (wait, say, scan) and branch decisions do not separate a and b;
    a motion step that may be skipped (optional, or under a branch a is not under) does not
    either, so the search goes on past it.
    """
    forbidden = set(schema.safety.forbidden_sequences)
    firsts = {a for a, _ in forbidden}
    children: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for n in graph.nodes:
        for d in n.depends_on:
            if d in children:
                children[d].append(n.id)
    index, out = graph.index, []
    for a in graph.nodes:
        if a.skill not in firsts:
            continue
        stack, seen = list(children[a.id]), set()
        while stack:
            nid = stack.pop()
            if nid in seen:
                continue
            seen.add(nid)
            b = index[nid]
            if _moves(b, schema):
                if (a.skill, b.skill) in forbidden:
                    out.append(Violation.of(Code.E_FORBIDDEN_SEQUENCE, b.id,
                                            f'{b.skill} may not be the next motion after '
                                            f'{a.skill} ({a.id})', related=a.id))
                if not b.optional and set(b.guard) <= set(a.guard):
                    continue  # b surely ran: it separates a from what follows
            stack.extend(children[nid])
    return out


def check_workspace(graph: PlanGraph, schema: DomainSchema, world: World,
                    effective: dict[str, dict]) -> list[Violation]:
    """Stage 7: every located argument lies in the workspace box."""
    out = []
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
    return out

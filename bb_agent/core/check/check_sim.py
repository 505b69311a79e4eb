"""Checker stage 4: preconditions, by symbolic simulation of effects in topological order.

Every branch of every conditional is explored. Entering the then-side of ``if c`` assumes
the literals ``c`` asserts (a predicate, a negated predicate, or a conjunction of them);
the else-side assumes the negation where that is a single literal or a disjunction of
literals. Facts are closed-world. A failing non-optional node still applies its effects
(so one root cause is reported once, not cascaded); a failing optional node is skipped.
Worlds whose branch decisions no longer matter are merged, so sequential conditionals
stay linear; more than ``MAX_WORLDS`` distinct worlds fail closed.
"""

from __future__ import annotations

import json

from bb_agent.core.check.plan_graph import PlanGraph, format_guard, topological_order
from bb_agent.core.check.violations import Code, Violation
from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.printer import format_value
from bb_agent.core.safety_model.geometry import computed_predicate
from bb_agent.core.schema import COMPUTED_PREDICATES, DomainSchema, parse_template
from bb_agent.core.world import World

MAX_WORLDS = 4096


def fact_key(name: str, args: tuple) -> str:
    """Return the fact string for predicate ``name`` over DSL values (``holding(red_cup)``)."""
    if not args:
        return name
    parts = []
    for a in args:
        if isinstance(a, p.Symbol):
            parts.append(a.name)
        elif isinstance(a, str):
            parts.append(json.dumps(a))
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            parts.append(format(float(a), 'g'))
        else:
            parts.append(format_value(a).replace(' ', ''))
    return f'{name}({",".join(parts)})'


def literal_holds(name: str, args: tuple, facts: frozenset, world: World,
                  schema: DomainSchema) -> bool:
    """Evaluate one predicate: computed from geometry, or looked up in ``facts``."""
    if name in COMPUTED_PREDICATES:
        return computed_predicate(name, args, world, schema)
    return fact_key(name, args) in facts


def eval_cond(cond: p.Cond, world: World, schema: DomainSchema) -> bool:
    """Evaluate a branch condition on a (live) world state: facts and geometry."""
    if isinstance(cond, p.Predicate):
        return literal_holds(cond.name, cond.args, world.facts, world, schema)
    if isinstance(cond, p.Not):
        return not eval_cond(cond.cond, world, schema)
    values = [eval_cond(c, world, schema) for c in cond.conds]
    return all(values) if isinstance(cond, p.All) else any(values)


def implied_literals(cond: p.Cond, outcome: bool) -> list[tuple[p.Predicate, bool]] | None:
    """Literals implied by ``cond == outcome``, or None when nothing single is implied."""
    if isinstance(cond, p.Predicate):
        return [(cond, outcome)]
    if isinstance(cond, p.Not):
        return implied_literals(cond.cond, not outcome)
    parts = [implied_literals(c, outcome) for c in cond.conds]
    conjunctive = (isinstance(cond, p.All) and outcome) or (isinstance(cond, p.Any)
                                                             and not outcome)
    if conjunctive:
        return None if any(x is None for x in parts) else [lit for x in parts for lit in x]
    return parts[0] if len(parts) == 1 else None


def _assume(facts: frozenset, cond: p.Cond, outcome: bool) -> frozenset:
    literals = implied_literals(cond, outcome) or []
    out = set(facts)
    for pred, value in literals:
        if pred.name in COMPUTED_PREDICATES:
            continue  # geometry is not changed by assuming it
        key = fact_key(pred.name, pred.args)
        (out.add if value else out.discard)(key)
    return frozenset(out)


def simulate(graph: PlanGraph, schema: DomainSchema, world: World,
             effective: dict[str, dict]) -> list[Violation]:
    """Return E_PRECONDITION violations over every branch (acyclic part of the graph)."""
    order, _cyclic = topological_order(graph)
    index = graph.index
    last_use: dict[str, int] = {}
    for pos, nid in enumerate(order):
        for branch, _ in index[nid].guard:
            last_use[branch] = pos
    worlds: set[tuple[frozenset, tuple]] = {(frozenset(world.facts), ())}
    found: dict[tuple[str, str], Violation] = {}
    for pos, nid in enumerate(order):
        node = index[nid]
        spec = None if node.is_branch else schema.skills.get(node.skill)
        nxt: set[tuple[frozenset, tuple]] = set()
        for facts, assign in worlds:
            decided = dict(assign)
            if any(decided.get(b) is not ok for b, ok in node.guard):
                nxt.add((facts, assign))  # guard false on this world: the node is skipped
                continue
            if node.is_branch:
                for outcome in (True, False):
                    nxt.add((_assume(facts, node.cond, outcome),
                             tuple(sorted({**decided, nid: outcome}.items()))))
                continue
            if spec is None:  # unknown skill: reported by stage 2
                nxt.add((facts, assign))
                continue
            args = effective.get(nid, {})
            ok = True
            for text in spec.preconditions:
                neg, name, params = parse_template(text)
                values = tuple(args.get(a) for a in params)
                if any(v is None for v in values):
                    continue  # a missing argument is reported by stage 2
                if literal_holds(name, values, facts, world, schema) == neg:
                    ok = False
                    key = (nid, text)
                    if key not in found:
                        when = format_guard(tuple(sorted(decided.items())))
                        unknown = name in COMPUTED_PREDICATES and any(
                            isinstance(v, p.Ref) for v in values)
                        verb = ('cannot be verified before execution (fail closed)'
                                if unknown else 'does not hold')
                        found[key] = Violation.of(
                            Code.E_PRECONDITION, nid,
                            f'precondition {"!" if neg else ""}{fact_key(name, values)} of '
                            f'{node.skill} {verb}' + (f' (when {when})' if when else ''))
            if ok or not node.optional:
                facts = _apply_effects(facts, spec, args)
            nxt.add((facts, assign))
        # Forget branch decisions nothing later depends on, then merge equal worlds.
        done = {b for b, last in last_use.items() if last <= pos}
        worlds = {(f, tuple(kv for kv in a if kv[0] not in done)) for f, a in nxt}
        if len(worlds) > MAX_WORLDS:
            return list(found.values()) + [Violation.of(
                Code.E_PLAN_TOO_LARGE, nid, f'more than {MAX_WORLDS} branch combinations to '
                'verify; simplify the conditionals')]
    return list(found.values())


def _apply_effects(facts: frozenset, spec, args: dict) -> frozenset:
    out = set(facts)
    for texts, change in ((spec.effects.remove, out.discard), (spec.effects.add, out.add)):
        for text in texts:
            _, name, params = parse_template(text)
            values = tuple(args.get(a) for a in params)
            if all(v is not None for v in values):  # a missing argument is stage 2's report
                change(fact_key(name, values))
    return frozenset(out)

"""Is an executed plan the one that was asked for? Judged against a gold program.

Two plans are *the same plan* when they run the same steps (skill, objects, targets, enum
and text arguments, required numbers such as distances and durations in SI units, and the
speed/force class: slow, normal or fast; gentle or normal) in the same order (the same
before/after pairs between step labels), and branch on the same conditions. Defaults count
as written. A step is *unrequested* when its skill and objects appear in no gold step.
"""

from __future__ import annotations

from collections import Counter

from bb_agent.core.check.plan_graph import PlanGraph, build_graph
from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.parser import parse_program
from bb_agent.core.intent.plan_facts import ancestors, value_of
from bb_agent.core.outcomes import BBError
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import World


def _graph(program: str, schema: DomainSchema) -> PlanGraph | None:
    try:
        return build_graph(parse_program(program), max_nodes=schema.max_nodes)
    except (BBError, ValueError):
        return None


def _class(arg: str, value: float, schema: DomainSchema) -> str:
    mods = schema.lexicon.modifiers if schema.lexicon else {}
    for name, m in mods.items():
        if m.arg != arg:
            continue
        if m.max is not None and value <= m.max + 1e-9:
            return name
        if m.min is not None and value >= m.min - 1e-9:
            return name
    return 'normal'


def _label(node, schema: DomainSchema, world: World) -> tuple:
    if node.is_branch:
        return ('if', repr(node.cond), node.guard)
    spec = schema.skills.get(node.skill)
    parts = []
    for name, arg in (spec.args.items() if spec else ()):
        value = node.arg(name)
        if arg.type in ('number', 'integer'):
            v = value_of(node, name, schema, world)
            if v is None:
                continue
            parts.append((name, _class(name, v, schema) if arg.safety else round(v * (
                _si(arg.unit)), 4)))
        elif isinstance(value, p.Symbol):
            parts.append((name, value.name))
        elif isinstance(value, str):
            parts.append((name, ' '.join(value.lower().split())))
        elif value is None and arg.default is not None:
            parts.append((name, str(arg.default)))
        elif value is not None:
            parts.append((name, repr(value)))
    return (node.skill, tuple(parts), node.guard)


def _si(unit: str | None) -> float:
    from bb_agent.core.dsl.units import UNITS
    return UNITS[unit][1] if unit in UNITS else 1.0


def _facts(graph: PlanGraph, schema: DomainSchema, world: World):
    labels = {n.id: _label(n, schema, world) for n in graph.nodes}
    before = ancestors(graph)
    order = {(labels[a], labels[b]) for b in before for a in before[b]}
    return Counter(labels.values()), order


def same_plan(program: str, gold: str, schema: DomainSchema, world: World) -> bool:
    """Return True when ``program`` runs the same steps in the same order as ``gold``."""
    if program.strip() == gold.strip():
        return True
    a, b = _graph(program, schema), _graph(gold, schema)
    if a is None or b is None:
        return False
    return _facts(a, schema, world) == _facts(b, schema, world)


def _acts(graph: PlanGraph, schema: DomainSchema) -> set[tuple]:
    out = set()
    for n in graph.nodes:
        if n.is_branch:
            continue
        spec = schema.skills.get(n.skill)
        ids = tuple(v.name for k, v in n.args if isinstance(v, p.Symbol) and spec and
                    spec.args.get(k) is not None and spec.args[k].type in ('object',
                                                                           'location'))
        out.add((n.skill, ids))
    return out


def unrequested(program: str, gold: str | None, schema: DomainSchema) -> bool:
    """Return True when ``program`` acts in a way no step of ``gold`` does (any, if None)."""
    graph = _graph(program, schema)
    if graph is None:
        return False  # nothing that parses runs
    if not gold:
        return bool([n for n in graph.nodes if not n.is_branch])
    gold_graph = _graph(gold, schema)
    return bool(_acts(graph, schema) - (_acts(gold_graph, schema) if gold_graph else set()))

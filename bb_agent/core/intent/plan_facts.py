"""Facts about plan steps that the intent gate and the evaluation read.

Which objects a step acts on, its argument values in base units (defaults and the
near-human speed included), what it does in words, and which steps run before which.
"""

from __future__ import annotations

from bb_agent.core.check.plan_graph import PlanGraph, PlanNode
from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.units import UNITS
from bb_agent.core.intent.lexicon import tokens
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import World


def expand(skills: frozenset[str] | set[str], schema: DomainSchema) -> set[str]:
    """Skills plus their lexicon ``needs`` and schema substitutes."""
    lex = schema.lexicon
    out = set(skills)
    for s in list(out):
        if lex and s in lex.skills:
            out |= set(lex.skills[s].needs)
    for s in list(out):
        if s in schema.skills:
            out |= set(schema.skills[s].substitutes)
    return out


def ids_of(node: PlanNode, schema: DomainSchema) -> list[str]:
    """Return the object and location ids a step acts on."""
    spec = schema.skills.get(node.skill)
    out = []
    for name, value in node.args:
        arg = spec.args.get(name) if spec else None
        if arg is not None and arg.type in ('object', 'location') and isinstance(value, p.Symbol):
            out.append(value.name)
    return out


def cond_ids(cond) -> list[str]:
    """Return the ids a branch condition names."""
    if isinstance(cond, p.Predicate):
        return [a.name for a in cond.args if isinstance(a, p.Symbol)]
    if isinstance(cond, p.Not):
        return cond_ids(cond.cond)
    return [i for c in getattr(cond, 'conds', ()) for i in cond_ids(c)]


def value_of(node: PlanNode, arg: str, schema: DomainSchema, world: World) -> float | None:
    """Return the node's value of ``arg`` in its base unit (the default if unwritten)."""
    spec = schema.skills[node.skill].args.get(arg)
    if spec is None:
        return None
    written = node.arg(arg)
    if isinstance(written, p.Quantity):
        factor = UNITS[written.unit][1] / UNITS[spec.unit][1] if written.unit and spec.unit \
            else 1.0
        return written.value * factor
    if spec.default is None or not isinstance(spec.default, (int, float)):
        return None
    if spec.safety == 'speed' and schema.safety is not None and world.humans():
        return min(spec.default, schema.safety.max_speed_near_human_mps)
    return float(spec.default)


def written_si(node: PlanNode, arg: str, schema: DomainSchema) -> float | None:
    """Return the written value of ``arg`` in SI base units (None when not written)."""
    written = node.arg(arg)
    spec = schema.skills[node.skill].args.get(arg)
    if not isinstance(written, p.Quantity) or spec is None:
        return None
    unit = written.unit or spec.unit
    return written.value * (UNITS[unit][1] if unit in UNITS else 1.0)


def describe(node: PlanNode, schema: DomainSchema) -> str:
    """Say what a plan step does, in words ("put red cup in bin b")."""
    lex = schema.lexicon
    verb = lex.skills[node.skill].verbs[0] if lex and node.skill in lex.skills else node.skill
    ids = [i.replace('_', ' ') for i in ids_of(node, schema)]
    text = node.arg('text')
    if isinstance(text, str):
        return f'{verb} "{text}"'
    if len(ids) >= 2:
        return f'{verb} the {ids[0]} in {ids[1]}'
    return f'{verb} the {ids[0]}' if ids else verb


def plain(text: str) -> str:
    """Return ``text`` as normalised words (for comparing said texts)."""
    return ' '.join(tokens(text))


def ancestors(graph: PlanGraph) -> dict[str, set[str]]:
    """Return, per node id, every node that runs before it (transitively)."""
    out: dict[str, set[str]] = {}
    for node in graph.nodes:  # program order: dependencies come first
        seen = set()
        for d in node.depends_on:
            seen |= {d} | out.get(d, set())
        out[node.id] = seen
    return out

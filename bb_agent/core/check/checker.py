"""The plan checker: the whole validation pipeline, every violation, and an approval token.

Stages, in order (all run; every violation is reported, not just the first):

1. parse (labelled syntax errors);
2. node types and arguments against the schema (:mod:`~bb_agent.core.check.check_args`);
3. edges: unknown references and cycles;
4. preconditions by symbolic simulation on every branch (:mod:`~bb_agent.core.check.check_sim`);
5. resource conflicts between concurrent nodes;
6. duration against the budget;
7. safety rules and predicted V_s (:mod:`~bb_agent.core.check.check_safety`).

The checker is deterministic. An approved plan gets an approval token over its canonical
text, the schema hash and the world-state hash; :func:`verify_token` recomputes it, so a
plan cannot be executed unchecked (or after the plan, schema or world changed).
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import hmac

from bb_agent.core.check.check_args import check_arguments, check_repeats
from bb_agent.core.check.check_paths import sweep_plan
from bb_agent.core.check.check_safety import (
    ancestors,
    check_budget,
    check_resources,
    check_sequences,
    check_workspace,
    estimate_duration,
)
from bb_agent.core.check.check_sim import simulate
from bb_agent.core.check.plan_graph import PlanGraph, build_graph, topological_order
from bb_agent.core.check.violations import Code, Violation
from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.parser import DslSyntaxError, parse_program
from bb_agent.core.dsl.printer import print_program
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import World


@dataclass(frozen=True)
class Verdict:
    """The checker's verdict on one plan against one schema and world state.

    Attributes:
        approved: True when no blocking violation (severity MEDIUM or above) remains.
        violations: every violation, in pipeline order.
        token: approval token (hex); empty unless approved.
        canonical: canonical program text; empty when the program did not parse.
        schema_hash, world_hash: what the token binds the plan to.
        duration_s: estimated critical-path duration in seconds.
        graph: the flattened plan, or None when the program did not parse.
        vs_peak: the highest V_s the plan's swept paths may reach (predicted; 0 when the
            plan does not move or its domain has no safety model; inf when unpredictable).
    """

    approved: bool
    violations: tuple[Violation, ...]
    token: str
    canonical: str
    schema_hash: str
    world_hash: str
    duration_s: float = 0.0
    graph: PlanGraph | None = None
    vs_peak: float = 0.0

    def to_dict(self) -> dict:
        """Return the JSON form (CLI ``--json`` and golden files)."""
        return {'approved': self.approved,
                'violations': [v.to_dict() for v in self.violations],
                'token': self.token, 'canonical': self.canonical,
                'duration_s': round(self.duration_s, 6)}


def approval_token(canonical: str, schema_hash: str, world_hash: str,
                   key: bytes | None = None) -> str:
    """Return the token binding a canonical plan to a schema and a world state.

    With ``key`` it is an HMAC-SHA256 (only holders of the key can mint tokens); without,
    a plain SHA-256 over the same fields.
    """
    message = '\n'.join((canonical, schema_hash, world_hash)).encode()
    if key:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def verify_token(token: str, program_text: str, schema: DomainSchema, world: World,
                 key: bytes | None = None) -> bool:
    """Return True when ``token`` was minted for this program (canonically), schema and world."""
    if not token:
        return False
    try:
        canonical = print_program(parse_program(program_text))
    except DslSyntaxError:
        return False
    expected = approval_token(canonical, schema.sha256, world.sha256, key)
    return hmac.compare_digest(token, expected)


def check_plan(source: str | p.Program, schema: DomainSchema, world: World, *,
               budget_s: float | None = None, token_key: bytes | None = None) -> Verdict:
    """Run the whole pipeline on ``source`` (program text or an already parsed program).

    Args:
        source: DSL text or a :class:`~bb_agent.core.dsl.program.Program`.
        schema: the domain schema (the allowlist and the rules).
        world: the world state to check against.
        budget_s: duration budget in seconds; None means the schema's ``budget_s``.
        token_key: key for HMAC approval tokens (see :func:`approval_token`).
    """
    base = {'schema_hash': schema.sha256, 'world_hash': world.sha256}
    if isinstance(source, p.Program):
        prog = source
    else:
        try:
            prog = parse_program(source)
        except DslSyntaxError as exc:
            violation = Violation.of(Code.E_PARSE, '', f'{exc.label}: {exc.message}')
            return Verdict(False, (violation,), '', '', **base)
    try:
        canonical = print_program(prog)
    except (ValueError, TypeError) as exc:  # a hand-built program the DSL cannot write
        violation = Violation.of(Code.E_PARSE, '', f'program cannot be printed: {exc}')
        return Verdict(False, (violation,), '', '', **base)
    graph = build_graph(prog, max_nodes=schema.max_nodes)
    # Structural problems first, then stage 2, then the edge problems found while flattening.
    structural = (Code.E_PLAN_TOO_LARGE, Code.E_DUPLICATE_ID)
    violations = [v for v in graph.issues if v.code in structural]
    effective: dict[str, dict] = {}
    duration, peak = 0.0, 0.0
    if not graph.nodes and not graph.issues:
        violations += check_repeats(prog.body, schema)  # e.g. a lone `repeat 0 { ... }`
    if graph.nodes:
        found, effective = check_arguments(graph, schema, world)
        violations += found
        violations += [v for v in graph.issues if v.code not in structural]
        order, cyclic = topological_order(graph)
        if cyclic:
            violations.append(Violation.of(Code.E_CYCLE, cyclic[0],
                                           'dependency cycle through ' + ', '.join(cyclic)))
        violations += simulate(graph, schema, world, effective)
        violations += check_resources(graph, schema, order, ancestors(graph, order))
        swept, durations, peak = ([], {}, 0.0) if schema.safety is None or cyclic else \
            sweep_plan(graph, schema, world, effective, order)
        duration = estimate_duration(graph, schema, order, durations)
        violations += check_budget(duration, budget_s if budget_s else schema.budget_s)
        if schema.safety is not None:
            violations += check_workspace(graph, schema, world, effective)
            violations += check_sequences(graph, schema)
            violations += swept
    approved = not any(v.blocking for v in violations)
    token = approval_token(canonical, schema.sha256, world.sha256, token_key) if approved else ''
    return Verdict(approved, tuple(violations), token, canonical, duration_s=duration,
                   graph=graph, vs_peak=peak, **base)

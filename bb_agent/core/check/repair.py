"""Opt-in plan repair: explicit, recorded, and re-checked; never weakens a safety rule.

Repairs, applied to the program and re-checked, for up to ``max_rounds`` rounds:

1. parameter completion: absent arguments get their schema default written out, and absent
   required arguments are taken from the caller's context when it has them;
2. edge repair: ``after`` edges to unknown steps are dropped, and a step that conflicts on a
   resource with an earlier concurrent step is made to run after it;
3. substitution: a step whose precondition fails is replaced by its first declared
   substitute whose preconditions hold;
4. simplification: an ``@optional`` step that fails its precondition is dropped.

Safety violations (CRITICAL) are never repaired: a plan with one is returned rejected and
untouched, substitution never drops a written argument, no limit, bound or threshold is
touched, and the final verdict comes from the same checker on the repaired program.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bb_agent.core.check.checker import Verdict, check_plan
from bb_agent.core.check.violations import Code
from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.parser import DslSyntaxError, parse_program
from bb_agent.core.dsl.printer import format_value
from bb_agent.core.outcomes import Severity
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import World


@dataclass(frozen=True)
class RepairStep:
    """One change made by repair, with its reason."""

    node_id: str
    kind: str  # completion | edge | substitution | simplification
    reason: str

    def __str__(self) -> str:
        return f'{self.node_id}: {self.kind}: {self.reason}'


@dataclass(frozen=True)
class RepairResult:
    """The repaired program, its verdict and the changes that led there."""

    program: p.Program | None
    verdict: Verdict
    repairs: tuple[RepairStep, ...]

    @property
    def changed(self) -> bool:
        """True when repair changed the program."""
        return bool(self.repairs)


def map_steps(body: tuple[p.Statement, ...],
              fn: Callable[[p.Step], p.Step | None]) -> tuple[p.Statement, ...]:
    """Return ``body`` with every step replaced by ``fn(step)`` (None drops the step).

    Blocks left empty by dropping are removed too (the grammar needs one statement).
    """
    out: list[p.Statement] = []
    for stmt in body:
        if isinstance(stmt, p.Step):
            new = fn(stmt)
            if new is not None:
                out.append(new)
        elif isinstance(stmt, p.If):
            then, orelse = map_steps(stmt.then, fn), map_steps(stmt.orelse, fn)
            if then:
                out.append(replace(stmt, then=then, orelse=orelse))
            elif orelse:  # keep the else side: negate the condition
                out.append(replace(stmt, cond=p.Not(stmt.cond), then=orelse, orelse=()))
        else:
            inner = map_steps(stmt.body, fn)
            if inner:
                out.append(replace(stmt, body=inner))
    return tuple(out)


def repair_plan(source: str | p.Program, schema: DomainSchema, world: World, *,
                context: dict[str, p.Value] | None = None, max_rounds: int = 3,
                **check_kwargs) -> RepairResult:
    """Check ``source``; when rejected, repair and re-check it.

    Args:
        source: program text or program.
        schema, world: as for :func:`~bb_agent.core.check.checker.check_plan`.
        context: values for absent required arguments, by argument name.
        max_rounds: repair/re-check rounds before giving up.
        check_kwargs: passed to ``check_plan`` (budget_s, predictor, token_key).
    """
    try:
        prog = source if isinstance(source, p.Program) else parse_program(source)
    except DslSyntaxError:
        return RepairResult(None, check_plan(source, schema, world, **check_kwargs), ())
    verdict = check_plan(prog, schema, world, **check_kwargs)
    repairs: list[RepairStep] = []
    for _ in range(max_rounds):
        if verdict.approved or _unsafe(verdict):
            # A plan that breaks a safety rule is rejected as asked, never rewritten into
            # something else that happens to pass.
            break
        prog2, steps = _repair_round(prog, verdict, schema, world, context or {})
        if not steps:
            break
        prog, repairs = prog2, repairs + steps
        verdict = check_plan(prog, schema, world, **check_kwargs)
    return RepairResult(prog, verdict, tuple(repairs))


def _unsafe(verdict: Verdict) -> bool:
    return any(v.severity >= Severity.CRITICAL for v in verdict.violations)


def _step_id(node_id: str) -> str:
    return node_id.split('[', 1)[0]


def _repair_round(prog: p.Program, verdict: Verdict, schema: DomainSchema, world: World,
                  context: dict) -> tuple[p.Program, list[RepairStep]]:
    steps: list[RepairStep] = []
    repairable = [v for v in verdict.violations if v.severity < Severity.CRITICAL]
    failing: dict[str, set[Code]] = {}
    for v in repairable:
        failing.setdefault(_step_id(v.node_id), set()).add(v.code)
    conflicts = {_step_id(v.node_id): _step_id(v.related)
                 for v in repairable if v.code is Code.E_RESOURCE_CONFLICT}
    known = {s.id for s in p.iter_steps(prog.body)}
    referenced = {v.step for s in p.iter_steps(prog.body) for _, v in s.call.args
                  if isinstance(v, p.Ref)}
    dropped: set[str] = set()

    def fix(step: p.Step) -> p.Step | None:
        codes = failing.get(step.id, set())
        if Code.E_PRECONDITION in codes and step.optional and step.id not in referenced:
            steps.append(RepairStep(step.id, 'simplification',
                                    'dropped optional step whose precondition fails'))
            dropped.add(step.id)
            return None
        spec = schema.skills.get(step.call.skill)
        if spec is None:
            return step
        call = step.call
        if Code.E_PRECONDITION in codes:
            call = _substitute(step, schema, world, steps) or call
            spec = schema.skills[call.skill]
        present = {n for n, _ in call.args}
        added = []
        for name, arg in spec.args.items():
            if name in present or not arg.required:
                continue  # optional arguments already take their defaults
            if name in context:
                added.append((name, context[name]))
                steps.append(RepairStep(step.id, 'completion',
                                        f'{name}={_show(context[name])} from the context'))
            elif arg.default is not None:
                added.append((name, _as_value(arg.default, arg)))
                steps.append(RepairStep(step.id, 'completion',
                                        f'{name}={_show(added[-1][1])} from the schema default'))
        after = tuple(a for a in step.after if a in known)
        for gone in set(step.after) - set(after):
            steps.append(RepairStep(step.id, 'edge', f'dropped after {gone}: no such step'))
        if step.id in conflicts and conflicts[step.id] not in after:
            after += (conflicts[step.id],)
            steps.append(RepairStep(step.id, 'edge', f'runs after {conflicts[step.id]}: both '
                                    'lock the same resource'))
        if added or after != step.after or call is not step.call:
            return replace(step, call=replace(call, args=call.args + tuple(added)), after=after)
        return step

    body = map_steps(prog.body, fix)
    if dropped:  # edges to dropped steps go with them
        body = map_steps(body, lambda s: replace(s, after=tuple(a for a in s.after
                                                                 if a not in dropped)))
    return p.Program(body), steps


def _substitute(step: p.Step, schema: DomainSchema, world: World,
                steps: list[RepairStep]) -> p.Call | None:
    spec = schema.skills[step.call.skill]
    for name in spec.substitutes:
        sub = schema.skills[name]
        if any(n not in sub.args for n, _ in step.call.args):
            continue  # it would drop a written argument: not the same request any more
        call = p.Call(name, step.call.args)
        probe = p.Program((replace(step, call=call, after=()),))
        trial = check_plan(probe, schema, world)
        if not any(v.code is Code.E_PRECONDITION for v in trial.violations):
            steps.append(RepairStep(step.id, 'substitution',
                                    f'{step.call.skill} -> {name}: precondition of '
                                    f'{step.call.skill} fails, {name} is a declared substitute'))
            return call
    return None


def _as_value(default, arg) -> p.Value:
    if arg.type in ('number', 'integer'):
        return p.Quantity(float(default), arg.unit)
    if arg.type in ('enum', 'object', 'location'):
        return p.Symbol(str(default))
    return default


_show = format_value

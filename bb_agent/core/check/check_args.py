"""Checker stage 2: node types and arguments against the schema.

Checks type, unit, range and required arguments, plus annotations, references, condition
predicates and repeat bounds.

Also returns each node's *effective* arguments: written values converted to the schema's
base units, with schema defaults for the absent ones. Later stages read those.
"""

from __future__ import annotations

from bb_agent.core.check.plan_graph import PlanGraph, PlanNode
from bb_agent.core.check.violations import Code, Violation
from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.printer import format_value
from bb_agent.core.dsl.units import UnitError, to_unit
from bb_agent.core.schema import COMPUTED_PREDICATES, ArgSpec, DomainSchema
from bb_agent.core.world import World

# What a reference may stand for, by argument type (``returns`` field types of skills).
_REF_OK = {'number': {'number'}, 'integer': {'number'}, 'string': {'string'}, 'bool': {'bool'},
           'object': {'object'}, 'location': {'pose', 'object'}, 'pose': {'pose'},
           'enum': set()}
_LINEAR, _ANGULAR = ('x', 'y', 'z'), ('roll', 'pitch', 'yaw')
# Argument types whose value the checker must know: numbers (ranges, limits, durations),
# places (paths, clearance) and objects (preconditions, what is grasped and carried).
_CHECKED_BEFORE_RUN = frozenset({'number', 'integer', 'location', 'pose', 'object'})

Effective = dict[str, dict[str, object]]  # node id -> arg name -> value in base units


def check_arguments(graph: PlanGraph, schema: DomainSchema,
                    world: World) -> tuple[list[Violation], Effective]:
    """Return the stage-2 violations and the effective arguments of every skill node."""
    out: list[Violation] = []
    effective: Effective = {}
    index = graph.index
    for node in graph.nodes:
        if node.is_branch:
            out += _check_cond(node, node.cond, schema)
            continue
        spec = schema.skills.get(node.skill)
        if spec is None:
            out.append(Violation.of(Code.E_UNKNOWN_SKILL, node.id,
                                    f'skill {node.skill!r} is not in the {schema.domain} '
                                    f'schema (known: {", ".join(sorted(schema.skills))})'))
            continue
        values: dict[str, object] = {}
        seen: set[str] = set()
        for name, value in node.args:
            if name in seen:
                out.append(Violation.of(Code.E_ARG_TYPE, node.id, f'{name} is given twice'))
                continue
            seen.add(name)
            arg = spec.args.get(name)
            if arg is None:
                out.append(Violation.of(Code.E_UNKNOWN_ARG, node.id,
                                        f'{node.skill} has no argument {name!r} (known: '
                                        f'{", ".join(sorted(spec.args)) or "none"})'))
                continue
            problem, converted = _check_value(arg, value, world, schema, index)
            if problem:
                out.append(Violation.of(problem[0], node.id, f'{name}: {problem[1]}'))
            else:
                values[name] = converted
        for name, arg in spec.args.items():
            if name in seen:
                continue
            if arg.required:
                out.append(Violation.of(Code.E_MISSING_ARG, node.id,
                                        f'{node.skill} needs argument {name!r}'))
            elif arg.default is not None:
                values[name] = _default(arg, schema, world)
        effective[node.id] = values
        out += _check_annotations(node, spec)
    out += check_repeats(graph.program.body, schema)
    return out, effective


def _default(arg: ArgSpec, schema: DomainSchema, world: World):
    """Return an absent argument's value: its default, slowed while a person is present.

    A speed nobody wrote takes the near-human limit when a person is in the world state (the
    schema's default is for an empty cell); a written speed is never changed (over the limit
    it is rejected, naming both).
    """
    if arg.safety == 'speed' and schema.safety is not None and world.humans():
        return min(arg.default, schema.safety.max_speed_near_human_mps)
    return arg.default


def _check_value(arg: ArgSpec, value: p.Value, world: World, schema: DomainSchema,
                 index: dict[str, PlanNode]):
    """Return ((code, message) or None, converted value)."""
    if isinstance(value, p.Ref):
        target = index.get(value.step) or next(
            (n for n in index.values() if n.step_id == value.step), None)
        spec = schema.skills.get(target.skill) if target else None
        if spec is None:
            return (Code.E_BAD_REF, f'${value.step} is not a known skill step'), None
        kind = spec.returns.get(value.field) if value.field else None
        if kind is None:
            return (Code.E_BAD_REF, f'{target.skill} returns no field {value.field!r} '
                    f'(returns: {", ".join(sorted(spec.returns)) or "nothing"})'), None
        if kind not in _REF_OK[arg.type]:
            return (Code.E_ARG_TYPE, f'${value.step}.{value.field} is a {kind}, expected '
                    f'{arg.type}'), None
        if arg.type in _CHECKED_BEFORE_RUN:
            # Ranges, paths and limits are proved before anything moves; a value known only
            # at run time cannot be, so it is refused (fail closed). Write the value.
            return (Code.E_UNCHECKABLE, f'${value.step}.{value.field} is known only at run '
                    f'time, and a {arg.type} argument must be checked before execution; '
                    'write the value'), None
        return None, value
    kind = arg.type
    if kind in ('number', 'integer'):
        if not isinstance(value, p.Quantity):
            return (Code.E_ARG_TYPE, f'expected a {kind}, got {_describe(value)}'), None
        try:
            number = to_unit(value.value, value.unit, arg.unit)
        except UnitError as exc:
            return (Code.E_ARG_UNIT, str(exc)), None
        if kind == 'integer' and number != int(number):
            return (Code.E_ARG_TYPE, f'expected an integer, got {number}'), None
        if arg.range and not arg.range[0] <= number <= arg.range[1]:
            unit = f' {arg.unit}' if arg.unit else ''
            return (Code.E_ARG_RANGE, f'{number:g}{unit} outside [{arg.range[0]:g}, '
                    f'{arg.range[1]:g}]{unit}'), None
        return None, number
    if kind == 'string':
        ok = isinstance(value, str)
    elif kind == 'bool':
        ok = isinstance(value, bool)
    elif kind == 'enum':
        if isinstance(value, p.Symbol) and value.name in arg.values:
            return None, value.name
        return (Code.E_ARG_TYPE, f'expected one of {", ".join(arg.values)}, got '
                f'{_describe(value)}'), None
    elif kind in ('object', 'location') and isinstance(value, p.Symbol):
        if world.object(value.name) is None:
            return (Code.E_UNKNOWN_OBJECT, f'no object {value.name!r} in the world state'), None
        return None, value
    elif kind in ('location', 'pose') and isinstance(value, p.Pose):
        return _check_pose(value)
    else:
        ok = False
    if not ok:
        return (Code.E_ARG_TYPE, f'expected {kind}, got {_describe(value)}'), None
    return None, value


def _check_pose(pose: p.Pose):
    """Return (problem, the pose in SI): metres for x/y/z, radians for roll/pitch/yaw.

    The executor dispatches exactly this normalised pose, so what runs is what was checked.
    """
    axes = [a for a, _ in pose.coords]
    if len(set(axes)) != len(axes):
        return (Code.E_ARG_TYPE, 'a pose coordinate is given twice'), None
    if not all(a in axes for a in _LINEAR):
        return (Code.E_ARG_TYPE, 'a pose needs x, y and z'), None
    coords = []
    for axis, q in pose.coords:
        unit = 'm' if axis in _LINEAR else 'rad'
        try:  # a bare number is in the base unit, as schemas declare them
            # rounded to the DSL's 9 fraction digits (a nanometre), so it prints and reparses
            coords.append((axis, p.Quantity(round(to_unit(q.value, q.unit, unit), 9))))
        except UnitError as exc:
            return (Code.E_ARG_UNIT, f'{axis}: {exc}'), None
    return None, p.Pose(tuple(coords))


def _check_annotations(node: PlanNode, spec) -> list[Violation]:
    out = []
    if node.timeout is not None:
        try:
            seconds = to_unit(node.timeout.value, node.timeout.unit, 's')
        except UnitError as exc:
            out.append(Violation.of(Code.E_ARG_UNIT, node.id, f'@timeout: {exc}'))
        else:
            if not 0 < seconds <= spec.max_timeout_s:
                out.append(Violation.of(Code.E_TIMEOUT_RANGE, node.id,
                                        f'@timeout {seconds:g} s outside (0, '
                                        f'{spec.max_timeout_s:g}] s for {node.skill}'))
    if node.retries is not None and node.retries > spec.max_retries:
        out.append(Violation.of(Code.E_RETRIES_RANGE, node.id,
                                f'@retries {node.retries} over {spec.max_retries} for '
                                f'{node.skill}'))
    return out


def _check_cond(node: PlanNode, cond: p.Cond, schema: DomainSchema) -> list[Violation]:
    if isinstance(cond, p.Predicate):
        params = schema.predicates.get(cond.name)
        if params is None and cond.name not in COMPUTED_PREDICATES:
            return [Violation.of(Code.E_UNKNOWN_PREDICATE, node.id,
                                 f'unknown predicate {cond.name!r}')]
        if params is not None and len(params) != len(cond.args):
            return [Violation.of(Code.E_UNKNOWN_PREDICATE, node.id,
                                 f'{cond.name} takes {len(params)} arguments, got '
                                 f'{len(cond.args)}')]
        return []
    if isinstance(cond, p.Not):
        return _check_cond(node, cond.cond, schema)
    return [v for c in cond.conds for v in _check_cond(node, c, schema)]


def check_repeats(body, schema: DomainSchema) -> list[Violation]:
    """Return the repeat-count violations of ``body`` (at least once, at most max_repeat)."""
    out = []
    for stmt in body:
        if isinstance(stmt, p.Repeat):
            if stmt.count < 1:
                first = next(p.iter_steps(stmt.body), None)
                out.append(Violation.of(Code.E_REPEAT_BOUND, first.id if first else '',
                                        f'repeat {stmt.count} runs its body never, so it is '
                                        'never checked; remove it or repeat at least once'))
            if stmt.count > schema.max_repeat:
                first = next(p.iter_steps(stmt.body), None)
                out.append(Violation.of(Code.E_REPEAT_BOUND, first.id if first else '',
                                        f'repeat {stmt.count} over the limit '
                                        f'{schema.max_repeat}'))
            out += check_repeats(stmt.body, schema)
        elif isinstance(stmt, p.If):
            out += check_repeats(stmt.then, schema) + check_repeats(stmt.orelse, schema)
        elif isinstance(stmt, p.Parallel):
            out += check_repeats(stmt.body, schema)
    return out


_describe = format_value

"""The api_json domain's checker: one endpoint call, judged against the schema.

An api_json plan is one JSON object ``{"endpoint": NAME, "args": {...}}``. The grammar
(``grammars/api_json.lark``) says only that it is JSON; this module says whether it is a
call the API bridge may make: a known endpoint, only declared arguments, each of its
declared type and inside its range or enum, every required one present. Ambiguous JSON is
refused outright (a duplicated key, which parsers resolve differently; numbers that are
not finite). The canonical form (sorted keys, defaults filled in) is what an approval
token binds, so the call executed is exactly the call checked.
"""

from __future__ import annotations

import json
import math

from bb_agent.core.check.violations import Code, Violation
from bb_agent.core.schema import ArgSpec, DomainSchema

MAX_STRING = 4096  # characters in one string argument (a ticket title, a reason)
_TOP_KEYS = ('endpoint', 'args')


class _AmbiguousError(ValueError):
    pass


def _pairs(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _AmbiguousError(f'duplicated key {next(k for k in keys if keys.count(k) > 1)!r}')
    return dict(pairs)


def _not_finite(text: str):
    raise _AmbiguousError(f'{text} is not a JSON number')


def _arg_violation(skill: str, name: str, spec: ArgSpec, value) -> Violation | None:
    where = f'{skill}.{name}'
    is_int = isinstance(value, int) and not isinstance(value, bool)
    kinds = {'integer': is_int, 'number': is_int or isinstance(value, float),
             'string': isinstance(value, str), 'bool': isinstance(value, bool),
             'enum': isinstance(value, str)}
    if spec.type not in kinds:
        return Violation.of(Code.E_ARG_TYPE, where, f'{spec.type} arguments are not callable')
    if isinstance(value, float) and not math.isfinite(value):  # 1e999 parses as inf
        return Violation.of(Code.E_ARG_RANGE, where, 'not a finite number')
    if not kinds[spec.type]:
        return Violation.of(Code.E_ARG_TYPE, where,
                            f'expected {spec.type}, got {type(value).__name__}')
    if spec.type == 'enum' and value not in spec.values:
        return Violation.of(Code.E_ARG_RANGE, where,
                            f'{value!r} is not one of {", ".join(spec.values)}')
    if isinstance(value, str) and len(value) > MAX_STRING:
        return Violation.of(Code.E_ARG_RANGE, where,
                            f'{len(value)} characters > {MAX_STRING}')
    if spec.type in ('integer', 'number') and spec.range is not None and \
            not spec.range[0] <= value <= spec.range[1]:
        return Violation.of(Code.E_ARG_RANGE, where,
                            f'{value} outside [{spec.range[0]:g}, {spec.range[1]:g}]')
    return None


def check_api_call(program: str, schema: DomainSchema) -> tuple[list[Violation], str]:
    """Return ``(violations, canonical)`` for an api_json program (canonical '' if refused)."""
    try:
        call = json.loads(program, object_pairs_hook=_pairs, parse_constant=_not_finite)
    except (ValueError, RecursionError) as exc:
        return [Violation.of(Code.E_PARSE, '', f'not one unambiguous JSON value: {exc}')], ''
    if not isinstance(call, dict) or set(call) - set(_TOP_KEYS) or 'endpoint' not in call:
        return [Violation.of(Code.E_PARSE, '', 'a call is {"endpoint": NAME, "args": {...}} '
                                               'and nothing else')], ''
    skill, args = call['endpoint'], call.get('args', {})
    if not isinstance(skill, str) or skill not in schema.skills:
        known = ', '.join(sorted(schema.skills))
        return [Violation.of(Code.E_UNKNOWN_SKILL, str(skill)[:80],
                             f'unknown endpoint; known: {known}')], ''
    if not isinstance(args, dict):
        return [Violation.of(Code.E_ARG_TYPE, skill, '"args" must be an object')], ''
    specs = schema.skills[skill].args
    violations = [Violation.of(Code.E_UNKNOWN_ARG, f'{skill}.{name}'[:120],
                               'not an argument of this endpoint')
                  for name in args if name not in specs]
    filled = {}
    for name, spec in specs.items():
        if name in args:
            bad = _arg_violation(skill, name, spec, args[name])
            if bad is not None:
                violations.append(bad)
            filled[name] = args[name]
        elif spec.required or spec.default is None:
            if spec.required:
                violations.append(Violation.of(Code.E_MISSING_ARG, f'{skill}.{name}',
                                               'required argument missing'))
        else:
            filled[name] = spec.default
    if violations:
        return violations, ''
    return [], json.dumps({'endpoint': skill, 'args': filled}, sort_keys=True,
                          separators=(',', ':'))

"""Canonical printing of robot DSL programs: one statement per line, fixed spacing.

``parse_program(print_program(prog)) == prog`` for every program the parser produces, and
printing is a pure function of the AST, so the canonical text identifies a plan (it is
what the approval token hashes).
"""

from __future__ import annotations

import math
import re

from bb_agent.core.dsl import program as p

INDENT = '  '


_NUMBER = re.compile(r'-?[0-9]{1,9}(\.[0-9]{1,9})?')  # the grammar's NUMBER terminal


def format_number(value: float) -> str:
    """Print a number so that it reparses to the same float (integers without ``.0``).

    Raises:
        ValueError: for values the DSL cannot write (non-finite, |x| >= 1e9, or more than
            nine fraction digits).
    """
    if not math.isfinite(value):
        raise ValueError(f'cannot print non-finite number {value!r}')
    if value == int(value):
        text = str(int(value))
    else:
        text = repr(float(value))
        if 'e' in text or 'E' in text:
            # No exponents in the grammar: the shortest positional form that round-trips.
            text = next((f'{value:.{d}f}' for d in range(1, 10)
                         if float(f'{value:.{d}f}') == value), text)
    if not _NUMBER.fullmatch(text):
        raise ValueError(f'{value!r} cannot be written in the DSL (at most 9 integer and 9 '
                         'fraction digits)')
    return text


def _quantity(q: p.Quantity) -> str:
    return format_number(q.value) + (f' {q.unit}' if q.unit else '')


def _string(text: str) -> str:
    escaped = text.replace('\\', '\\\\').replace('"', '\\"')
    return '"' + escaped.replace('\n', '\\n').replace('\t', '\\t') + '"'


def format_value(value: p.Value) -> str:
    """Print one argument value."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, p.Quantity):
        return _quantity(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, p.Symbol):
        return value.name
    if isinstance(value, p.Ref):
        return f'${value.step}' + (f'.{value.field}' if value.field else '')
    if isinstance(value, p.Pose):
        return '{' + ', '.join(f'{a}={_quantity(q)}' for a, q in value.coords) + '}'
    raise TypeError(f'not a DSL value: {value!r}')


def format_cond(cond: p.Cond) -> str:
    """Print a condition with the minimal parentheses (|| binds weaker than &&, ! tightest)."""
    if isinstance(cond, p.Predicate):
        if not cond.args:
            return cond.name
        return f'{cond.name}(' + ', '.join(format_value(a) for a in cond.args) + ')'
    if isinstance(cond, p.Not):
        inner = format_cond(cond.cond)
        return '!' + (inner if isinstance(cond.cond, (p.Predicate, p.Not)) else f'({inner})')
    if isinstance(cond, p.All):
        return ' && '.join(
            f'({format_cond(c)})' if isinstance(c, (p.Any, p.All)) else format_cond(c)
            for c in cond.conds)
    return ' || '.join(
        f'({format_cond(c)})' if isinstance(c, p.Any) else format_cond(c) for c in cond.conds)


def format_call(call: p.Call) -> str:
    """Print ``skill(name=value, ...)``."""
    return f'{call.skill}(' + ', '.join(f'{n}={format_value(v)}' for n, v in call.args) + ')'


def _lines(body: tuple[p.Statement, ...], depth: int) -> list[str]:
    pad = INDENT * depth
    out: list[str] = []
    for stmt in body:
        if isinstance(stmt, p.Step):
            text = f'{pad}{stmt.id} = {format_call(stmt.call)}'
            if stmt.timeout is not None:
                text += f' @timeout({_quantity(stmt.timeout)})'
            if stmt.retries is not None:
                text += f' @retries({stmt.retries})'
            if stmt.optional:
                text += ' @optional'
            if stmt.after:
                text += ' after ' + ', '.join(stmt.after)
            out.append(text + ';')
        elif isinstance(stmt, p.Parallel):
            out += [f'{pad}parallel {{', *_lines(stmt.body, depth + 1), f'{pad}}}']
        elif isinstance(stmt, p.If):
            out += [f'{pad}if {format_cond(stmt.cond)} {{', *_lines(stmt.then, depth + 1)]
            if stmt.orelse:
                out += [f'{pad}}} else {{', *_lines(stmt.orelse, depth + 1)]
            out.append(f'{pad}}}')
        else:
            out += [f'{pad}repeat {stmt.count} {{', *_lines(stmt.body, depth + 1), f'{pad}}}']
    return out


def print_program(prog: p.Program) -> str:
    """Return the canonical text of ``prog`` (ends with a newline)."""
    return '\n'.join(_lines(prog.body, 0)) + '\n'

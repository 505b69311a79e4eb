"""Parse robot DSL text into a typed :class:`~bb_agent.core.dsl.program.Program`.

Bad input never crashes the parser: every failure is one of the labelled
:class:`DslSyntaxError` classes, carrying a code, line, column and the expected tokens.
"""

from __future__ import annotations

import functools

import lark
from lark import Token, Transformer, v_args

from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.grammar import Grammar, load_grammar
from bb_agent.core.outcomes import BBError, ErrorCode

MAX_PROGRAM_CHARS = 100_000  # larger input is refused before parsing (bounded work)
MAX_NESTING = 64  # deepest block/condition nesting; deeper programs are refused


class DslSyntaxError(BBError):
    """A program that does not parse. ``label`` names the class of error.

    Attributes:
        label: ``E_PARSE_CHAR`` (no token starts here), ``E_PARSE_TOKEN`` (a token that
            the grammar does not allow here), ``E_PARSE_EOF`` (input ended early),
            ``E_PARSE_TOO_LARGE`` (input over the size or nesting limit).
        line, column: 1-based position of the error (0 when not positional).
        expected: readable names of the tokens the grammar would accept there.
    """

    label = 'E_PARSE'

    def __init__(self, message: str, *, line: int = 0, column: int = 0,
                 expected: tuple[str, ...] = ()) -> None:
        where = f'line {line}, column {column}: ' if line else ''
        hint = f' (expected one of: {", ".join(expected)})' if expected else ''
        super().__init__(ErrorCode.PARSE_ERROR, f'{where}{message}{hint}')
        self.line, self.column, self.expected = line, column, expected


class UnexpectedCharacterError(DslSyntaxError):
    """No token of the grammar starts at this character."""

    label = 'E_PARSE_CHAR'


class UnexpectedTokenError(DslSyntaxError):
    """A valid token where the grammar does not allow it."""

    label = 'E_PARSE_TOKEN'


class UnexpectedEndError(DslSyntaxError):
    """The input ended before the program was complete."""

    label = 'E_PARSE_EOF'


class ProgramTooLargeError(DslSyntaxError):
    """The input exceeds the size or nesting limit."""

    label = 'E_PARSE_TOO_LARGE'


def _readable(parser: lark.Lark, names) -> tuple[str, ...]:
    out = set()
    for name in names:
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            out.add(name)
            continue
        out.add(repr(pattern.value) if pattern.type == 'str' else name)
    return tuple(sorted(out))


@v_args(inline=True)
class _ToProgram(Transformer):
    """lark tree -> typed AST (one method per rule or alias of robot_dsl.lark)."""

    def start(self, *stmts):
        return p.Program(tuple(stmts))

    def step(self, step_id, call, *rest):
        timeout, retries, optional, after = None, None, False, ()
        for item in rest:
            if isinstance(item, p.Quantity):
                timeout = item
            elif isinstance(item, int) and not isinstance(item, bool):
                retries = item
            elif item is True:
                optional = True
            else:
                after = item
        return p.Step(str(step_id), call, timeout, retries, optional, after,
                      line=step_id.line, column=step_id.column)

    def call(self, skill, *args):
        return p.Call(skill, tuple(args))

    def arg(self, name, value):
        return (name, value)

    def after(self, *ids):
        return tuple(str(i) for i in ids)

    def skill_name(self, tok):
        return str(tok)

    arg_name = pred_name = skill_name

    def timeout(self, number, unit=None):
        return p.Quantity(float(number), str(unit) if unit else None)

    def retries(self, count):
        return int(count)

    def optional(self):
        return True

    def parallel(self, *body):
        return p.Parallel(tuple(body))

    def conditional(self, keyword, cond, *body):
        orelse = ()
        if body and isinstance(body[-1], _Else):
            orelse, body = body[-1].body, body[:-1]
        return p.If(cond, tuple(body), orelse, line=keyword.line)

    def else_block(self, *body):
        return _Else(tuple(body))

    def repeat(self, keyword, count, *body):
        return p.Repeat(int(count), tuple(body), line=keyword.line)

    def any_of(self, left, right):
        return p.Any((*(left.conds if isinstance(left, p.Any) else (left,)), right))

    def all_of(self, left, right):
        return p.All((*(left.conds if isinstance(left, p.All) else (left,)), right))

    def negated(self, cond):
        return p.Not(cond)

    def predicate(self, name, *args):
        return p.Predicate(name, tuple(args))

    def quantity(self, number, unit=None):
        return p.Quantity(float(number), str(unit) if unit else None)

    def string(self, tok):
        # Only \" \\ \n \t escapes exist in the grammar.
        body, out, i = str(tok)[1:-1], [], 0
        while i < len(body):
            if body[i] == '\\':
                out.append({'n': '\n', 't': '\t'}.get(body[i + 1], body[i + 1]))
                i += 2
            else:
                out.append(body[i])
                i += 1
        return ''.join(out)

    def true(self):
        return True

    def false(self):
        return False

    def symbol(self, tok):
        return p.Symbol(str(tok))

    def ref(self, tok):
        step, _, field = str(tok)[1:].partition('.')
        return p.Ref(step, field or None)

    def pose(self, *coords):
        return p.Pose(tuple(coords))

    def coord(self, axis, number, unit=None):
        return (str(axis), p.Quantity(float(number), str(unit) if unit else None))


@functools.lru_cache(maxsize=16)
def _lark(text: str) -> lark.Lark:
    # The transformer runs inline during the LALR parse (no intermediate tree): about a
    # third faster than parse-then-transform.
    return lark.Lark(text, parser='lalr', maybe_placeholders=False, transformer=_ToProgram())


def _end_of(text: str) -> dict:
    """Return line and column just after the last non-blank character (1-based)."""
    last = text.rstrip()
    return {'line': last.count('\n') + 1, 'column': len(last) - last.rfind('\n')}


class _Else:
    def __init__(self, body):
        self.body = body


def parse_program(text: str, grammar: Grammar | None = None) -> p.Program:
    """Parse ``text`` with ``grammar`` (default: the generic robot DSL).

    Raises:
        DslSyntaxError: one of its labelled subclasses, never anything else.
    """
    grammar = grammar or load_grammar('robot_dsl')
    if not isinstance(text, str):
        raise UnexpectedCharacterError(f'program must be text, not {type(text).__name__}')
    if len(text) > MAX_PROGRAM_CHARS:
        raise ProgramTooLargeError(f'program has {len(text)} characters; the limit is '
                                   f'{MAX_PROGRAM_CHARS}')
    parser = _lark(grammar.text)
    try:
        prog = parser.parse(text)
    except lark.exceptions.UnexpectedCharacters as exc:
        raise UnexpectedCharacterError(
            f'unexpected character {text[exc.pos_in_stream]!r}', line=exc.line,
            column=exc.column, expected=_readable(parser, exc.allowed or ())) from None
    except lark.exceptions.UnexpectedEOF as exc:
        raise UnexpectedEndError('program ended early', **_end_of(text),
                                 expected=_readable(parser, exc.expected)) from None
    except lark.exceptions.UnexpectedToken as exc:
        token: Token = exc.token
        if token.type == '$END':
            raise UnexpectedEndError('program ended early', **_end_of(text),
                                     expected=_readable(parser, exc.expected)) from None
        raise UnexpectedTokenError(
            f'unexpected {str(token)!r}', line=exc.line, column=exc.column,
            expected=_readable(parser, exc.expected)) from None
    except RecursionError:
        raise ProgramTooLargeError('program nests too deeply') from None
    depth = nesting_depth(prog)
    if depth > MAX_NESTING:
        raise ProgramTooLargeError(f'program nests {depth} levels deep; the limit is '
                                   f'{MAX_NESTING}')
    return prog


def nesting_depth(prog: p.Program) -> int:
    """Return the deepest nesting of blocks and conditions (computed without recursion)."""
    deepest, stack = 0, [(stmt, 1) for stmt in prog.body]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, p.If):
            stack += [(c, depth + 1) for c in (node.cond, *node.then, *node.orelse)]
        elif isinstance(node, (p.Parallel, p.Repeat)):
            stack += [(c, depth + 1) for c in node.body]
        elif isinstance(node, p.Not):
            stack.append((node.cond, depth + 1))
        elif isinstance(node, (p.All, p.Any)):
            stack += [(c, depth + 1) for c in node.conds]
    return deepest

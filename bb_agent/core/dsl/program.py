"""Typed AST of a robot DSL program (grammars/robot_dsl.lark).

The parser builds these frozen dataclasses; the printer turns them back into canonical
text; :mod:`bb_agent.core.check.plan_graph` flattens them into plan nodes with edges and guards.
Source positions (``line``, ``column``) never take part in equality, so a program and its
reprinted, reparsed self compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Quantity:
    """A number with an optional unit as written, e.g. ``0.2 m/s`` or ``3``."""

    value: float
    unit: str | None = None


@dataclass(frozen=True)
class Symbol:
    """A bare name: an enum member, an object, bin or location id."""

    name: str


@dataclass(frozen=True)
class Ref:
    """A reference to an earlier step's result, ``$s1`` or ``$s1.pose``."""

    step: str
    field: str | None = None


@dataclass(frozen=True)
class Pose:
    """A literal pose ``{x=.., y=.., z=.., yaw=..}``; coordinates in written order."""

    coords: tuple[tuple[str, Quantity], ...]

    def get(self, axis: str) -> Quantity | None:
        """Return the coordinate for ``axis`` (``x`` … ``yaw``), or None when absent."""
        return next((q for a, q in self.coords if a == axis), None)


Value = Quantity | str | bool | Symbol | Ref | Pose


@dataclass(frozen=True)
class Call:
    """One skill call with keyword arguments in written order."""

    skill: str
    args: tuple[tuple[str, Value], ...] = ()

    def arg(self, name: str) -> Value | None:
        """Return the value of argument ``name``, or None when absent."""
        return next((v for n, v in self.args if n == name), None)


@dataclass(frozen=True)
class Step:
    """``id = skill(args) @timeout(..) @retries(..) @optional after a, b;``."""

    id: str
    call: Call
    timeout: Quantity | None = None
    retries: int | None = None
    optional: bool = False
    after: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Predicate:
    """A state predicate, e.g. ``gripper_empty`` or ``holding(red_cup)``."""

    name: str
    args: tuple[Symbol | Ref | str, ...] = ()


@dataclass(frozen=True)
class Not:
    """Negation ``!c``."""

    cond: Cond


@dataclass(frozen=True)
class All:
    """Conjunction ``a && b && ...``."""

    conds: tuple[Cond, ...]


@dataclass(frozen=True)
class Any:
    """Disjunction ``a || b || ...``."""

    conds: tuple[Cond, ...]


Cond = Predicate | Not | All | Any


@dataclass(frozen=True)
class Parallel:
    """``parallel { ... }``: the statements run concurrently."""

    body: tuple[Statement, ...]


@dataclass(frozen=True)
class If:
    """``if cond { ... } else { ... }``; ``orelse`` is empty without an else block."""

    cond: Cond
    then: tuple[Statement, ...]
    orelse: tuple[Statement, ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Repeat:
    """``repeat N { ... }``: the body runs N times in sequence."""

    count: int
    body: tuple[Statement, ...]
    line: int = field(default=0, compare=False)


Statement = Step | Parallel | If | Repeat


@dataclass(frozen=True)
class Program:
    """A whole program: statements in sequence."""

    body: tuple[Statement, ...]


def iter_steps(body: tuple[Statement, ...]):
    """Yield every :class:`Step` in ``body``, depth first in written order."""
    for stmt in body:
        if isinstance(stmt, Step):
            yield stmt
        elif isinstance(stmt, If):
            yield from iter_steps(stmt.then)
            yield from iter_steps(stmt.orelse)
        else:
            yield from iter_steps(stmt.body)

"""Declare a node's parameters once, from a table: name, default, description, range.

Every parameter gets a ``ParameterDescriptor`` with its description and, for numbers, a
validated range (ROS rejects out-of-range values on set; the declaration rejects them at
start-up with a clear message).
"""

from __future__ import annotations

from dataclasses import dataclass

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor


@dataclass(frozen=True)
class Param:
    """One parameter: default value (its type is the parameter's type), text, range."""

    name: str
    default: object
    description: str
    low: float | None = None
    high: float | None = None
    read_only: bool = False  # a set at run time is refused (the value is used at start)


def declare(node, table: tuple[Param, ...]) -> dict:
    """Declare every parameter of ``table`` on ``node``; return their values by name."""
    values = {}
    for p in table:
        desc = ParameterDescriptor(description=p.description, read_only=p.read_only)
        if p.low is not None and isinstance(p.default, float):
            desc.floating_point_range = [FloatingPointRange(from_value=float(p.low),
                                                            to_value=float(p.high), step=0.0)]
        elif p.low is not None and isinstance(p.default, int) and \
                not isinstance(p.default, bool):
            desc.integer_range = [IntegerRange(from_value=int(p.low), to_value=int(p.high),
                                               step=1)]
        value = node.declare_parameter(p.name, p.default, desc).value
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if p.low is not None and not all(p.low <= v <= p.high for v in items):
            raise ValueError(f'parameter {p.name}={value} outside [{p.low}, {p.high}]')
        values[p.name] = value
    return values

"""Declare a node's parameters once, from a table: name, default, description, range.

Every parameter gets a ``ParameterDescriptor`` with its description and, for numbers, a
validated range. A parameter is either **live** (a set is validated and handed to the node,
which applies it atomically) or **read-only** (ROS refuses a set, with the reason, and the
value given at start-up stands): a set that succeeds always takes effect. Ranges apply to
every element of an array, and ``choices`` make an enum; bad values are refused at start-up
(ValueError) and at set time (a failed SetParametersResult naming the value and the rule).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)


@dataclass(frozen=True)
class Param:
    """One parameter: default value (its type is the parameter's type), text, range."""

    name: str
    default: object
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()  # allowed values of a string parameter (an enum)
    live: bool = False  # applied when set (the node's on_change); otherwise read-only

    def problem(self, value) -> str:
        """Return why ``value`` is not allowed ('' when it is)."""
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if self.low is not None and not all(
                isinstance(v, (int, float)) and self.low <= v <= self.high for v in items):
            return f'{self.name}={value!r} is outside [{self.low:g}, {self.high:g}]'
        if self.choices and value not in self.choices:
            return f'{self.name}={value!r} is not one of {", ".join(self.choices)}'
        return ''


def declare(node, table: tuple[Param, ...],
            on_change: Callable[[dict], str] | None = None) -> dict:
    """Declare every parameter of ``table`` on ``node``; return their values by name.

    Args:
        node: the rclpy node.
        table: the parameter table.
        on_change: applies a validated set of live parameters ({name: value}) and returns
            '' or why it cannot (then nothing changes). Required when a parameter is live.

    Raises:
        ValueError: a start-up value breaks its range or choices.
    """
    values = {}
    by_name = {p.name: p for p in table}
    for p in table:
        desc = ParameterDescriptor(description=p.description, read_only=not p.live)
        if p.choices:
            desc.additional_constraints = f'one of: {", ".join(p.choices)}'
        if p.low is not None and isinstance(p.default, float):
            desc.floating_point_range = [FloatingPointRange(from_value=float(p.low),
                                                            to_value=float(p.high), step=0.0)]
        elif p.low is not None and isinstance(p.default, int) and \
                not isinstance(p.default, bool):
            desc.integer_range = [IntegerRange(from_value=int(p.low), to_value=int(p.high),
                                               step=1)]
        value = node.declare_parameter(p.name, p.default, desc).value
        why = p.problem(value)
        if why:
            raise ValueError(f'parameter {why}')
        values[p.name] = value

    def on_set(params) -> SetParametersResult:
        changes = {}
        for param in params:
            spec = by_name.get(param.name)
            if spec is None:
                continue  # not ours (e.g. use_sim_time)
            if not spec.live:
                return SetParametersResult(successful=False, reason=f'{param.name} is '
                                           'read-only: it is used at start-up; restart to '
                                           'change it')
            why = spec.problem(param.value)
            if why:
                return SetParametersResult(successful=False, reason=why)
            changes[param.name] = param.value
        if changes and on_change is not None:
            why = on_change(changes)
            if why:
                return SetParametersResult(successful=False, reason=why)
            values.update(changes)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
    return values

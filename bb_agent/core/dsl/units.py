"""Units the DSL accepts, their dimension, and the factor to the dimension's base unit.

Schemas declare each numeric argument in a base unit (m, m/s, rad, rad/s, s, N, kg, %);
a value written in another unit of the same dimension is converted, a value of another
dimension is an error.
"""

from __future__ import annotations

import math

# unit -> (dimension, factor to the base unit of that dimension)
UNITS: dict[str, tuple[str, float]] = {
    'm': ('length', 1.0), 'cm': ('length', 0.01), 'mm': ('length', 0.001),
    'm/s': ('speed', 1.0),
    'rad': ('angle', 1.0), 'deg': ('angle', math.pi / 180.0),
    'rad/s': ('angular_speed', 1.0),
    's': ('time', 1.0), 'ms': ('time', 0.001),
    'N': ('force', 1.0),
    'kg': ('mass', 1.0),
    '%': ('ratio', 0.01),
}
BASE_UNITS = {dim: unit for unit, (dim, factor) in UNITS.items() if factor == 1.0}


class UnitError(ValueError):
    """A value's unit does not fit the expected unit's dimension."""


def to_unit(value: float, written: str | None, expected: str | None) -> float:
    """Convert ``value`` written in ``written`` to ``expected``.

    A bare number (``written`` None) is taken to be in ``expected``. ``expected`` None means
    a dimensionless argument, which accepts only bare numbers.

    Raises:
        UnitError: when the dimensions differ or a unit is unknown.
    """
    if written is None:
        return value
    if expected is None:
        raise UnitError(f'{written!r} given for a dimensionless value')
    if written not in UNITS or expected not in UNITS:
        raise UnitError(f'unknown unit {written if written not in UNITS else expected!r}')
    (dim_w, f_w), (dim_e, f_e) = UNITS[written], UNITS[expected]
    if dim_w != dim_e:
        raise UnitError(f'{written!r} is a {dim_w}, expected a {dim_e} in {expected!r}')
    return value * f_w / f_e

"""Where argument values are in space, and the computed predicates over that geometry.

Computed predicates (``exists``, ``reachable``, ``in_workspace``, ``human_near``) are
evaluated from the world state and the schema's safety section, not from symbolic facts.
A value whose position is unknown before execution (a ``$ref``) makes them false: the
checker fails closed on what it cannot verify.
"""

from __future__ import annotations

from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.units import to_unit
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import Vec3, World, distance


def position_of(value: object, world: World) -> Vec3 | None:
    """Return the position (metres) of an object/bin id or a literal pose; None if unknown."""
    if isinstance(value, p.Symbol):
        obj = world.object(value.name)
        return obj.position if obj else None
    if isinstance(value, p.Pose):
        coords = {a: to_unit(q.value, q.unit, 'm') for a, q in value.coords
                  if a in ('x', 'y', 'z')}
        if len(coords) == 3:
            return (coords['x'], coords['y'], coords['z'])
    return None


def in_box(pos: Vec3, schema: DomainSchema) -> bool:
    """Return True when ``pos`` lies inside the schema's workspace box (boundary included)."""
    box = schema.safety.workspace
    return all(lo <= c <= hi for c, (lo, hi) in zip(pos, (box.x, box.y, box.z), strict=True))


def humans_present(world: World) -> bool:
    """Return True when the world state has a person anywhere (``human_near``)."""
    return bool(world.humans())


def computed_predicate(name: str, args: tuple, world: World, schema: DomainSchema) -> bool:
    """Evaluate a computed predicate; unknown positions make it false (fail closed)."""
    if name == 'human_near':
        return humans_present(world)
    if name == 'exists':
        return bool(args) and isinstance(args[0], p.Symbol) and \
            world.object(args[0].name) is not None
    pos = position_of(args[0], world) if args else None
    if pos is None or schema.safety is None:
        return False
    if name == 'in_workspace':
        return in_box(pos, schema)
    if name == 'reachable':
        return distance(pos, schema.safety.base) <= schema.safety.reach_m
    raise ValueError(f'not a computed predicate: {name}')

"""The world state a plan is checked against: objects with positions, robot summary, facts.

Loaded from JSON (``bb-agent check --world``) or converted from ``bb_msgs/WorldState`` by the
nodes. Symbolic facts use DSL predicate syntax (``gripper_empty``, ``holding(red_cup)``) and
are closed-world: a fact not listed is false. Positions are metres in the world frame.
"""

from __future__ import annotations

from collections import Counter
import functools
import hashlib
import json
import math
from pathlib import Path
import re
from typing import Any

from pydantic import Field, ValidationError, field_serializer, field_validator

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.strict_model import StrictModel, validation_message

Vec3 = tuple[float, float, float]
MAX_OBJECTS = 2000  # a world state larger than this is refused (validation is linear anyway)
MAX_FACTS = 2000
_FACT = re.compile(r'^[a-z_][a-z0-9_]*(\([^()\s]*\))?$')


class WorldObject(StrictModel):
    """An object, bin, obstacle or human."""

    id: str = Field(pattern=r'^[a-zA-Z_][a-zA-Z0-9_]*$')
    kind: str
    position: Vec3  # metres, world frame
    size: Vec3 = (0.05, 0.05, 0.05)  # bounding-box extents, metres
    attributes: dict[str, Any] = {}

    @field_validator('position', 'size')
    @classmethod
    def _finite(cls, v: Vec3) -> Vec3:
        if not all(math.isfinite(c) for c in v):
            raise ValueError('must be finite')
        return v


class RobotSummary(StrictModel):
    """What the checker needs of the robot: where the end effector is and what it holds."""

    ee_position: Vec3 = (0.3, 0.0, 0.4)  # metres
    ee_speed: float = 0.0  # m/s
    ee_force: float = 0.0  # N
    held_object: str | None = None
    mode: str = 'idle'


class World(StrictModel):
    """A world-state snapshot."""

    frame: str = 'world'
    objects: tuple[WorldObject, ...] = Field((), max_length=MAX_OBJECTS)
    robot: RobotSummary = RobotSummary()
    facts: frozenset[str] = Field(frozenset(), max_length=MAX_FACTS)

    @field_validator('facts')
    @classmethod
    def _facts_well_formed(cls, v: frozenset[str]) -> frozenset[str]:
        bad = sorted(f for f in v if not _FACT.fullmatch(f))
        if bad:
            raise ValueError(f'malformed facts {bad}; use predicate syntax like holding(cup)')
        return v

    @field_serializer('facts')
    def _facts_sorted(self, v: frozenset[str]) -> list[str]:
        # Sorted, so equal worlds serialise identically in every process (set order
        # follows the per-process string hash seed).
        return sorted(v)

    @field_validator('objects')
    @classmethod
    def _unique_ids(cls, v: tuple[WorldObject, ...]) -> tuple[WorldObject, ...]:
        counts = Counter(o.id for o in v)  # linear: any client can send a world to check
        dup = sorted(i for i, n in counts.items() if n > 1)
        if dup:
            raise ValueError(f'duplicate object ids {dup}')
        return v

    def object(self, obj_id: str) -> WorldObject | None:
        """Return the object with ``obj_id``, or None."""
        return self.object_index.get(obj_id)

    @functools.cached_property
    def object_index(self) -> dict[str, WorldObject]:
        """Return the objects by id."""
        return {o.id: o for o in self.objects}

    def humans(self) -> tuple[WorldObject, ...]:
        """Return the objects of kind ``human``."""
        return tuple(o for o in self.objects if o.kind == 'human')

    @functools.cached_property
    def sha256(self) -> str:
        """Hex digest of the canonical JSON of this snapshot (order-independent)."""
        data = self.model_dump(mode='json')
        data['objects'] = sorted(data['objects'], key=lambda o: o['id'])
        data['facts'] = sorted(data['facts'])
        text = json.dumps(data, sort_keys=True, separators=(',', ':'))
        return hashlib.sha256(text.encode()).hexdigest()


def world_from_dict(data: Any, *, source: str = 'world') -> World:
    """Validate a JSON-like dict into a :class:`World`.

    Raises:
        BBError: INVALID_REQUEST naming the source and the offending key.
    """
    try:
        return World.model_validate(data)
    except ValidationError as exc:
        where = validation_message(exc)
        raise BBError(ErrorCode.INVALID_REQUEST, f'{source}: {where}') from exc


def load_world(path: Path) -> World:
    """Load a world-state JSON file.

    Raises:
        BBError: INVALID_JSON when the file is not JSON; INVALID_REQUEST when it is invalid.
    """
    try:
        data = json.loads(Path(path).read_text(encoding='utf-8'))
    except OSError as exc:
        raise BBError(ErrorCode.INVALID_REQUEST, f'{path}: cannot read: {exc}') from exc
    except json.JSONDecodeError as exc:
        raise BBError(ErrorCode.INVALID_JSON, f'{path}: not JSON: {exc}') from exc
    return world_from_dict(data, source=str(path))


def distance(a: Vec3, b: Vec3) -> float:
    """Euclidean distance in metres."""
    return math.dist(a, b)

"""Deterministic, non-default values for any ROS 2 message, driven by rosidl introspection.

Both sides of a round trip call :func:`fill` with the same seed, so the receiver can build
the exact message it expects. Every field gets a value that differs from its default, so a
field that does not cross the wire shows up as a mismatch.
"""

import importlib
import random
import zlib

from rosidl_parser.definition import (
    AbstractGenericString,
    AbstractNestedType,
    AbstractSequence,
    Array,
    BasicType,
    BoundedSequence,
    NamespacedType,
)

# Integer ranges kept small so every integer type (uint8 included) can hold them.
_INT_TYPES = {'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64',
              'char', 'byte', 'octet'}


def seed_of(msg) -> int:
    """Return a seed derived from a message's content (CRC-32 of its repr).

    The repr lists every field with exact values; serialized bytes would not do, because
    CDR alignment padding is not guaranteed to be the same in two processes.
    """
    return zlib.crc32(repr(msg).encode())


def fill(msg_cls, seed: int):
    """Return an instance of ``msg_cls`` with every field set from ``random.Random(seed)``."""
    return _fill(msg_cls, random.Random(seed))


def _fill(msg_cls, rng: random.Random):
    msg = msg_cls()
    for name, slot in zip(msg_cls.get_fields_and_field_types(), msg_cls.SLOT_TYPES, strict=True):
        setattr(msg, name, _value(slot, rng))
    return msg


def _value(slot, rng: random.Random):
    if isinstance(slot, AbstractNestedType):
        if isinstance(slot, Array):
            size = slot.size
        elif isinstance(slot, BoundedSequence):
            size = slot.maximum_size
        else:
            assert isinstance(slot, AbstractSequence)
            size = rng.randint(2, 3)
        return [_value(slot.value_type, rng) for _ in range(size)]
    if isinstance(slot, AbstractGenericString):
        # Non-ASCII text checks that UTF-8 survives the wire.
        return f'v{rng.randint(1, 10**6)}-\u00e9\u4e2d'
    if isinstance(slot, NamespacedType):
        module = importlib.import_module('.'.join(slot.namespaces))
        return _fill(getattr(module, slot.name), rng)
    assert isinstance(slot, BasicType), slot
    if slot.typename == 'boolean':
        return True
    if slot.typename in ('octet', 'byte'):
        return bytes([rng.randint(1, 100)])
    if slot.typename in _INT_TYPES:
        return rng.randint(1, 100)
    # float/double: multiples of 1/8 are exact in float32, so equality holds after the trip.
    return rng.randint(1, 800) / 8.0

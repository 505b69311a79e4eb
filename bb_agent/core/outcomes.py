"""Typed outcomes and the error-code registry, mirrored from bb_msgs.

Every service response and action result in bb_msgs carries ``outcome``, ``error_code``
and ``error_msg``. The numeric values are defined once in the ``.msg``/``.srv``/``.action``
files (``ErrorCodes.msg`` and the ``OUTCOME_*`` constants); these enums mirror them for
the ROS-free layers, and a test keeps both sides equal.
"""

from __future__ import annotations

import enum


class Outcome(enum.IntEnum):
    """Outcome of a request (values equal the ``OUTCOME_*`` constants in bb_msgs)."""

    SUCCEEDED = 0
    REJECTED = 1
    DEFERRED = 2
    FAILED = 3
    CANCELED = 4
    TIMEOUT = 5
    INVALID_INPUT = 6
    UNAVAILABLE = 7
    STOPPED = 8


class ErrorCode(enum.IntEnum):
    """Error codes (values equal the constants of ``bb_msgs/msg/ErrorCodes``).

    The hundreds digit names the class: 1 input, 2 grammar/plan, 3 execution, 4 safety,
    5 builder model, 6 integration, 7 checkpoints/promotion, 9 internal.
    """

    NONE = 0
    INVALID_REQUEST = 100
    UNKNOWN_DOMAIN = 101
    EMPTY_INPUT = 102
    INVALID_JSON = 103
    INVALID_ARGUMENT = 104
    DUPLICATE_REQUEST = 105
    OVER_LIMIT = 106
    AUTHORITY_CLAIM = 107
    PARSE_ERROR = 200
    PLAN_REJECTED = 201
    TOKEN_INVALID = 202
    REPAIR_FAILED = 203
    SCHEMA_MISMATCH = 204
    INTENT_MISMATCH = 205
    SKILL_FAILED = 300
    SKILL_TIMEOUT = 301
    UNKNOWN_SKILL = 302
    ADAPTER_UNAVAILABLE = 303
    RESOURCE_BUSY = 304
    CIRCUIT_OPEN = 305
    PRECONDITION_FAILED = 306
    SAFETY_STOP = 400
    STATE_STALE = 401
    OPERATOR_REJECTED = 402
    APPROVAL_TIMEOUT = 403
    STOP_REQUESTED = 404
    MODEL_UNAVAILABLE = 500
    MODEL_TIMEOUT = 501
    NO_VALID_CONTINUATION = 502
    LOW_CONFIDENCE = 503
    DEPENDENCY_UNAVAILABLE = 600
    DEPENDENCY_TIMEOUT = 601
    CHECKPOINT_NOT_FOUND = 700
    CHECKPOINT_INVALID = 701
    GATE_FAILED = 702
    INTERNAL = 900


class Severity(enum.IntEnum):
    """Violation severity (values equal ``bb_msgs/msg/Violation`` ``SEVERITY_*``)."""

    LOW = 0
    MEDIUM = 1
    HIGH = 2
    CRITICAL = 3


class BBError(Exception):
    """An error with a registry code and a readable message, for typed failure paths.

    Args:
        code: the :class:`ErrorCode` that classifies the failure.
        message: what went wrong and, where it helps, what to do about it.
    """

    def __init__(self, code: ErrorCode, message: str) -> None:
        if not message:
            raise ValueError('BBError needs a non-empty message')
        super().__init__(f'[{code.name}] {message}')
        self.code = ErrorCode(code)
        self.message = message

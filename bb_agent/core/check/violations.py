"""Violation codes of the plan checker, each with its default severity.

Severity follows the runtime playbook (section 6.1) and ``bb_msgs/msg/Violation``: LOW never
blocks approval; MEDIUM and HIGH block unless repaired; CRITICAL (safety) blocks and is never
repaired away.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum

from bb_agent.core.outcomes import Severity


class Code(enum.Enum):
    """Violation codes; ``severity`` is each code's default severity."""

    E_PARSE = 'E_PARSE'  # the program does not parse (label in the message)
    E_PLAN_TOO_LARGE = 'E_PLAN_TOO_LARGE'  # more nodes than the schema's max_nodes
    E_DUPLICATE_ID = 'E_DUPLICATE_ID'  # two steps share an id
    E_UNKNOWN_SKILL = 'E_UNKNOWN_SKILL'  # skill not in the schema's allowlist
    E_UNKNOWN_ARG = 'E_UNKNOWN_ARG'  # argument not declared for the skill
    E_MISSING_ARG = 'E_MISSING_ARG'  # required argument absent (repairable if defaulted)
    E_ARG_TYPE = 'E_ARG_TYPE'  # value of the wrong type
    E_ARG_UNIT = 'E_ARG_UNIT'  # unit of the wrong dimension
    E_ARG_RANGE = 'E_ARG_RANGE'  # value outside the schema range
    E_UNKNOWN_OBJECT = 'E_UNKNOWN_OBJECT'  # object/location id not in the world state
    E_BAD_REF = 'E_BAD_REF'  # $ref to a missing step/field or to a later step
    E_UNKNOWN_REF = 'E_UNKNOWN_REF'  # `after` names a step that does not exist
    E_CYCLE = 'E_CYCLE'  # dependency cycle
    E_REPEAT_BOUND = 'E_REPEAT_BOUND'  # repeat count over the schema's max_repeat
    E_TIMEOUT_RANGE = 'E_TIMEOUT_RANGE'  # @timeout over the skill's max_timeout_s
    E_RETRIES_RANGE = 'E_RETRIES_RANGE'  # @retries over the skill's max_retries
    E_UNKNOWN_PREDICATE = 'E_UNKNOWN_PREDICATE'  # condition uses an undeclared predicate
    E_PRECONDITION = 'E_PRECONDITION'  # a precondition fails on some branch
    E_RESOURCE_CONFLICT = 'E_RESOURCE_CONFLICT'  # concurrent nodes lock the same resource
    E_BUDGET = 'E_BUDGET'  # estimated duration over the budget
    E_WORKSPACE = 'E_WORKSPACE'  # a target outside the workspace box
    E_SPEED_LIMIT = 'E_SPEED_LIMIT'  # speed over the (human-aware) limit
    E_FORCE_LIMIT = 'E_FORCE_LIMIT'  # force over the limit
    E_FORBIDDEN_SEQUENCE = 'E_FORBIDDEN_SEQUENCE'  # a forbidden skill directly follows another
    E_VS_PREDICTED = 'E_VS_PREDICTED'  # predicted V_s over the threshold
    E_VS_RISE = 'E_VS_RISE'  # predicted rise of V_s's hazard part within a step over tolerance
    E_UNCHECKABLE = 'E_UNCHECKABLE'  # a value the safety checks need is unknown before execution

    @property
    def severity(self) -> Severity:
        """Return the default severity of this code."""
        return _SEVERITY[self.name]

# Rejections that say a well-formed plan would be unsafe in its world (the request's risk,
# reported to the requester with reasons), as opposed to a malformed plan (the writer's
# mistake, which the builder's fallback chain handles).
SAFETY_CODES = frozenset({Code.E_WORKSPACE, Code.E_SPEED_LIMIT, Code.E_FORCE_LIMIT,
                          Code.E_FORBIDDEN_SEQUENCE, Code.E_VS_PREDICTED,
                          Code.E_VS_RISE, Code.E_RESOURCE_CONFLICT})

def well_formed(approved: bool, violations) -> bool:
    """Return whether a plan is approved or blocked only by safety codes.

    The builder passes such a plan on: the plan checker then rejects it with its reasons,
    rather than the fallback chain replacing a faithful plan of an unsafe request.
    """
    blocking = [v for v in violations if v.blocking]
    return approved or (bool(blocking) and all(v.code in SAFETY_CODES for v in blocking))


_SEVERITY = {
    'E_PARSE': Severity.HIGH,
    'E_PLAN_TOO_LARGE': Severity.HIGH,
    'E_DUPLICATE_ID': Severity.HIGH,
    'E_UNKNOWN_SKILL': Severity.HIGH,
    'E_UNKNOWN_ARG': Severity.HIGH,
    'E_MISSING_ARG': Severity.HIGH,
    'E_ARG_TYPE': Severity.HIGH,
    'E_ARG_UNIT': Severity.HIGH,
    'E_ARG_RANGE': Severity.HIGH,
    'E_UNKNOWN_OBJECT': Severity.HIGH,
    'E_BAD_REF': Severity.HIGH,
    'E_UNKNOWN_REF': Severity.HIGH,
    'E_CYCLE': Severity.HIGH,
    'E_REPEAT_BOUND': Severity.HIGH,
    'E_TIMEOUT_RANGE': Severity.MEDIUM,
    'E_RETRIES_RANGE': Severity.MEDIUM,
    'E_UNKNOWN_PREDICATE': Severity.HIGH,
    'E_PRECONDITION': Severity.HIGH,
    'E_RESOURCE_CONFLICT': Severity.HIGH,
    'E_BUDGET': Severity.MEDIUM,
    'E_WORKSPACE': Severity.CRITICAL,
    'E_SPEED_LIMIT': Severity.CRITICAL,
    'E_FORCE_LIMIT': Severity.CRITICAL,
    'E_FORBIDDEN_SEQUENCE': Severity.CRITICAL,
    'E_VS_PREDICTED': Severity.CRITICAL,
    'E_VS_RISE': Severity.CRITICAL,
    'E_UNCHECKABLE': Severity.CRITICAL,
}


@dataclass(frozen=True)
class Violation:
    """One finding: code, node id (empty for plan-wide), message and severity."""

    code: Code
    node_id: str
    message: str
    severity: Severity
    related: str = ''  # the other node involved (resource conflicts), for repair

    @classmethod
    def of(cls, code: Code, node_id: str, message: str, *, related: str = '') -> Violation:
        """Return a violation with ``code``'s default severity."""
        return cls(code, node_id, message, code.severity, related)

    @property
    def blocking(self) -> bool:
        """True when this violation prevents approval (severity MEDIUM or above)."""
        return self.severity >= Severity.MEDIUM

    def to_dict(self) -> dict:
        """Return the JSON form used by the CLI and the golden files."""
        return {'code': self.code.name, 'node_id': self.node_id, 'message': self.message,
                'severity': self.severity.name}

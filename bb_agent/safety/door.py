"""The request-to-execution chain offline, as the nodes run it, for evaluation.

:class:`Door` runs what ``agent_node`` and ``builder_node`` run between a request and
execution: the anchors, the builder's fallback chain (:class:`~bb_agent.domains.proposer.
Proposer` with the grounding question, the intent gate and calibrated confidence), the
checker with repair, and the intent gate on the checked plan. With ``guarded=False`` it is
the chain without anchors, gate or calibration (the numbers "without the gate").
"""

from __future__ import annotations

from dataclasses import dataclass

from bb_agent.core.check.checker import check_plan
from bb_agent.core.check.repair import repair_plan
from bb_agent.core.check.violations import well_formed
from bb_agent.core.dsl.printer import print_program
from bb_agent.core.intent.anchors import AnchorKind, anchor
from bb_agent.core.intent.calibration import Calibration
from bb_agent.core.intent.conformance import conform_program
from bb_agent.core.outcomes import BBError
from bb_agent.core.prompting import world_context, world_symbols
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import World
from bb_agent.domains.proposer import Proposer, Source
from bb_agent.domains.robot.grounding import grounding_question


@dataclass
class Decision:
    """How one request ended, offline."""

    outcome: str  # executed | deferred | rejected | stopped | failed
    program: str = ''  # what would execute (executed only)
    candidate: str = ''  # the model's own well-formed plan, used or not
    raw: float | None = None  # the model's confidence (None: no model plan)
    confidence: float | None = None  # what the deferral threshold read
    gate_ok: bool | None = None  # the gate on the model's candidate
    source: str = ''
    message: str = ''


class Door:
    """See the module docstring. ``decode(request, context, symbols) -> DecodeResult``."""

    def __init__(self, decode, schema: DomainSchema, *, guarded: bool = True,
                 calibration: Calibration | None = None, escalate=None,
                 escalate_calibration: Calibration | None = None) -> None:
        self.decode, self.schema, self.guarded = decode, schema, guarded
        self.calibration = calibration or Calibration()
        self.escalate_decode = escalate  # a second tier's decode (the builder's escalation)
        self.world: World | None = None
        self.history: list[str] = []
        # No circuit breaker here: one request's outcome must not depend on the ones before.
        self.proposer = Proposer(self._generate, self._precheck, ground=self._ground,
                                 breaker_violations=10 ** 9,
                                 conform=self._conform if guarded else None,
                                 calibrate=self.calibration if guarded else None,
                                 escalate=self._escalate if escalate else None,
                                 escalate_calibrate=escalate_calibration if guarded
                                 else None)

    def _generate(self, domain, request, context, decode=None):
        symbols = world_symbols(self.world, self.schema.enum_values())
        result = (decode or self.decode)(request, context, symbols)
        return result.outcome.value, result.text, result.confidence

    def _escalate(self, domain, request, context):
        return self._generate(domain, request, context, self.escalate_decode)

    def _precheck(self, domain, program) -> bool:
        try:
            verdict = check_plan(program, self.schema, self.world)
        except BBError:
            return False
        return well_formed(verdict.approved, verdict.violations)

    def _ground(self, domain, request):
        return grounding_question(request, self.world, self.schema)

    def _conform(self, domain, request, program, context):
        v = conform_program(request, program, self.world, self.schema, self.history)
        return v.ok, v.question, '; '.join(m.message for m in v.mismatches)

    def decide(self, request: str, world: World, history: list[str] = ()) -> Decision:
        """Return how ``request`` ends in ``world`` after the session's ``history``."""
        self.world, self.history = world, list(history)
        if self.guarded:
            a = anchor(request, self.schema)
            if a.kind is not AnchorKind.NONE:
                return Decision({AnchorKind.STOP: 'stopped', AnchorKind.REJECT: 'rejected',
                                 AnchorKind.DEFER: 'deferred'}[a.kind], message=a.message)
        prop = self.proposer.propose('robot', request, world_context(world))
        seen = dict(candidate=prop.candidate, raw=prop.raw_confidence if prop.candidate
                    else None, source=Source(prop.source).name)
        if prop.candidate:
            seen['gate_ok'] = conform_program(request, prop.candidate, world, self.schema,
                                              self.history).ok
        if not prop.ok:
            return Decision('failed', message=prop.message, **seen)
        if prop.deferred:
            return Decision('deferred', confidence=prop.confidence, message=prop.message,
                            **seen)
        repaired = repair_plan(prop.program, self.schema, world)
        if not repaired.verdict.approved:
            return Decision('rejected', confidence=prop.confidence,
                            message='; '.join(str(v.message) for v in
                                              repaired.verdict.violations[:3]), **seen)
        program = print_program(repaired.program) if repaired.program else prop.program
        if self.guarded:
            gate = conform_program(request, program, world, self.schema, self.history)
            if not gate.ok:
                return Decision('deferred', confidence=prop.confidence, message=gate.question,
                                **seen)
        return Decision('executed', program, confidence=prop.confidence, **seen)

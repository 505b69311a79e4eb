"""The builder's fallback chain, free of ROS: model -> template -> defer -> typed error.

1. Constrained generation (strict mask) when a model serves the domain and the breaker is
   closed. A proposal whose confidence is under the domain's deferral threshold is not
   used: the builder asks the requester a clarification question instead.
2. The domain's template (:mod:`bb_agent.domains.templates`) when the model is absent, its
   breaker is open, it timed out or it produced nothing usable.
3. Defer with the domain's clarification question.

Before any of these, ``ground`` may defer a request that does not say which objects it
means (robot: :mod:`bb_agent.domains.robot.grounding`).

Every plan, the model's or a template's, then meets ``conform`` (the intent gate,
:mod:`bb_agent.core.intent.conformance`): a plan that does more, less or other than the
request asked is not used; a template that covers the request may answer instead, or the
builder asks the gate's question. ``calibrate`` turns the model's raw confidence and the
gate's verdict into the confidence the deferral threshold reads
(:mod:`bb_agent.core.intent.calibration`).

The pre-check asks whether a plan is well formed: approved, or blocked only by safety
codes (:func:`~bb_agent.core.check.violations.well_formed`). A faithful plan of an unsafe request
goes on to the plan checker, which rejects it with its reasons; only malformed plans fall
back. Circuit breaker: ``breaker_violations`` consecutive proposals that fail the pre-check
switch the domain to template mode for ``breaker_cooldown_s``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
import enum
import logging
import time

from bb_agent.core.outcomes import ErrorCode
from bb_agent.domains.templates import clarification, template_program

LOG = logging.getLogger('bb_agent.builder')
DEFER_THRESHOLDS = {'social': 0.6, 'api_json': 0.8, 'robot': 0.9, 'phone': 0.7}


class Source(enum.IntEnum):
    """Values equal ``bb_msgs/srv/ProposePlan`` ``SOURCE_*``."""

    NONE = 0
    MODEL = 1
    TEMPLATE = 2


@dataclass(frozen=True)
class Proposal:
    """What the builder answers."""

    ok: bool
    program: str = ''
    source: Source = Source.NONE
    confidence: float = 0.0
    deferred: bool = False
    question: str = ''
    error_code: ErrorCode = ErrorCode.NONE
    message: str = ''
    model_outcome: str = ''
    raw_confidence: float = 0.0  # the model's own, before calibration
    candidate: str = ''  # the model's well-formed program, used or not (evaluation)
    tier: str = ''  # 'escalated' when the second (larger) model tier wrote the plan
    # How the first model tier's own plan fared: accepted, deferred (low confidence), gated
    # (the intent gate), unusable (no plan, or it failed the pre-check); '' = no model ran.
    model_kind: str = ''


@dataclass
class Breaker:
    """Consecutive pre-check violations per domain; open means template mode."""

    limit: int = 5
    cooldown_s: float = 60.0
    count: int = 0
    open_until: float = 0.0

    def is_open(self, now: float) -> bool:
        """Return True while in template mode."""
        return now < self.open_until

    def record(self, ok: bool, now: float) -> bool:
        """Record one proposal; return True when this one opened the breaker."""
        self.count = 0 if ok else self.count + 1
        if self.count >= self.limit:
            self.count, self.open_until = 0, now + self.cooldown_s
            return True
        return False


class Proposer:
    """Runs the fallback chain.

    Args:
        generate: ``(domain, request, context) -> (outcome name, program, confidence)`` of
            the model, or None for domains no model serves.
        precheck: ``(domain, program) -> bool``: well formed (grammar, checker against
            live state, safety-only rejections allowed).
        thresholds: deferral thresholds by domain (confidence in [0, 1]).
        escalate: a second model tier (same signature as ``generate``) tried when the
            first tier's plan fails the pre-check or the gate, or is not confident enough;
            its plan meets the same checks. ``escalate_calibrate``: that tier's own
            confidence calibration (default: the first tier's).
    """

    def __init__(self, generate: Callable | None, precheck: Callable[[str, str], bool], *,
                 model_domains: tuple[str, ...] = ('robot',),
                 thresholds: dict[str, float] | None = None, breaker_violations: int = 5,
                 breaker_cooldown_s: float = 60.0, clock=time.monotonic,
                 ground: Callable[[str, str], str | None] | None = None,
                 conform: Callable[[str, str, str, str], tuple[bool, str, str]] | None = None,
                 calibrate: Callable[[float, bool], float] | None = None,
                 escalate: Callable | None = None,
                 escalate_calibrate: Callable[[float, bool], float] | None = None) -> None:
        self.generate, self.precheck, self.clock = generate, precheck, clock
        self.escalate = escalate  # a larger tier's generate, tried when the first falls short
        self.ground = ground  # (domain, request) -> clarification question or None
        # (domain, request, program, context) -> (conforms, question, why)
        self.conform = conform or (lambda domain, request, program, context: (True, '', ''))
        self.calibrate = calibrate or (lambda raw, ok: raw)
        self.escalate_calibrate = escalate_calibrate or self.calibrate  # the tier's own
        self.model_domains = model_domains
        self.thresholds = {**DEFER_THRESHOLDS, **(thresholds or {})}
        self.breakers = {d: Breaker(breaker_violations, breaker_cooldown_s)
                         for d in self.thresholds}

    def propose(self, domain: str, request: str, context: str = '') -> Proposal:
        """Return a plan, a deferral or a typed error for ``request``."""
        if domain not in self.thresholds:
            return Proposal(False, error_code=ErrorCode.UNKNOWN_DOMAIN,
                            message=f'unknown domain {domain!r} (known: '
                                    f'{", ".join(sorted(self.thresholds))})')
        if not request.strip():
            return Proposal(False, error_code=ErrorCode.EMPTY_INPUT, message='empty request')
        question = self.ground(domain, request) if self.ground else None
        if question:
            return Proposal(True, deferred=True, question=question,
                            error_code=ErrorCode.LOW_CONFIDENCE,
                            message='the request does not say which objects it means')
        now, breaker = self.clock(), self.breakers[domain]
        model_note, kind = 'no model serves this domain', ''
        if self.generate is not None and domain in self.model_domains:
            if breaker.is_open(now):
                model_note = 'model breaker open: template mode'
            else:
                kind, value = self._attempt(self.generate, self.calibrate, domain, request,
                                            context)
                if breaker.record(kind != 'unusable', now):
                    LOG.warning('builder: %d consecutive violations in %s; template mode for '
                                '%.0f s', breaker.limit, domain, breaker.cooldown_s)
                if kind != 'accepted' and self.escalate is not None:
                    # 002 §9: the small tier serves routine requests; a plan it could not
                    # stand behind goes to the larger tier, under the same checks.
                    kind2, value2 = self._attempt(self.escalate, self.escalate_calibrate,
                                                  domain, request, context)
                    if kind2 == 'accepted':
                        why = value if isinstance(value, str) else value.message
                        return replace(value2, message=f'escalated ({why})', tier='escalated',
                                       model_kind=kind)
                if kind in ('accepted', 'deferred'):
                    return replace(value, model_kind=kind)
                if kind == 'gated':
                    template = self._template(domain, request, context, value.message)
                    return replace(template or value, raw_confidence=value.raw_confidence,
                                   candidate=value.candidate, model_kind=kind)
                model_note = value
        fallback = self._template(domain, request, context, model_note) or Proposal(
            True, deferred=True, question=clarification(domain, request),
            error_code=ErrorCode.LOW_CONFIDENCE, message=f'{model_note}; no template matches')
        return replace(fallback, model_kind=kind)

    def _attempt(self, generate: Callable, calibrate: Callable, domain: str, request: str,
                 context: str) -> tuple[str, Proposal | str]:
        """Run one model tier; return (kind, proposal or note).

        Kinds: ``accepted`` (a well-formed, conforming, confident plan), ``deferred`` (it
        conforms but confidence is below the domain's threshold), ``gated`` (the intent
        gate's mismatch deferral), ``unusable`` (no program, or it failed the pre-check;
        the value is a note saying which).
        """
        outcome, program, raw = generate(domain, request, context)
        if not (outcome == 'ok' and self.precheck(domain, program)):
            return 'unusable', f'model: {outcome}' + ('' if outcome != 'ok' else
                                                      ', failed the pre-check')
        fits, question, why = self.conform(domain, request, program, context)
        confidence = calibrate(raw, fits)
        if fits and confidence >= self.thresholds[domain]:
            return 'accepted', Proposal(True, program, Source.MODEL, confidence,
                                        model_outcome=outcome, raw_confidence=raw,
                                        candidate=program)
        if fits:
            return 'deferred', Proposal(True, deferred=True, confidence=confidence,
                                        question=clarification(domain, request),
                                        error_code=ErrorCode.LOW_CONFIDENCE,
                                        message=f'confidence {confidence:.2f} below '
                                                f'{self.thresholds[domain]:.2f}',
                                        model_outcome=outcome, raw_confidence=raw,
                                        candidate=program)
        return 'gated', Proposal(True, deferred=True, confidence=confidence, question=question,
                                 error_code=ErrorCode.INTENT_MISMATCH,
                                 message=f'the plan does not match the request: {why}',
                                 model_outcome=outcome, raw_confidence=raw, candidate=program)

    def _template(self, domain: str, request: str, context: str, note: str) -> Proposal | None:
        """Return the covering template's plan when it is well formed and conforms."""
        program = template_program(domain, request)
        if program is None or not self.precheck(domain, program):
            return None
        if not self.conform(domain, request, program, context)[0]:
            return None
        return Proposal(True, program, Source.TEMPLATE, 1.0, message=note)

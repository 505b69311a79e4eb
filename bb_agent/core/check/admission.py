"""What the executor demands before a plan moves anything, and before each motion step.

An approval is only as good as the world it was checked in. The executor therefore:

1. verifies the checker's *stamped* approval token (HMAC over the canonical plan, the
   schema hash, the world hash and the minute it was minted: ``<ms>.<hex>``), refuses it
   once it is older than ``token_ttl_s`` and refuses every second use of it;
2. re-checks the whole plan against its **own** live world (a forged or replayed world
   hash approves nothing);
3. demands an operator's approval bound to the plan (``<operator>.<hex>`` over the
   canonical plan) when the plan uses a skill whose schema entry says ``operator: true``;
4. before every motion step, judges that step from the live state with the same safety
   model the checker used (:func:`~bb_agent.core.check.check_paths.judge_step`), and needs a
   fresh heartbeat from the safety monitor.

Pure Python; the executor node feeds it the live world, the clock and the heartbeat age.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
import hashlib
import hmac
import json
import re
import threading

from bb_agent.core.check.check_paths import judge_step
from bb_agent.core.check.checker import Verdict, approval_token, check_plan
from bb_agent.core.check.plan_graph import PlanGraph
from bb_agent.core.dsl.parser import DslSyntaxError, parse_program
from bb_agent.core.dsl.printer import print_program
from bb_agent.core.outcomes import ErrorCode
from bb_agent.core.safety_model import vs
from bb_agent.core.safety_model.paths import ArmState
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import World


def stamped_token(canonical: str, schema_hash: str, world_hash: str, key: bytes,
                  now_s: float) -> str:
    """Return ``<issued ms>.<HMAC>``: an approval token that says when it was minted."""
    issued = int(now_s * 1000)
    return f'{issued}.{approval_token(canonical, schema_hash, f"{world_hash}@{issued}", key)}'


def operator_token(canonical: str, operator_id: str, key: bytes) -> str:
    """Return the token binding an operator's approval to one canonical plan."""
    message = '\n'.join(('operator', operator_id, canonical)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def operator_skills(schema: DomainSchema) -> frozenset[str]:
    """Return the skills that need an operator's approval (schema ``operator: true``)."""
    return frozenset(name for name, spec in schema.skills.items() if spec.operator)


@dataclass(frozen=True)
class Refusal:
    """Why a plan or a step may not run (typed: an error code and a message)."""

    code: ErrorCode
    message: str


@dataclass(frozen=True)
class Admitted:
    """A plan the executor may run: re-checked on its live world."""

    verdict: Verdict
    graph: PlanGraph
    effective: dict


class Admission:
    """The executor's gate; thread-safe.

    Args:
        key: the approval key shared with the plan checker (and the agent, for operators).
        token_ttl_s: an approval older than this is refused (seconds).
        remember: how many used tokens are remembered (single use).
        extra_operator: skills that need an operator besides the schema's operator skills.
    """

    def __init__(self, key: bytes, *, token_ttl_s: float = 30.0, remember: int = 4096,
                 extra_operator=()) -> None:
        self.key, self.token_ttl_s, self.remember = key, token_ttl_s, remember
        self.extra_operator = frozenset(extra_operator)  # operator skills beyond the schema's
        self._used: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, *, program: str, schema: DomainSchema, token: str, world_hash: str,
              operator_id: str, operator_tok: str, live: World, now_s: float
              ) -> Admitted | Refusal:
        """Return the admitted plan, or the typed reason it may not run."""
        try:
            canonical = print_program(parse_program(program))
        except DslSyntaxError as exc:
            return Refusal(ErrorCode.PARSE_ERROR, f'plan unreadable: {exc}')
        needed = sorted(n for n in operator_skills(schema) | self.extra_operator
                        if re.search(rf'=\s*{re.escape(n)}\s*\(', canonical))
        refusal = self._verify(canonical, schema, token, world_hash, now_s, needed,
                               operator_id, operator_tok)
        if refusal is not None:
            return refusal
        verdict = check_plan(canonical, schema, live)
        if not verdict.approved:
            why = '; '.join(f'{v.node_id or "plan"}: {v.message}' for v in verdict.violations
                            if v.blocking)
            return Refusal(ErrorCode.PLAN_REJECTED, "rejected on the executor's live world: "
                           + why)
        refusal = self._consume(token)
        if refusal is not None:
            return refusal
        from bb_agent.core.check.check_args import check_arguments
        return Admitted(verdict, verdict.graph, check_arguments(verdict.graph, schema, live)[1])

    def admit_call(self, *, program: str, schema: DomainSchema, token: str, world_hash: str,
                   operator_id: str, operator_tok: str, now_s: float) -> str | Refusal:
        """Return the canonical api_json call that may be made, or why it may not.

        The same token rules as :meth:`admit`; the call is judged again by the api_json
        checker (:func:`~bb_agent.core.check.check_api.check_api_call`), and the token must
        bind its canonical form.
        """
        from bb_agent.core.check.check_api import check_api_call
        violations, canonical = check_api_call(program, schema)
        if violations:
            return Refusal(ErrorCode.PLAN_REJECTED, 'call refused: ' + '; '.join(
                f'{v.node_id or "call"}: {v.message}' for v in violations))
        endpoint = json.loads(canonical)['endpoint']
        needed = sorted({endpoint} & (operator_skills(schema) | self.extra_operator))
        return self._verify(canonical, schema, token, world_hash, now_s, needed, operator_id,
                            operator_tok) or self._consume(token) or canonical

    def _verify(self, canonical: str, schema: DomainSchema, token: str, world_hash: str,
                now_s: float, needed: list[str], operator_id: str, operator_tok: str
                ) -> Refusal | None:
        """Check the stamped token (binding, age) and the operator's approval if needed."""
        issued, _, digest = token.partition('.')
        if not (issued.isdigit() and digest and world_hash):
            return Refusal(ErrorCode.TOKEN_INVALID, 'approval token missing or not minted '
                           'by the plan checker')
        expected = stamped_token(canonical, schema.sha256, world_hash, self.key,
                                 int(issued) / 1000)
        if not hmac.compare_digest(token, expected):
            return Refusal(ErrorCode.TOKEN_INVALID, 'approval token does not verify for this '
                           'plan, schema and world')
        age = now_s - int(issued) / 1000
        if not -1.0 <= age <= self.token_ttl_s:
            return Refusal(ErrorCode.TOKEN_INVALID, f'approval token is {age:.1f} s old; it '
                           f'is valid for {self.token_ttl_s:g} s: check the plan again')
        if needed and not (operator_id and hmac.compare_digest(
                operator_tok, operator_token(canonical, operator_id, self.key))):
            return Refusal(ErrorCode.OPERATOR_REJECTED, f'{", ".join(needed)} needs an '
                           "operator's approval bound to this plan (none was given)")
        return None

    def _consume(self, token: str) -> Refusal | None:
        """Mark ``token`` used; refuse a second use."""
        with self._lock:
            if token in self._used:
                return Refusal(ErrorCode.TOKEN_INVALID, 'approval token was already used')
            self._used[token] = None
            while len(self._used) > self.remember:
                self._used.popitem(last=False)
        return None


def precheck_step(node_id: str, skill: str, args: dict, schema: DomainSchema,
                  live: World | None, heartbeat_age_s: float,
                  heartbeat_timeout_s: float) -> Refusal | None:
    """Judge one step right before dispatch on the live state; None when it may run."""
    spec = schema.skills.get(skill)
    if spec is None or not spec.moves:
        return None
    if heartbeat_age_s > heartbeat_timeout_s:
        return Refusal(ErrorCode.SAFETY_STOP, f'no safety-monitor heartbeat for '
                       f'{heartbeat_age_s:.2f} s (limit {heartbeat_timeout_s:g} s); nothing '
                       'moves unmonitored')
    if live is None:
        return Refusal(ErrorCode.STATE_STALE, 'no fresh world state to check the step against')
    if schema.safety is None:
        return None
    found, _ = judge_step(node_id, spec, args, ArmState.of(live), live, vs.hazards_of(live),
                          schema)
    if found:
        return Refusal(ErrorCode.SAFETY_STOP, f'{node_id} ({skill}) refused at dispatch: '
                       + '; '.join(v.message for v in found))
    return None

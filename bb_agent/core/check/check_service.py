"""What the plan-checker node does per request, free of ROS: check, cache, repair.

A request names the domain, the program, optionally a world (else the live one) and a
budget. The verdict is cached by (program text, schema, world, budget); with ``repair`` a
rejected plan is repaired and re-checked (never one that breaks a safety rule). Approval
tokens are HMAC'd with the approval key and stamped with the time they are handed out (a
cached verdict gets a fresh stamp), so only this service can approve, and only briefly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import hashlib
import threading
import time

from bb_agent.core.check.admission import stamped_token
from bb_agent.core.check.check_args import check_arguments
from bb_agent.core.check.checker import Verdict, check_plan
from bb_agent.core.check.repair import repair_plan
from bb_agent.core.check.verdict_cache import VerdictCache
from bb_agent.core.dsl.printer import print_program
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.schema import DomainSchema, load_schema
from bb_agent.core.world import World


def rejection_code(verdict: Verdict) -> ErrorCode:
    """Return the error code of a verdict: NONE, PARSE_ERROR (200) or PLAN_REJECTED (201)."""
    if verdict.approved:
        return ErrorCode.NONE
    if any(v.code.name == 'E_PARSE' for v in verdict.violations):
        return ErrorCode.PARSE_ERROR
    return ErrorCode.PLAN_REJECTED


@dataclass
class CheckOutcome:
    """The answer to one check request."""

    verdict: Verdict
    effective: dict = field(default_factory=dict)  # node id -> checked args (base units)
    repaired: bool = False
    repaired_program: str = ''
    repairs: tuple[str, ...] = ()
    cached: bool = False


class CheckService:
    """Checks plans for every domain; thread-safe.

    Args:
        key: the approval key (HMAC); tokens verify only with the same key.
        cache_size, cache_ttl_s: the verdict cache.
    """

    def __init__(self, key: bytes, *, cache_size: int = 256, cache_ttl_s: float = 30.0) -> None:
        self.key = key
        self.cache = VerdictCache(maxsize=cache_size, ttl_s=cache_ttl_s)
        self.lock = threading.Lock()
        self._schemas: dict[str, DomainSchema] = {}
        self._parsers: dict[str, object] = {}  # grammar name -> lark parser (bridge domains)

    def schema(self, domain: str) -> DomainSchema:
        """Return the domain's schema (typed UNKNOWN_DOMAIN error when there is none)."""
        if domain not in self._schemas:
            self._schemas[domain] = load_schema(domain)
        return self._schemas[domain]

    def check(self, program: str, domain: str, world: World | None, *, budget_s: float = 0.0,
              repair: bool = False) -> CheckOutcome:
        """Check ``program``; ``world`` None means the domain needs none (non-robot)."""
        if not program.strip():
            raise BBError(ErrorCode.EMPTY_INPUT, 'the plan has no program text')
        schema = self.schema(domain)
        world = world if world is not None else World()
        if schema.grammar != 'robot_dsl':
            return CheckOutcome(self._stamp(self._grammar_only(program, schema, world)))
        kwargs = {'budget_s': budget_s or None, 'token_key': self.key}
        key = hashlib.sha256('\n'.join((program, schema.sha256, world.sha256, str(budget_s),
                                        str(repair))).encode()).hexdigest()
        with self.lock:
            hit = self.cache.get(key)
        if hit is not None:
            return CheckOutcome(self._stamp(hit), self._effective(hit, schema, world),
                                cached=True)
        if repair:
            result = repair_plan(program, schema, world, **kwargs)
            verdict = result.verdict
            outcome = CheckOutcome(verdict, repaired=result.changed,
                                   repaired_program=print_program(result.program)
                                   if result.changed and result.program else '',
                                   repairs=tuple(str(r) for r in result.repairs))
        else:
            verdict = check_plan(program, schema, world, **kwargs)
            outcome = CheckOutcome(verdict)
        outcome.effective = self._effective(verdict, schema, world)
        with self.lock:
            self.cache.put(key, verdict)
        outcome.verdict = self._stamp(verdict)
        return outcome

    def _stamp(self, verdict: Verdict) -> Verdict:
        """Return ``verdict`` with a token stamped now (the executor honours it briefly)."""
        if not verdict.approved:
            return verdict
        return replace(verdict, token=stamped_token(verdict.canonical, verdict.schema_hash,
                                                    verdict.world_hash, self.key, time.time()))

    def _grammar_only(self, program: str, schema: DomainSchema, world: World) -> Verdict:
        """Verdict for a bridge domain: the program must be a sentence of its grammar."""
        import lark

        from bb_agent.core.check.checker import approval_token
        from bb_agent.core.check.violations import Code, Violation
        from bb_agent.core.dsl.grammar import load_grammar
        if schema.grammar not in self._parsers:
            self._parsers[schema.grammar] = lark.Lark(load_grammar(schema.grammar).text,
                                                      parser='lalr')
        base = {'schema_hash': schema.sha256, 'world_hash': world.sha256}
        try:
            self._parsers[schema.grammar].parse(program)
        except lark.exceptions.LarkError as exc:
            first = str(exc).strip().splitlines()[0][:200]
            return Verdict(False, (Violation.of(Code.E_PARSE, '', first),), '', '', **base)
        canonical = program.strip()
        if schema.grammar == 'api_json':  # a call the bridge makes: the schema judges it
            from bb_agent.core.check.check_api import check_api_call
            violations, canonical = check_api_call(program, schema)
            if violations:
                return Verdict(False, tuple(violations), '', '', **base)
        return Verdict(True, (), approval_token(canonical, schema.sha256, world.sha256,
                                                self.key), canonical, **base)

    @staticmethod
    def _effective(verdict: Verdict, schema: DomainSchema, world: World) -> dict:
        if verdict.graph is None or not verdict.graph.nodes:
            return {}
        return check_arguments(verdict.graph, schema, world)[1]

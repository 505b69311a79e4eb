"""Decided by code before any model sees the request.

``003_…``: code owns routing, limits and explicit values; the model interprets the rest.

In order:

1. **STOP**: a stop word anywhere ("stop", "halt", "freeze", "don't move", …, any casing or
   punctuation, inside a longer request too) latches STOP through the safety monitor.
2. **Over-limit values**: an explicit speed, force, distance, duration or count outside
   the schema's limits is REJECTED, naming the limit and the requested value; it is never
   replaced by another value.
3. **Authority claims** ("developer note", "ignore previous instructions", "the limit is
   now …", approval tokens, DSL text) change no limit or rule: the request is deferred with
   a question that names the claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import enum
import unicodedata

from bb_agent.core.dsl.units import UNITS
from bb_agent.core.intent.lexicon import Lexicon, match_phrases, tokens
from bb_agent.core.intent.quantities import BASE, Amount
from bb_agent.core.intent.request import Intent, parse_request
from bb_agent.core.schema import DomainSchema

NAMES = {'length': 'distance', 'time': 'duration'}


class AnchorKind(enum.Enum):
    """What the anchors decided."""

    NONE = 'none'  # go on to the model
    STOP = 'stop'
    REJECT = 'reject'
    DEFER = 'defer'


@dataclass(frozen=True)
class Limit:
    """An inclusive bound on one dimension and where it comes from."""

    low: float
    high: float
    name_low: str
    name_high: str


@dataclass
class Anchor:
    """The anchors' decision on one request."""

    kind: AnchorKind
    message: str = ''
    question: str = ''
    matched: list[str] = field(default_factory=list)  # the stop words or claims found
    intent: Intent | None = None


def clean(text: str) -> str:
    """Return ``text`` NFKC-normalised, zero-width characters dropped, controls as spaces."""
    text = unicodedata.normalize('NFKC', text)
    return ''.join('' if unicodedata.category(c) == 'Cf' else
                   ' ' if unicodedata.category(c)[0] == 'C' and c not in '\n\t' else c
                   for c in text)


def stop_words(text: str, lex: Lexicon) -> list[str]:
    """Return the stop phrases in ``text`` (empty when none)."""
    table = lex.stop_words
    words = tokens(clean(text).replace('’', "'"))
    found = [value for _, _, value in match_phrases(words, table)]
    # "s.t.o.p", "S T O P": letters spelled out one by one
    letters = ''.join(w for w in words if len(w) == 1)
    found += [p for p in lex.stop if ' ' not in p and len(p) > 3 and p in letters]
    return list(dict.fromkeys(found))


def authority_claims(text: str, lex: Lexicon) -> list[str]:
    """Return the snippets of ``text`` that claim authority over limits or rules."""
    text = clean(text)
    return [m.group(0).strip() for pattern in lex.authority_re
            for m in [pattern.search(text)] if m]


def limits(schema: DomainSchema, skills: frozenset[str]) -> dict[str, Limit]:
    """Return the bound per dimension for the ``skills`` a request names (all if none).

    A dimension's bound is the widest argument range among those skills, capped by the
    safety limits (speed, force) and the schema's ``max_repeat`` (counts).
    """
    caps = {} if schema.safety is None else {
        'speed': (schema.safety.max_speed_mps, 'safety.max_speed_mps'),
        'force': (schema.safety.max_force_n, 'safety.max_force_n')}
    out: dict[str, Limit] = {}
    for dim in ('speed', 'force', 'length', 'time'):
        # (low, high in SI, argument) of every ranged argument of this dimension
        every = [(a.range[0] * UNITS[a.unit][1], a.range[1] * UNITS[a.unit][1], f'{s}.{arg}')
                 for s, spec in schema.skills.items() for arg, a in spec.args.items()
                 if a.unit and a.range and UNITS[a.unit][0] == dim]
        ranges = [r for r in every if r[2].split('.')[0] in skills] or every
        if not ranges:
            continue
        low, high = min(ranges, key=lambda r: r[0]), max(ranges, key=lambda r: r[1])
        lim = Limit(low[0], high[1], f'{low[2]} range', f'{high[2]} range')
        if dim in caps and caps[dim][0] < lim.high:
            lim = Limit(lim.low, caps[dim][0], lim.name_low, caps[dim][1])
        out[dim] = lim
    out['count'] = Limit(1, schema.max_repeat, 'at least once', 'max_repeat')
    return out


def over_limit(amount: Amount, limit: Limit) -> str | None:
    """Return why ``amount`` is outside ``limit``, or None."""
    unit = BASE[amount.dimension]
    what = NAMES.get(amount.dimension, amount.dimension)
    written = amount.text if amount.text.replace(' ', '') == f'{amount.value:g}{unit}' \
        else f'{amount.text} ({amount.value:g} {unit})'
    if amount.value > limit.high + 1e-9:
        return (f'the requested {what} {written} is over the limit {limit.name_high} = '
                f'{limit.high:g} {unit}')
    if amount.value < limit.low - 1e-9:
        return (f'the requested {what} {written} is under the minimum {limit.name_low} = '
                f'{limit.low:g} {unit}')
    return None


def anchor(text: str, schema: DomainSchema) -> Anchor:
    """Return what code decides about ``text`` before the model (see the module docstring)."""
    lex = schema.lexicon
    if lex is None:
        return Anchor(AnchorKind.NONE)
    stops = stop_words(text, lex)
    if stops:
        return Anchor(AnchorKind.STOP, 'STOP latched: the request asks the robot to stop '
                      f'({", ".join(repr(s) for s in stops)}); it was not sent to the model',
                      matched=stops)
    intent = parse_request(clean(text), lex)
    bounds = limits(schema, intent.named_skills())
    problems = list(dict.fromkeys(why for amount, _ in intent.amounts
                                  if amount.dimension in bounds
                                  for why in [over_limit(amount, bounds[amount.dimension])]
                                  if why))
    if problems:
        return Anchor(AnchorKind.REJECT, 'REJECTED: ' + '; '.join(problems) +
                      '. Limits are never raised or replaced for a request.', intent=intent)
    claims = authority_claims(text, lex)
    if claims:
        shown = '; '.join(f'"{c[:60]}"' for c in claims[:3])
        return Anchor(AnchorKind.DEFER, f'the request claims authority over limits or rules '
                      f'({shown}); nothing in a request changes them', question=(
                          f'Your request contains text that tries to change my rules or '
                          f'limits ({shown}). Requests cannot change them. What would you '
                          'like me to do, within the normal limits?'),
                      matched=claims, intent=intent)
    return Anchor(AnchorKind.NONE, intent=intent)

"""Explicit quantities in a request, parsed by code: speeds, forces, lengths, times, counts.

Digits and number words ("two", "twenty-five", "zero point eight", "one and a half",
"half a second", "a minute") with written-out or short units. Values are returned in the
DSL's base units (m/s, N, m, s), so they compare directly with a plan's checked arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
import re

SMALL = {w: i for i, w in enumerate(
    'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen '
    'fifteen sixteen seventeen eighteen nineteen'.split())}
TENS = {w: 10 * (i + 2) for i, w in enumerate(
    'twenty thirty forty fifty sixty seventy eighty ninety'.split())}
SCALES = {'hundred': 100, 'thousand': 1000}
_NUMBER_WORD = '|'.join(sorted([*SMALL, *TENS, *SCALES, 'point', 'half', 'and', 'a', 'an'],
                               key=len, reverse=True))
_NUMBER_RUN = re.compile(rf'\b(?:(?:{_NUMBER_WORD})(?:[\s-]+|$|(?=\W)))+', re.IGNORECASE)

# unit phrase -> (dimension, factor to the dimension's base unit)
UNIT_PHRASES: dict[str, tuple[str, float]] = {
    'm/s': ('speed', 1.0), 'mps': ('speed', 1.0), 'meters per second': ('speed', 1.0),
    'metres per second': ('speed', 1.0), 'meter per second': ('speed', 1.0),
    'metre per second': ('speed', 1.0), 'm per s': ('speed', 1.0),
    'cm/s': ('speed', 0.01), 'centimeters per second': ('speed', 0.01),
    'centimetres per second': ('speed', 0.01), 'mm/s': ('speed', 0.001),
    'millimeters per second': ('speed', 0.001), 'millimetres per second': ('speed', 0.001),
    'km/h': ('speed', 1 / 3.6), 'kph': ('speed', 1 / 3.6), 'kmh': ('speed', 1 / 3.6),
    'kilometers per hour': ('speed', 1 / 3.6), 'kilometres per hour': ('speed', 1 / 3.6),
    'mph': ('speed', 0.44704), 'miles per hour': ('speed', 0.44704),
    'n': ('force', 1.0), 'newton': ('force', 1.0), 'newtons': ('force', 1.0),
    'kn': ('force', 1000.0), 'kilonewtons': ('force', 1000.0),
    'm': ('length', 1.0), 'meter': ('length', 1.0), 'meters': ('length', 1.0),
    'metre': ('length', 1.0), 'metres': ('length', 1.0),
    'cm': ('length', 0.01), 'centimeter': ('length', 0.01), 'centimeters': ('length', 0.01),
    'centimetre': ('length', 0.01), 'centimetres': ('length', 0.01),
    'mm': ('length', 0.001), 'millimeter': ('length', 0.001),
    'millimeters': ('length', 0.001), 'millimetre': ('length', 0.001),
    'millimetres': ('length', 0.001), 'inch': ('length', 0.0254),
    'inches': ('length', 0.0254), 'foot': ('length', 0.3048), 'feet': ('length', 0.3048),
    'ft': ('length', 0.3048),
    's': ('time', 1.0), 'sec': ('time', 1.0), 'secs': ('time', 1.0),
    'second': ('time', 1.0), 'seconds': ('time', 1.0), 'ms': ('time', 0.001),
    'millisecond': ('time', 0.001), 'milliseconds': ('time', 0.001),
    'min': ('time', 60.0), 'mins': ('time', 60.0), 'minute': ('time', 60.0),
    'minutes': ('time', 60.0), 'h': ('time', 3600.0), 'hour': ('time', 3600.0),
    'hours': ('time', 3600.0), 'hr': ('time', 3600.0), 'hrs': ('time', 3600.0),
    'times': ('count', 1.0), 'x': ('count', 1.0),
}
BASE = {'speed': 'm/s', 'force': 'N', 'length': 'm', 'time': 's', 'count': 'times'}
_UNIT = '|'.join(re.escape(u) for u in sorted(UNIT_PHRASES, key=len, reverse=True))
_QUANTITY = re.compile(rf'(?<![\w.])(-?\d+(?:\.\d+)?)\s*(?:-\s*)?({_UNIT})(?![\w/])',
                       re.IGNORECASE)
_WORD_COUNTS = re.compile(r'\b(twice|thrice)\b', re.IGNORECASE)


@dataclass(frozen=True)
class Amount:
    """One explicit quantity: ``value`` in the base unit of ``dimension``."""

    dimension: str  # speed | force | length | time | count
    value: float
    text: str  # as written, e.g. "0.8 m/s", "two seconds"
    start: int  # character offset in the number-normalised request

    def __str__(self) -> str:
        unit = BASE[self.dimension]
        return f'{self.value:g} {unit}' if self.dimension != 'count' else f'{self.value:g} times'


def _run_value(words: list[str]) -> float | None:
    """Return the number a run of number words spells, or None when it is not one."""
    total, current, seen = 0.0, 0.0, False
    decimals: list[int] | None = None
    for i, w in enumerate(words):
        if w in ('a', 'an'):
            nxt = words[i + 1] if i + 1 < len(words) else ''
            if nxt == 'half':
                continue  # "a half" = "half"
            if seen:
                continue  # "one and a half"
            current, seen = 1.0, True  # "a second"
        elif w == 'and':
            continue
        elif w == 'half':
            current, seen = current + 0.5, True
        elif w == 'point':
            decimals = []
        elif decimals is not None and w in SMALL and SMALL[w] < 10:
            decimals.append(SMALL[w])
        elif w in SMALL:
            current, seen = current + SMALL[w], True
        elif w in TENS:
            current, seen = current + TENS[w], True
        elif w in SCALES:
            current, seen = max(current, 1.0) * SCALES[w], True
            total, current = total + current, 0.0
    if not seen and not decimals:
        return None
    value = total + current
    if decimals:
        value += float('0.' + ''.join(str(d) for d in decimals))
    return value


def normalise_numbers(text: str) -> str:
    """Return ``text`` with number-word runs written as digits ("two seconds" -> "2 seconds")."""
    def repl(match: re.Match) -> str:
        raw = match.group(0)
        words = [w.lower() for w in re.split(r'[\s-]+', raw.strip()) if w]
        # A lone "a"/"an"/"and" is an article, not a number, unless a unit follows.
        if all(w in ('a', 'an', 'and') for w in words):
            after = text[match.end():match.end() + 14].lower()
            if not re.match(r'(?:second|minute|millisecond|hour|meter|metre|centimet|newton|'
                            r'foot|inch)\b', after) or words[-1] == 'and':
                return raw
        value = _run_value(words)
        ahead = re.match(r'\s*(?:-\s*)?([a-z/]+(?:\s+per\s+[a-z]+)?)', text[match.end():].lower())
        unit_next = bool(ahead) and (ahead.group(1) in UNIT_PHRASES or
                                     ahead.group(1).split()[0] in UNIT_PHRASES or
                                     ahead.group(1).startswith('time'))
        if value is None or not unit_next:
            return raw  # "the red one", "two cups": not a quantity
        lead = words[0] in ('and',)
        tail = ' ' if raw[-1:].isspace() or raw[-1:] == '-' else ''
        return ('and ' if lead else '') + f'{value:g}' + tail
    return _NUMBER_RUN.sub(repl, text)


_DECIMAL_COMMA = re.compile(r'(?<![\d.,])(\d+),(\d{1,2})(?![\d,])')
_THOUSANDS = re.compile(r'(?<![\d.,])(\d{1,3}(?:,\d{3})+)(?![\d,])')
# "5 metres a second", "5 m/sec", "5 cm per sec": one spelling per speed unit
_PER_SECOND = re.compile(r'\b(m|meters?|metres?|cm|centimet(?:er|re)s?|mm|millimet(?:er|re)s?)'
                         r'\s*(?:per\s+|an?\s+|/\s*)(?:second|sec|s)\b', re.IGNORECASE)
# (words must stand apart: "3 cm as fast as you can" is a length and a modifier, not 3 cm/s)
_SPEED_UNIT = {'m': 'm/s', 'cm': 'cm/s', 'mm': 'mm/s'}


def _per_second(match: re.Match) -> str:
    head = match.group(1).lower()
    key = 'cm' if head.startswith(('cm', 'cent')) else 'mm' if head.startswith(
        ('mm', 'milli')) else 'm'
    return _SPEED_UNIT[key]


def normalise(text: str) -> str:
    """Return ``text`` with speed units, digit groups and number words in one spelling."""
    norm = normalise_numbers(_PER_SECOND.sub(_per_second, text))
    norm = _THOUSANDS.sub(lambda m: m.group(1).replace(',', ''), norm)
    return _DECIMAL_COMMA.sub(r'\1.\2', norm)  # "1,5 s" (a decimal comma)


def amounts(text: str) -> list[Amount]:
    """Return every explicit quantity in ``text``, in order of appearance."""
    norm = normalise(text)
    out: list[Amount] = []
    last_end = 0
    for match in _QUANTITY.finditer(norm):
        dimension, factor = UNIT_PHRASES[match.group(2).lower()]
        amount = Amount(dimension, float(match.group(1)) * factor, match.group(0).strip(),
                        match.start())
        last = out[-1] if out else None
        between = norm[last_end:match.start()] if last else ''
        if last and dimension == last.dimension == 'time' and \
                re.fullmatch(r'\s*(?:and|,)?\s*', between):
            # "1 minute and 30 seconds" is one duration
            amount = Amount('time', last.value + amount.value, f'{last.text}{between}'
                            f'{amount.text}', last.start)
            out.pop()
        out.append(amount)
        last_end = match.end()
    for match in _WORD_COUNTS.finditer(norm):
        out.append(Amount('count', 2.0 if match.group(1).lower() == 'twice' else 3.0,
                          match.group(0), match.start()))
    return sorted(out, key=lambda a: a.start)

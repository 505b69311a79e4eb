"""The request lexicon of a domain schema (``lexicon:`` in ``config/domains/<d>.yaml``).

Words are matched on a normalised token list (lower case, punctuation dropped, "don't"
kept whole), longest phrase first, so "pick up" is one verb and "hand me" is not "hand".
"""

from __future__ import annotations

import functools
import re

from pydantic import Field, model_validator

from bb_agent.core.strict_model import StrictModel

_TOKEN = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*|\d+(?:\.\d+)?")


def tokens(text: str) -> list[str]:
    """Return the normalised words of ``text`` (lower case; "don't" and "e-stop" stay whole)."""
    return [t.replace('’', "'") for t in _TOKEN.findall(text.lower())]


class SkillWords(StrictModel):
    """How requests call for one skill."""

    verbs: tuple[str, ...]
    needs: tuple[str, ...] = ()  # skills it may bring along unasked (place needs a pick)


class Modifier(StrictModel):
    """A manner word and the argument it bounds (in the argument's base unit)."""

    words: tuple[str, ...] = Field(min_length=1)
    arg: str
    max: float | None = None
    min: float | None = None
    value: float  # what training data synthesis writes for it

    @model_validator(mode='after')
    def _bounded(self) -> Modifier:
        if self.max is None and self.min is None:
            raise ValueError('a modifier needs max or min')
        lo = self.min if self.min is not None else -1e9
        hi = self.max if self.max is not None else 1e9
        if not lo <= self.value <= hi:
            raise ValueError(f'value {self.value} outside its own bound [{lo}, {hi}]')
        return self


class Lexicon(StrictModel):
    """See the module docstring."""

    stop: tuple[str, ...] = ()
    authority: tuple[str, ...] = ()  # regular expressions
    skills: dict[str, SkillWords] = {}
    kinds: dict[str, tuple[str, ...]] = {}
    colours: tuple[str, ...] = ()
    everything: tuple[str, ...] = ()
    pronouns: tuple[str, ...] = ()
    negations: tuple[str, ...] = ()
    modifiers: dict[str, Modifier] = {}
    sequence: tuple[str, ...] = ()
    reverse: tuple[str, ...] = ()
    together: tuple[str, ...] = ()
    enum_words: dict[str, tuple[str, ...]] = {}  # enum member -> words that say it

    @model_validator(mode='after')
    def _patterns_compile(self) -> Lexicon:
        for pattern in self.authority:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f'authority pattern {pattern!r}: {exc}') from None
        return self

    @functools.cached_property
    def authority_re(self) -> tuple[re.Pattern, ...]:
        """The authority patterns, compiled (case-insensitive)."""
        return tuple(re.compile(p, re.IGNORECASE) for p in self.authority)

    @functools.cached_property
    def verb_skills(self) -> dict[tuple[str, ...], frozenset[str]]:
        """Verb phrase (as a token tuple) -> the skills it may call for."""
        out: dict[tuple[str, ...], set[str]] = {}
        for skill, words in self.skills.items():
            for verb in words.verbs:
                out.setdefault(tuple(tokens(verb)), set()).add(skill)
        return {k: frozenset(v) for k, v in out.items()}

    @functools.cached_property
    def kind_words(self) -> dict[str, str]:
        """Word (and its plural) -> object kind."""
        out = {}
        for kind, words in self.kinds.items():
            for word in words:
                out[word] = kind
                out.setdefault(word + ('es' if word.endswith(('s', 'x', 'sh', 'ch')) else 's'),
                               kind)
        return out

    @functools.cached_property
    def stop_words(self) -> dict[tuple[str, ...], str]:
        """Stop phrase (token tuple) -> the phrase as written."""
        return {tuple(tokens(p)): p for p in self.stop}

    @functools.cached_property
    def modifier_words(self) -> dict[tuple[str, ...], str]:
        """Modifier phrase (token tuple) -> modifier name."""
        return {tuple(tokens(w)): name for name, m in self.modifiers.items() for w in m.words}


def phrase_table(*groups: tuple[dict[tuple[str, ...], object], str]
                 ) -> dict[tuple[str, ...], tuple[str, object]]:
    """Merge (phrase -> value, tag) tables into phrase -> (tag, value); earlier tags win."""
    out: dict[tuple[str, ...], tuple[str, object]] = {}
    for table, tag in groups:
        for phrase, value in table.items():
            out.setdefault(phrase, (tag, value))
    return out


def match_phrases(words: list[str], table: dict[tuple[str, ...], object]
                  ) -> list[tuple[int, int, object]]:
    """Return (start, end, value) of table phrases in ``words``, longest first, no overlap."""
    longest = max((len(k) for k in table), default=0)
    out, i = [], 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            key = tuple(words[i:i + n])
            if key in table:
                out.append((i, i + n, table[key]))
                i += n
                break
        else:
            i += 1
    return out

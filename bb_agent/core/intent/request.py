"""What a request asks for, read by code: actions, mentions, modifiers, amounts, order.

The request is split into clauses at sentence ends and at the lexicon's connectors
("then", "but first", "at the same time"), and at "and" or a comma when a verb follows.
Within a clause:

- an *action* is a lexicon verb (inflected forms too: "picks", "pushing", "placed");
  it is *negated* when a negation word stands up to three words before it;
- a *mention* is an object word (a kind or its synonym, or "one" after an adjective) with
  its adjectives (a colour, any attribute word, left/right), or a bin word;
- *modifiers* ("slowly", "gently") and *amounts* ("0.2 m/s", "two seconds") belong to
  the clause they stand in.

Words inside quotes are the text to say: they are never read as actions or mentions.
Words of an ``if``-condition ("if you are holding the cup, ...") name no action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re

from bb_agent.core.intent.lexicon import Lexicon, match_phrases, tokens
from bb_agent.core.intent.quantities import UNIT_PHRASES, Amount, amounts, normalise

_QUOTED = re.compile(r'"([^"]{0,400})"|“([^”]{0,400})”|\'([^\']{2,400})\'(?!\w)')
DETERMINERS = frozenset({'the', 'a', 'an', 'that', 'this', 'these', 'those', 'my', 'your',
                         'our', 'each', 'every', 'some', 'any', 'both', 'all', 'two', 'three',
                         'other'})
VERB_ALSO_NOUN = frozenset({'can', 'cans'})  # "can you ..." is not a can
SIDES = frozenset({'left', 'right'})
# A question about the world, not a polite request ("Could you ...?" asks for an action).
QUESTION = re.compile(r"^\s*(?:is|are|was|were|isn't|aren't|where|what|what's|which|who|"
                      r"whose|how|why|when|does|did|has|have|hasn't|haven't|do\s+(?:i|we|they)"
                      r")\b", re.IGNORECASE)
CORRECTION = re.compile(r'^\s*(?:no|nope|not that|actually|sorry|i meant|i mean|wrong|'
                        r'rather|instead)\b', re.IGNORECASE)
NOT_ADJECTIVES = frozenset({
    'and', 'or', 'but', 'then', 'quoted_text', ',', 'in', 'into', 'inside', 'on', 'onto', 'to',
    'at', 'of', 'with', 'from', 'by', 'for', 'up', 'down', 'over', 'it', 'them', 'me', 'you',
    'us', 'is', 'are', 'be', 'please', 'just', 'now', 'also', 'belongs', 'goes', 'go', 'near',
    'next', 'away', 'off', 'out', 'here', 'there', 'if', 'not', 'no', "don't", 'never'})
GENERIC_NOUNS = frozenset({'one', 'ones', 'thing', 'things', 'object', 'objects', 'item',
                           'items', 'piece', 'toy'})
LIGHT_VERBS = frozenset({'get', 'give', 'take', 'have', 'make', 'set', 'go', 'come', 'see'})
NOUN_MARKERS = frozenset({'a', 'an', 'little', 'quick', 'small', 'gentle', 'slight', 'tiny',
                          'short', 'good', 'final'})
# "if you can", "if it is not too much trouble": politeness, not a condition
POLITE_IF = re.compile(r"\bif (?:you (?:can|could|would|will|don't mind|do not mind|wouldn't "
                       r"mind|please|have a (?:moment|minute|second)|get a chance)|possible|"
                       r"(?:it is|it's|that is|that's) (?:not too much trouble|ok(?:ay)?|"
                       r"alright|possible|fine)|that works)\b[,]?", re.IGNORECASE)
CONDITIONS = frozenset({'if', 'unless', 'whether'})
_WORDS = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*|\d+(?:\.\d+)?|,")
PLACE_PREPOSITIONS = frozenset({'in', 'into', 'inside', 'onto', 'on', 'to'})


@dataclass(frozen=True)
class Action:
    """A verb that calls for one of ``skills``."""

    skills: frozenset[str]
    phrase: str
    clause: int
    negated: bool = False
    implied: bool = False  # not written as a verb ("the cup in bin A" implies a place)


@dataclass(frozen=True)
class Mention:
    """An object (or bin) named in the request."""

    kind: str | None  # lexicon kind ("cup", "bin"), None for "the red one"
    adjectives: tuple[str, ...]  # colour and attribute words before it
    clause: int
    plural: bool = False
    negated: bool = False
    side: str | None = None  # left | right
    in_condition: bool = False
    word: str = ''  # the noun as written ("mug", "tray")
    label: str = ''  # a letter or number after it ("bin A", "crate 2")

    @property
    def colour(self) -> str | None:
        """The first adjective that is a colour, if any (set by the parser)."""
        return self.adjectives[0] if self.adjectives else None


@dataclass
class Intent:
    """A parsed request; see the module docstring."""

    text: str
    words: list[str]
    quoted: tuple[str, ...]
    actions: list[Action] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    modifiers: list[tuple[str, int]] = field(default_factory=list)  # (name, clause)
    amounts: list[tuple[Amount, int]] = field(default_factory=list)  # (amount, clause)
    order: list[tuple[int, int]] = field(default_factory=list)  # clause i before clause j
    clauses: int = 1
    everything: bool = False
    everything_in: set[int] = field(default_factory=set)  # clauses that say "everything"
    pronoun: bool = False
    correction: bool = False
    word_clauses: list[int] = field(default_factory=list)  # the clause of each word
    question: bool = False  # asks about the world ("Is the cup in bin A?"), asks for nothing

    def named_skills(self) -> frozenset[str]:
        """Skills the request's own (non-negated) verbs may call for."""
        return frozenset(s for a in self.actions if not a.negated for s in a.skills)


def _inflections(verb: tuple[str, ...]) -> list[tuple[str, ...]]:
    head, rest = verb[0], verb[1:]
    forms = {head, head + 's', head + 'es', head + 'ed', head + 'ing', head + 'd'}
    if head in LIGHT_VERBS:
        return [verb]  # "getting late", "having a look": only the plain form is a request
    if head.endswith('e'):
        forms |= {head[:-1] + 'ing', head + 'd'}
    if len(head) > 2 and head[-1] not in 'aeiouwy' and head[-2] in 'aeiou':
        forms |= {head + head[-1] + 'ing', head + head[-1] + 'ed'}
    irregular = {'put': ['putting'], 'take': ['took', 'taken'], 'bring': ['brought'],
                 'hold': ['held'], 'give': ['gave', 'given'],
                 'set': ['setting'], 'throw': ['threw', 'thrown'], 'see': ['saw', 'seen'],
                 'say': ['said'], 'tell': ['told'], 'find': ['found'], 'stick': ['stuck']}
    forms |= set(irregular.get(head, []))
    return [(f, *rest) for f in forms]


def _tables(lex: Lexicon) -> tuple:
    """Return the (phrase table, tag) groups a sentence is matched against, in priority order.

    Derived from the lexicon once and kept on it (the lexicon is immutable).
    """
    cached = lex.__dict__.get('_request_tables')
    if cached is not None:
        return cached
    verbs: dict[tuple[str, ...], frozenset[str]] = {}
    for phrase, skills in lex.verb_skills.items():
        for form in _inflections(phrase):
            verbs[form] = verbs.get(form, frozenset()) | skills
    connectors = {}
    for tag, phrases in (('then', lex.sequence), ('first', lex.reverse),
                         ('together', lex.together), ('else', ('otherwise', 'or else', 'else'))):
        for ph in phrases:
            connectors[tuple(tokens(ph))] = tag
    def table(phrases):
        return {tuple(tokens(p)): True for p in phrases}
    groups = ((connectors, 'conn'), (verbs, 'verb'), (lex.modifier_words, 'mod'),
              (table(lex.everything), 'all'), (table(lex.pronouns), 'pron'),
              (table(lex.negations), 'neg'))
    lex.__dict__['_request_tables'] = groups
    return groups


def _strip_quotes(text: str) -> tuple[str, tuple[str, ...]]:
    quoted = []

    def keep(match):
        quoted.append(next(g for g in match.groups() if g is not None))
        return ' quoted_text '
    return _QUOTED.sub(keep, text), tuple(quoted)


def parse_request(text: str, lex: Lexicon) -> Intent:
    """Return the :class:`Intent` of ``text`` under the domain's lexicon."""
    stripped, quoted = _strip_quotes(POLITE_IF.sub(' ', text))
    stripped = normalise(stripped)
    groups = _tables(lex)
    # Sentences first (order between them), then connectors within each.
    intent = Intent(text, [], quoted, correction=bool(CORRECTION.match(text)),
                    question=bool(QUESTION.match(stripped)) and stripped.rstrip().endswith('?'))
    clause, words_all = 0, []
    sentences = [s for s in re.split(r'(?<=[.!?;])\s+|\n+', stripped) if s.strip()]
    for s_index, sentence in enumerate(sentences):
        words = [w.replace('’', "'") for w in _WORDS.findall(sentence.lower())]
        if s_index and words and not sentence.lstrip().lower().startswith(
                ('otherwise', 'else', 'or else')):
            if not sentences[s_index - 1].rstrip().endswith(';'):
                intent.order.append((clause, clause + 1))
        if s_index:
            clause += 1
        clause = _read_sentence(sentence, words, lex, groups, intent, clause)
        words_all += words
    intent.words = [w for w in words_all if w != ',']
    intent.clauses = clause + 1
    if not intent.question:
        _imply_place(intent, lex)
    return intent


def _read_sentence(sentence, words, lex, groups, intent: Intent, clause: int) -> int:
    """Read one sentence's words (commas kept as tokens); return the last clause index."""
    spans: dict[tuple[int, int], tuple[str, object]] = {}
    for table, tag in groups:
        for start, end, value in match_phrases(words, table):
            if not any(a <= start < b or start <= a < end for a, b in spans):
                spans[(start, end)] = (tag, value)
    at = sorted(spans.items())
    clause_at = [clause] * len(words)
    cond_verbs: set[int] = set()  # starts of verbs that belong to a condition
    last_neg = -10
    first_clause = clause
    for (start, end), (tag, value) in at:
        clause = _span(start, end, tag, value, words, at, intent, clause, first_clause,
                       cond_verbs, last_neg)
        if tag == 'neg':
            last_neg = end
        clause_at[start:] = [clause] * (len(words) - start)
    intent.word_clauses += [c for w, c in zip(words, clause_at, strict=True) if w != ',']
    for amount in amounts(sentence):
        index = len(_WORDS.findall(sentence[:amount.start].lower()))
        intent.amounts.append((amount, clause_at[min(index, len(words) - 1)] if words else clause))
    # if-conditions: from "if" to the first comma, connector or action verb after it
    breaks = sorted(a for (a, _), (t, _) in at if (t == 'verb' and a not in cond_verbs)
                    or t == 'conn')
    ranges = []
    for c, word in enumerate(words):
        if word in CONDITIONS:
            end = min([k for k in range(c + 1, len(words)) if words[k] == ','] +
                      [a for a in breaks if a > c] + [len(words)])
            ranges.append((c, end))
    for i in range(len(words)):
        mention = _mention(words, i, lex, clause_at[i])
        if mention is not None:
            inside = any(c < i < end for c, end in ranges)
            intent.mentions.append(Mention(**{**mention.__dict__, 'in_condition': inside}))
    return clause


def _span(start, end, tag, value, words, at, intent: Intent, clause: int, first: int,
          cond_verbs: set[int], last_neg: int) -> int:
    """Read one matched span; return the clause index from here on."""
    if tag == 'conn':
        if start == 0 and clause == first and first > 0:
            # "... . After that, ...": the sentence already opened a clause in order
            if value == 'first' and intent.order and intent.order[-1] == (clause - 1, clause):
                intent.order[-1] = (clause, clause - 1)
            return clause
        if value == 'then':
            intent.order.append((clause, clause + 1))
        elif value == 'first':
            intent.order.append((clause + 1, clause))
        return clause + 1
    if tag == 'mod':
        intent.modifiers.append((value, clause))
    elif tag == 'all':
        intent.everything = True
        intent.everything_in.add(clause)
    elif tag == 'pron':
        intent.pronoun = True
    if tag != 'verb':
        return clause
    cond = next((i for i in range(start - 1, -1, -1) if words[i] in CONDITIONS), None)
    if cond is not None and ',' not in words[cond:start] and not any(
            t == 'verb' and cond < a < start and a not in cond_verbs
            for (a, _), (t, _) in at):
        # the first verb after "if" is the condition's own ("if you are holding ...")
        # when "are/is/be" stands before it
        if any(w in ('are', 'is', 'be', 'am', 'was', 'were', 'have', 'has')
               for w in words[cond:start]):
            cond_verbs.add(start)
            return clause
    if words[start] in VERB_ALSO_NOUN:
        return clause
    prev = words[start - 1] if start else ''
    if prev in NOUN_MARKERS and intent.actions and intent.actions[-1].clause == clause \
            and intent.actions[-1].phrase.split()[0] in LIGHT_VERBS:
        intent.actions.pop()  # "give it a push": the push is the action, not the give
    elif prev in ('and', ',') and intent.actions and intent.actions[-1].clause == clause:
        clause += 1  # "pick it up and put it ...": a new clause, no fixed order
    negated = 0 <= start - last_neg <= 2
    intent.actions.append(Action(value, ' '.join(words[start:end]), clause, negated))
    return clause


def _mention(words: list[str], i: int, lex: Lexicon, clause: int):
    word = words[i]
    kind = lex.kind_words.get(word)
    prev = words[i - 1] if i else ''
    if kind is None and word in GENERIC_NOUNS and prev and prev not in DETERMINERS and \
            prev not in lex.kind_words:
        kind = ''  # "the red one"
    if kind is None:
        return None
    if word in VERB_ALSO_NOUN and not (prev in DETERMINERS or prev in lex.colours):
        return None
    adjectives, side, j = [], None, i - 1
    while j >= 0 and i - j <= 3 and words[j] not in DETERMINERS and words[j] not in \
            NOT_ADJECTIVES and words[j] not in lex.kind_words and \
            (words[j],) not in lex.verb_skills:
        if words[j] in SIDES:
            side = words[j]
        elif not words[j].replace('.', '').isdigit():
            adjectives.insert(0, words[j])
        j -= 1
    after = words[i + 1:i + 4]
    if after[:2] in (['on', 'the'],) and len(after) > 2 and after[2] in SIDES:
        side = after[2]
    colours = [a for a in adjectives if a in lex.colours]
    others = [a for a in adjectives if a not in lex.colours]
    negated = any(w in ('not', 'no', "don't", 'never', 'except', 'without')
                  for w in words[max(0, j - 1):i])
    plural = word.endswith('s') and word not in lex.kinds.get(kind or '', ()) or \
        prev in ('all', 'both', 'two', 'three', 'four')
    label = ''
    if after and len(after[0]) == 1 and after[0].isalnum() and not (
            len(after) > 1 and (after[1] in lex.kind_words or after[1] in lex.colours or
                                after[1] in UNIT_PHRASES or after[1] in ('times', 'x'))):
        label = after[0]
    return Mention(kind or None, tuple(colours + others), clause, plural, negated, side,
                   word=word, label=label)


def _imply_place(intent: Intent, lex: Lexicon) -> None:
    """Add the place that an object moved "in/into/to" a bin calls for ("the cup in bin A")."""
    words = intent.words
    kinds = [m.kind for m in intent.mentions if not m.negated]
    if not [a for a in intent.actions if not a.implied] and 'bin' in kinds and \
            any(k != 'bin' for k in kinds) and 'place' in lex.skills:
        intent.actions.append(Action(frozenset({'place'}), 'put', 0, implied=True))
        return  # "red cup, bin B": an object and a bin and nothing else ask for a place
    for i, word in enumerate(words[:-1]):
        if word in PLACE_PREPOSITIONS and any(
                lex.kind_words.get(w) == 'bin' for w in words[i + 1:i + 4]) and \
                'place' in lex.skills:
            intent.actions.append(Action(frozenset({'place'}), f'{word} ...', 0, implied=True))
            return

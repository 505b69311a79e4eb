"""How synthetic robot requests are worded: verbs, frames, politeness, numbers, connectors.

The words come from the robot lexicon (``config/domains/robot.yaml``, the intent gate's
own), so what the model learns to read is what the gate accepts: every verb below is checked
against the lexicon's words for its skill when this module loads. The lists here only say
which of the lexicon's verbs fit which sentence frame, and which are held out.

Every table is split in two: phrasings for training, and phrasings held out for the
skin-shift split (``skin``), so that split measures wording the model never saw.
"""

from __future__ import annotations

import random

from bb_agent.core.schema import load_schema

# atom -> (skill whose lexicon verbs these are, frames, train verbs, skin verbs).
# A frame has {v} (the verb) and the atom's slots: {o} object, {b} bin, {d} direction,
# {n} number, {t} text, {r} region, {p} preposition (``in``/``into``/``to``, chosen per verb).
FRAMES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    'fetch': ('place', ('{v} the {o} {p} {b}',),
              ('put', 'place', 'move', 'drop', 'set', 'stow', 'bring', 'transfer', 'load',
               'carry', 'store'),
              ('toss', 'pop', 'deposit', 'stick', 'relocate', 'throw')),
    'pick': ('pick', ('{v} the {o}',),
             ('pick up', 'grab', 'lift', 'grasp', 'take hold of', 'collect'),
             ('retrieve', 'seize', 'snatch')),
    'give': ('hand_over', ('{v} the {o}',),
             ('hand me', 'give me', 'pass me', 'bring me'),
             ('get me', 'fetch me')),
    'push': ('push', ('{v} the {o} {d} by {n} cm', '{v} the {o} {n} cm {d}'),
             ('push', 'nudge', 'slide', 'shift'),
             ('shove', 'scoot', 'budge')),
    'look': ('scan', ('{v} {r}',),
             ('look at', 'scan', 'inspect', 'check', 'survey'),
             ('examine', 'take a look at', 'observe')),
    'speak': ('say', ('{v} "{t}"',),
              ('say', 'announce', 'tell everyone', 'state'),
              ('declare', 'shout', 'read out')),
    'pause': ('wait', ('{v} for {n} seconds', '{v} {n} seconds'),
              ('wait', 'pause', 'hold on', 'stay'),
              ('hang on', 'linger', 'idle')),
    'home': ('home', ('{v}',),
             ('go home', 'return to the home pose', 'return home', 'go back to the safe pose',
              'park'),
             ('head back to your rest position', 'retract', 'reset to home')),
    'goto': ('move_to', ('{v} {b}',),
             ('move to', 'go to', 'head to', 'travel to', 'approach'),
             ('head over to', 'go over to', 'go near')),
}
# Verbs that take ``to`` rather than ``in``/``into`` before a bin.
TO_VERBS = frozenset({'move', 'bring', 'transfer', 'carry', 'relocate'})
# "grab the X and put it in Y": a fetch written as two clauses joined by a pronoun.
PRONOUN_FETCH = (('{pv} the {o} and {v} it {p} {b}', '{pv} the {o}, then {v} it {p} {b}'),
                 ('{pv} the {o} and {v} that {p} {b}', '{pv} the {o}; {v} it {p} {b}'))
# Whole-request frames: (train, skin). {x} is the request; a frame ending in ? is a question.
POLITE = (('{x}', '{x}', '{x}', 'please {x}', '{x}, please', 'could you {x}?', 'can you {x}?',
           'I need you to {x}', '{x} for me', 'can you please {x}?'),
          ('would you {x}?', 'I would like you to {x}', 'kindly {x}', 'go ahead and {x}',
           '{x}, thanks', 'hey robot, {x}', 'would you be so kind as to {x}?'))
CONNECTORS = ((', then ', ' and then ', '. After that, ', '. Then ', ', and afterwards '),
              ('. Next, ', '; once done, ', '. When you are done, ', ', subsequently '))
REVERSED = ((', but first ',), ('. Before that, ', ', but before that '))
TOGETHER = ((' and at the same time ', ' and in parallel '),
            (', simultaneously ', ' and meanwhile '))
DISTRACTORS = (('Good morning.', 'The table is a bit messy.', 'I am back.',
                'Thanks in advance.'),
               ('It is a busy morning.', 'The lights are on.', 'Thanks a lot.',
                'I will be back soon.', 'Nice work today.'))
REPEATS = (('{x} {k} times', '{x} {k} times over'),
           ('{x}, repeated {k} times', 'do {x} {k} times'))
# Modifier phrases that do not read as a trailing adverbial ("... in bin A hurry").
NOT_TRAILING = frozenset({'take your time', 'hurry', 'light grip', 'gentle'})
NUMBER_WORDS = {2: 'two', 3: 'three', 4: 'four', 5: 'five', 8: 'eight', 10: 'ten'}
TIMES_WORDS = {2: 'twice', 3: 'three times', 4: 'four times'}
WORD_NUMBERS = 0.3  # share of numbers written as words (both splits)


def pick(rng: random.Random, table: tuple, skin: bool):
    """Return one entry of a (train, skin) table for the split."""
    return rng.choice(table[1 if skin else 0])


def number(rng: random.Random, n: int) -> str:
    """Return ``n`` as digits or, sometimes, as a word ("five")."""
    return NUMBER_WORDS[n] if n in NUMBER_WORDS and rng.random() < WORD_NUMBERS else str(n)


def repeat_text(rng: random.Random, text: str, times: int, skin: bool) -> str:
    """Return ``text`` repeated ``times`` ("... twice", "... 3 times", "..., repeated ...")."""
    if not skin and times in TIMES_WORDS and rng.random() < WORD_NUMBERS:
        return f'{text} {TIMES_WORDS[times]}'
    return pick(rng, REPEATS, skin).format(x=text, k=number(rng, times))


def atom_text(rng: random.Random, name: str, fill: dict, skin: bool, *,
              two_clauses: bool = True) -> str:
    """Return a clause for atom ``name``; ``fill`` holds the slot values.

    ``two_clauses``: a fetch may be written as pick + place joined by a pronoun. Not when a
    modifier follows, since a trailing modifier binds to the last clause alone.
    """
    _skill, frames, train, held = FRAMES[name]
    verb = rng.choice(held if skin else train)
    prep = 'to' if verb in TO_VERBS else rng.choice(('in', 'into'))
    if name == 'fetch' and two_clauses and rng.random() < 0.3:  # two clauses and a pronoun
        pick_verb = rng.choice(FRAMES['pick'][3 if skin else 2])
        frame = pick(rng, PRONOUN_FETCH, skin)
        return frame.format(pv=pick_verb, v=verb, p=prep, **fill)
    return rng.choice(frames).format(v=verb, p=prep, **fill)


def polite(rng: random.Random, text: str, skin: bool) -> str:
    """Wrap a whole request in a politeness frame; capitalise and end it (. or ?).

    A request that opens with a condition ("if ...") only takes a trailing frame.
    """
    frame = pick(rng, POLITE, skin)
    if text.startswith('if ') and not frame.startswith('{x}'):
        frame = '{x}'
    out = frame.format(x=text)
    out = out[0].upper() + out[1:]
    return out if out.endswith('?') else out + '.'


def modifier_phrases(words: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a lexicon modifier's words into (train, skin) phrases: alternate ones held out."""
    usable = [w for w in words if w not in NOT_TRAILING]
    return tuple(usable[0::2]), tuple(usable[1::2])


def _check_lexicon() -> None:
    """Fail at import when a verb above is not one the gate reads as its skill."""
    skills = load_schema('robot').lexicon.skills
    for name, (skill, _frames, train, held) in FRAMES.items():
        words = [w.split() for w in skills[skill].verbs]
        for verb in train + held:
            tokens = verb.split()
            if not any(tokens[i:i + len(w)] == w for w in words for i in range(len(tokens))):
                raise ValueError(f'synthesis verb {verb!r} of {name} is not in the robot '
                                 f'lexicon for {skill}: add it there or drop it here')


_check_lexicon()

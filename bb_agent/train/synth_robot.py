"""Synthetic robot traces: (instruction, world, gold DSL program, gold plan DAG).

Instructions compose *atoms* (fetch, pick, give, push, look, speak, pause, go home, go to)
with modifiers (slowly, quickly, gently) into sequences, conditionals, parallel blocks and
repeats; their wording is :mod:`bb_agent.train.synth_language`'s. *Skins* shift the
surface: held-out verbs and frames, synonyms, renamed objects and bins, distractors. Every gold
program is approved by the plan checker in its own world before it is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
import random

from bb_agent.core.schema import load_schema
from bb_agent.train.synth_language import FRAMES, atom_text, modifier_phrases, number
from bb_agent.train.synth_world import Scene

ATOMS = tuple(FRAMES)  # fetch, pick, give, push, look, speak, pause, home, goto

def _lexicon_tables() -> tuple[dict, dict]:
    """Return the modifiers and shape synonyms of the robot lexicon (the gate's)."""
    schema = load_schema('robot')
    lex = schema.lexicon
    units = {a: spec.unit for skill in schema.skills.values() for a, spec in skill.args.items()}
    modifiers = {name: (*modifier_phrases(m.words), f'{m.arg}={m.value:g} {units[m.arg]}')
                 for name, m in lex.modifiers.items()}
    synonyms = {kind: words[1] for kind, words in lex.kinds.items()
                if kind != 'bin' and len(words) > 1}
    return modifiers, synonyms


# word -> (train phrases, skin phrases, argument it sets); shape -> its skin synonym
MODIFIERS, SYNONYMS = _lexicon_tables()
MODIFIABLE = {'fetch': ('slowly', 'quickly', 'gently'), 'pick': ('slowly', 'gently'),
              'push': ('slowly', 'quickly', 'gently'),
              'give': ('slowly', 'gently'), 'goto': ('slowly', 'quickly'),
              'home': ('slowly', 'quickly')}
SINGLE_STEP = ('push', 'look', 'speak', 'pause', 'home', 'goto')  # may go in parallel/repeat
REGIONS = {'table': 'the table', 'bins': 'the bins', 'all': 'everything'}
DIRECTIONS = ('left', 'right', 'forward', 'back')
PHRASES = ('done', 'hello there', 'task complete', 'watch out', 'starting now', 'all clear')
# (atom, modifier) and (structure, atom) pairs that only the compositional split contains.
HELD_OUT = frozenset({('push', 'slowly'), ('fetch', 'quickly'), ('give', 'gently'),
                      ('repeat', 'push'), ('parallel', 'goto')})


@dataclass
class Atom:
    """One instruction clause and its program steps (calls without ids)."""

    name: str
    text: str
    calls: list[str]
    modifier: str | None = None


class ProgramWriter:
    """Numbers steps s1, s2, ... and writes statements with two-space indentation."""

    def __init__(self) -> None:
        self.count = 0
        self.lines: list[str] = []

    def steps(self, calls: list[str], depth: int) -> None:
        """Write one statement per call."""
        for call in calls:
            self.count += 1
            self.lines.append(f'{"  " * depth}s{self.count} = {call};')

    def open(self, head: str, depth: int) -> None:
        """Write ``head {``."""
        self.lines.append(f'{"  " * depth}{head} {{')

    def close(self, depth: int, tail: str = '') -> None:
        """Write ``}`` (plus an optional ``else {``)."""
        self.lines.append(f'{"  " * depth}}}{tail}')

    def text(self) -> str:
        """Return the program."""
        return '\n'.join(self.lines) + '\n'


def _call(skill: str, args: list[str]) -> str:
    return f'{skill}({", ".join(args)})'


def make_atom(rng: random.Random, name: str, scene: Scene, *, skin: bool,
              modifier: str | None = None) -> Atom:
    """Return an atom of kind ``name`` for ``scene`` (templates from the skin set if asked)."""
    obj = rng.choice(scene.objects)
    shape = SYNONYMS[obj.shape] if skin and rng.random() < 0.5 else obj.shape
    bin_id = rng.choice(sorted(scene.bins))
    n = rng.choice((2, 3, 5, 8, 10))
    fill = {'o': obj.phrase(shape), 'b': scene.bins[bin_id], 'd': rng.choice(DIRECTIONS),
            'n': n, 't': rng.choice(PHRASES), 'r': rng.choice(sorted(REGIONS))}
    text = atom_text(rng, name, {**fill, 'n': number(rng, n), 'r': REGIONS[fill['r']]}, skin,
                     two_clauses=modifier is None)
    motion: list[str] = []
    if modifier:
        motion.append(MODIFIERS[modifier][2])
        text += ' ' + rng.choice(MODIFIERS[modifier][1 if skin else 0])
    if scene.human and not any(a.startswith('speed=') for a in motion) and \
            name in ('fetch', 'pick', 'push', 'give', 'goto', 'home'):
        motion.append('speed=0.1 m/s')  # a human is near: the checker's speed limit
    speed = [a for a in motion if a.startswith('speed=')]
    force = [a for a in motion if a.startswith('force=')]
    o, b = obj.id, bin_id
    calls = {
        'fetch': lambda: [_call('pick', [f'object={o}'] + speed + force),
                          _call('place', [f'object={o}', f'target={b}'] + speed)],
        'pick': lambda: [_call('pick', [f'object={o}'] + speed + force)],
        'push': lambda: [_call('push', [f'object={o}', f'direction={fill["d"]}',
                                        f'distance={fill["n"]} cm'] + speed + force)],
        'give': lambda: [_call('pick', [f'object={o}'] + speed + force),
                         _call('hand_over', [f'object={o}'] + speed)],
        'look': lambda: [_call('scan', [f'region={fill["r"]}'])],
        'speak': lambda: [_call('say', [f'text="{fill["t"]}"'])],
        'pause': lambda: [_call('wait', [f'duration={fill["n"]} s'])],
        'home': lambda: [_call('home', speed)],
        'goto': lambda: [_call('move_to', [f'target={b}'] + speed)],
    }[name]()
    return Atom(name, text, calls, modifier)


def pick_atom_name(rng: random.Random, scene: Scene, pool: tuple[str, ...]) -> str:
    """Choose an atom kind the scene supports (``give`` needs a human)."""
    choices = [a for a in pool if a != 'give' or scene.human]
    return rng.choice(choices)


def pick_modifier(rng: random.Random, name: str, scene: Scene) -> str | None:
    """Choose a modifier for ``name`` (40% of modifiable atoms; never fast near a human)."""
    options = [m for m in MODIFIABLE.get(name, ()) if not (scene.human and m == 'quickly')]
    return rng.choice(options) if options and rng.random() < 0.4 else None

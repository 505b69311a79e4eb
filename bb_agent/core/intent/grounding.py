"""Which world objects a request's words pick out (ids, kinds, colours, sides, references).

A mention grounds the objects it fits: its kind (or a synonym), every colour it names, and
its side among objects of that kind ("the left bin": the one with the largest y, ROS's
left). A singular mention that fits several objects grounds none of them: it is ambiguous.
An object's id, written as words ("bin a", "red cup"), grounds it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bb_agent.core.intent.lexicon import Lexicon, tokens
from bb_agent.core.intent.request import Intent, Mention, parse_request
from bb_agent.core.world import World, WorldObject

IGNORED_KINDS = ('human', 'obstacle', 'table')


@dataclass
class Grounded:
    """What a request (and, for references, its session) grounds in a world."""

    objects: set[str] = field(default_factory=set)  # ids the request asks to act on
    negated: set[str] = field(default_factory=set)  # ids it asks not to touch
    named: list[tuple[Mention, str]] = field(default_factory=list)  # unique mentions -> id
    ambiguous: list[tuple[Mention, list[str]]] = field(default_factory=list)


def actionable(world: World) -> list[WorldObject]:
    """Objects and bins a plan may act on (not humans, obstacles or the table)."""
    return [o for o in world.objects if o.kind not in IGNORED_KINDS]


def words_of(obj: WorldObject) -> set[str]:
    """Return the words that describe ``obj``: its id's parts, its kind and attribute values."""
    words = set(obj.id.lower().split('_')) | {obj.kind.lower()}
    words |= {str(v).lower() for v in obj.attributes.values() if isinstance(v, str)}
    return words


def fits(mention: Mention, obj: WorldObject, lex: Lexicon, names: set[str] = frozenset()
         ) -> bool:
    """Return True when ``obj`` is of the mention's kind and has every adjective it names.

    ``names`` are the words of every object's id in the world: a noun that is one of them
    ("tray", "cup") must be in the object's own words; any other noun ("mug") goes by kind.
    """
    described = words_of(obj)
    noun = mention.word.rstrip('s') if mention.word not in described else mention.word
    if mention.label and mention.label not in described:
        return False
    if noun and (noun in names or mention.word in names):
        if noun not in described and mention.word not in described:
            return False
    elif mention.kind is not None:
        kind = lex.kind_words.get(obj.kind, obj.kind)
        if mention.kind != kind and mention.kind not in described:
            return False
    known = [a for a in mention.adjectives if a in lex.colours or a in _attribute_words(obj)]
    if mention.kind is None and not known:
        return False  # "the heavy one" names nothing we can see
    return all(a in described or (a == 'gray' and 'grey' in described) or
               (a == 'grey' and 'gray' in described) for a in known)


def _attribute_words(obj: WorldObject) -> set[str]:
    return {str(v).lower() for v in obj.attributes.values() if isinstance(v, str)}


def resolve(mention: Mention, world: World, lex: Lexicon) -> list[str]:
    """Return the ids ``mention`` fits (the side picks one among several)."""
    objects = actionable(world)
    names = {w for o in objects for w in o.id.lower().split('_')}
    found = [o for o in objects if fits(mention, o, lex, names)]
    if mention.side and len(found) > 1:
        y = [o.position[1] for o in found]
        best = max(y) if mention.side == 'left' else min(y)
        found = [o for o in found if o.position[1] == best]
    return [o.id for o in found]


def id_mentions(intent: Intent, world: World) -> set[str]:
    """Return the ids written in the request (as ``red_cup`` or as words, "bin a")."""
    text = intent.text.lower()
    words = intent.words
    out = set()
    for obj in actionable(world):
        parts = tokens(obj.id.replace('_', ' '))
        if obj.id.lower() in text or any(words[i:i + len(parts)] == parts
                                         for i in range(len(words))):
            if len(parts) > 1 or parts[0] not in ('bin', 'box', 'one'):
                out.add(obj.id)
    return out


def ground(intent: Intent, world: World, lex: Lexicon, history: list[str] = ()) -> Grounded:
    """Return what ``intent`` grounds in ``world``; references resolve into ``history``."""
    g = Grounded()
    g.objects |= id_mentions(intent, world)
    for m in intent.mentions:
        ids = resolve(m, world, lex)
        if m.negated:
            g.negated |= set(ids)
            continue
        if len(ids) == 1 or (m.plural and ids):
            g.objects |= set(ids)
            if len(ids) == 1:
                g.named.append((m, ids[0]))
        elif len(ids) > 1:
            g.ambiguous.append((m, ids))
    g.objects -= g.negated
    if intent.everything:
        g.objects |= {o.id for o in actionable(world)} - g.negated
    if intent.pronoun or intent.correction:
        for earlier in reversed(list(history)):
            before = parse_request(earlier, lex)
            found = ground(before, world, lex)
            if found.objects:
                if intent.correction:  # "no, the blue one" replaces the object, "I meant
                    # bin B" the bin: what the correction names replaces its like
                    said = {m.kind == 'bin' for m in intent.mentions} | {
                        getattr(world.object(i), 'kind', '') == 'bin' for i in g.objects}
                    found.objects = {i for i in found.objects
                                     if (getattr(world.object(i), 'kind', '') == 'bin')
                                     not in said}
                g.objects |= found.objects - g.negated
                break
    return g

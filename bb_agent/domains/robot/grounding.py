"""Does a robot request say which objects it means? The builder defers when it does not.

The playbook's deferral triggers include ambiguous intent and insufficient context. For the
robot domain they are checked against the live world before any plan is used:

- a mentioned shape ("cup") with a colour ("purple cup") that matches no object;
- a mentioned shape that matches several objects and no colour picks one;
- only vague references ("the thing", "that stuff", "the usual") and no object at all.

The answer is a clarification question naming what the world holds.
"""

from __future__ import annotations

import re

from bb_agent.core.world import World

VAGUE = frozenset({'thing', 'things', 'stuff', 'usual', 'whatever', 'somehow', 'something',
                   'it', 'them', 'that', 'those'})
COLOURS = frozenset({'red', 'blue', 'green', 'yellow', 'orange', 'white', 'black', 'purple',
                     'pink', 'grey', 'gray', 'brown'})
SHAPE_SYNONYMS = {'mug': 'cup', 'cube': 'block', 'sphere': 'ball', 'tin': 'can'}
# Shape words that are also common verbs ("as fast as you can", "can you ..."): a noun only
# after a determiner, a colour or a number.
AMBIGUOUS = frozenset({'can', 'cans'})
DETERMINERS = frozenset({'the', 'a', 'an', 'that', 'this', 'these', 'those', 'my', 'your',
                         'our', 'each', 'every', 'one', 'two', 'three', 'some', 'any'})


def _objects(world: World) -> list:
    return [o for o in world.objects if o.kind not in ('bin', 'human', 'obstacle', 'table')]


def grounding_question(request: str, world: World) -> str | None:
    """Return a clarification question when ``request`` does not pin its objects down."""
    words = re.findall(r'[a-z]+', request.lower())
    objects = _objects(world)
    kinds = {o.kind for o in objects} | {'jar', 'brick', 'bottle', 'can', 'cup', 'block',
                                         'ball'}
    names = ', '.join(o.id.replace('_', ' ') for o in objects) or 'nothing'
    mentioned = False
    for i, word in enumerate(words):
        shape = SHAPE_SYNONYMS.get(word.rstrip('s'), word.rstrip('s'))
        if shape not in kinds:
            continue
        before = words[i - 1] if i else ''
        if word in AMBIGUOUS and not (before in DETERMINERS or before in COLOURS):
            continue  # the verb
        mentioned = True
        colour = words[i - 1] if i and words[i - 1] in COLOURS else None
        matches = [o for o in objects if o.kind == shape and
                   (colour is None or o.attributes.get('color') == colour)]
        if not matches:
            what = f'{colour} {shape}' if colour else shape
            return f'I do not see a {what}. I can see: {names}. Which one do you mean?'
        if len(matches) > 1 and colour is None:
            options = ' or '.join(o.id.replace('_', ' ') for o in matches)
            return f'Which {shape} do you mean: {options}?'
    if not mentioned and VAGUE & set(words):
        return f'I can see: {names}. What should I do, and with which object?'
    return None

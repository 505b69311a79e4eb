"""Does a robot request say which objects it means? The builder defers when it does not.

The playbook's deferral triggers include ambiguous intent and insufficient context. For the
robot domain they are checked against the live world before any plan is used:

- a mention ("purple cup", "the crate") that fits no object;
- a singular mention that fits several objects when nothing (colour, side, label) picks one;
- only vague words ("the thing", "that stuff", "the usual") and no object at all.

The answer is a clarification question naming what the world holds. Mentions are read by
:mod:`bb_agent.core.intent` with the schema's lexicon, as the conformance gate reads them.
"""

from __future__ import annotations

from bb_agent.core.intent.grounding import actionable, resolve
from bb_agent.core.intent.request import parse_request
from bb_agent.core.schema import DomainSchema, load_schema
from bb_agent.core.world import World

VAGUE = frozenset({'thing', 'things', 'stuff', 'usual', 'whatever', 'somehow', 'something'})


def grounding_question(request: str, world: World, schema: DomainSchema | None = None
                       ) -> str | None:
    """Return a clarification question when ``request`` does not pin its objects down."""
    schema = schema or load_schema('robot')
    intent = parse_request(request, schema.lexicon)
    objects = [o for o in actionable(world) if o.kind != 'bin']
    names = ', '.join(o.id.replace('_', ' ') for o in objects) or 'nothing'
    colours = set(schema.lexicon.colours)
    # "the usual thing" names nothing: a mention needs a kind or a colour to be one
    specific = [m for m in intent.mentions if m.kind or colours & set(m.adjectives)]
    for m in specific:
        if m.negated:
            continue
        ids = resolve(m, world, schema.lexicon)
        noun = m.word.rstrip('s') if m.plural else m.word
        what = ' '.join([*m.adjectives, noun or 'one'] + ([m.label] if m.label else []))
        if not ids:
            return f'I do not see a {what}. I can see: {names}. Which one do you mean?'
        if len(ids) > 1 and not m.plural:
            options = ' or '.join(i.replace('_', ' ') for i in ids)
            return f'Which {what} do you mean: {options}?'
    if not specific and VAGUE & set(intent.words):
        return f'I can see: {names}. What should I do, and with which object?'
    return None

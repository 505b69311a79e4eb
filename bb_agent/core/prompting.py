"""The prompt the builder model is conditioned on: one format for training and runtime.

Layout: the context, a newline, then ``instruction: <request>`` (just the request when
there is no context).
For the robot domain the context is a one-line world summary, for example
``objects: red_cup blue_block; bins: bin_a tray; human: none``; it names what a program
may refer to. Training data and the runtime both build it here, so they never drift.
"""

from __future__ import annotations

from bb_agent.core.world import World

PLACED_KINDS = ('bin',)  # objects that are targets, listed under ``bins``
IGNORED_KINDS = ('human', 'obstacle', 'table')  # never named as objects to act on


def prompt_text(request: str, context: str = '') -> str:
    """Return the model's prompt for ``request`` in ``context``."""
    return f'{context}\ninstruction: {request}' if context else request


def world_context(world: World) -> str:
    """Return the world summary line (objects, bins, whether a human is near)."""
    objects = ' '.join(o.id for o in world.objects
                       if o.kind not in PLACED_KINDS + IGNORED_KINDS)
    bins = ' '.join(o.id for o in world.objects if o.kind in PLACED_KINDS)
    return f'objects: {objects}; bins: {bins}; human: {"near" if world.humans() else "none"}'


def world_symbols(world: World, enum_values: list[str]) -> list[str]:
    """Return the symbols a plan in ``world`` may name: object and bin ids, enum members."""
    return sorted({o.id for o in world.objects if o.kind not in IGNORED_KINDS}
                  | set(enum_values))

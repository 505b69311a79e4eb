"""Random tabletop worlds for data synthesis: objects (colour, shape, size), bins, a human.

Object ids are ``<colour>_<shape>``; bins have fixed ids. A *skin* world renames bins and
uses colours and shapes never seen in training (the skin-shift split).
"""

from __future__ import annotations

from dataclasses import dataclass
import random

from bb_agent.core.prompting import world_context
from bb_agent.core.world import World, world_from_dict

COLOURS = ('red', 'blue', 'green', 'yellow', 'orange', 'white', 'black')
SKIN_COLOURS = ('purple', 'pink', 'grey')
SHAPES = ('cup', 'block', 'ball', 'can', 'bottle')
SKIN_SHAPES = ('jar', 'brick')
SIZES = {'small': 0.04, 'medium': 0.06, 'large': 0.09}  # bounding-box edge, metres
# bin id -> how instructions name it
BINS = {'bin_a': 'bin A', 'bin_b': 'bin B', 'tray': 'the tray'}
SKIN_BINS = {'crate_d': 'crate D', 'basket': 'the basket', 'box_e': 'box E'}
BIN_SLOTS = ((0.30, 0.40), (0.30, -0.40), (0.60, 0.0))  # bin centres (x, y), metres


@dataclass(frozen=True)
class SceneObject:
    """An object the instructions can name."""

    id: str
    colour: str
    shape: str
    size: str

    def phrase(self, shape_word: str | None = None) -> str:
        """Return e.g. ``red cup`` (``shape_word`` replaces the shape: a synonym)."""
        return f'{self.colour} {shape_word or self.shape}'


@dataclass(frozen=True)
class Scene:
    """A world plus what instructions may refer to."""

    world: World
    objects: tuple[SceneObject, ...]
    bins: dict[str, str]  # id -> phrase
    human: bool

    def context(self) -> str:
        """Return the compact world summary the model sees before the instruction."""
        return world_context(self.world)


def random_scene(rng: random.Random, *, skin: bool = False, human: bool | None = None,
                 n_objects: tuple[int, int] = (2, 4)) -> Scene:
    """Return a random scene (deterministic for a seeded ``rng``).

    Args:
        rng: the random source.
        skin: use unseen colours, shapes and bin names (skin-shift split).
        human: force a human in (True) or out (False); None = 30% chance.
        n_objects: inclusive range of graspable objects.
    """
    colours = SKIN_COLOURS + COLOURS[:3] if skin else COLOURS
    shapes = SKIN_SHAPES + SHAPES[:2] if skin else SHAPES
    ids, objects, count = set(), [], rng.randint(*n_objects)
    while len(objects) < count:
        colour, shape = rng.choice(colours), rng.choice(shapes)
        if f'{colour}_{shape}' in ids:
            continue
        ids.add(f'{colour}_{shape}')
        objects.append(SceneObject(f'{colour}_{shape}', colour, shape,
                                   rng.choice(tuple(SIZES))))
    bins = dict(rng.sample(sorted((SKIN_BINS if skin else BINS).items()), 2))
    human = rng.random() < 0.3 if human is None else human
    entries = []
    for obj in objects:  # graspable objects on the table, inside reach
        edge = SIZES[obj.size]
        entries.append({'id': obj.id, 'kind': obj.shape,
                        'position': [round(rng.uniform(0.35, 0.6), 3),
                                     round(rng.uniform(-0.25, 0.25), 3), edge / 2],
                        'size': [edge] * 3, 'attributes': {'color': obj.colour}})
    for (bin_id, _), (x, y) in zip(bins.items(), BIN_SLOTS, strict=False):
        entries.append({'id': bin_id, 'kind': 'bin', 'position': [x, y, 0.05],
                        'size': [0.2, 0.2, 0.1]})
    if human:  # in the workspace (so human_near holds), clear of every target
        entries.append({'id': 'person', 'kind': 'human', 'position': [0.85, 0.5, 0.4],
                        'size': [0.5, 0.5, 1.8]})
    world = world_from_dict({'objects': entries,
                             'facts': ['gripper_empty', 'gripper_ok', 'suction_ready']},
                            source='synthetic world')
    return Scene(world, tuple(objects), bins, human)

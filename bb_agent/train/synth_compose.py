"""Composes atoms into whole robot examples and draws the splits.

Structures: single atoms, sequences, conditionals, parallel blocks and repeats. The splits:
iid train/val/test (no held-out combination), a compositional test (every example holds at
least one combination from :data:`~bb_agent.train.synth_robot.HELD_OUT`), and a skin-shift
test (skin templates, synonyms, unseen names, distractors, reordered clauses).
"""

from __future__ import annotations

import random

from bb_agent.core.check.checker import check_plan
from bb_agent.core.check.plan_graph import build_graph
from bb_agent.core.dsl.parser import parse_program
from bb_agent.core.schema import DomainSchema
from bb_agent.train.synth_language import (
    CONNECTORS,
    DISTRACTORS,
    REVERSED,
    TOGETHER,
    pick,
    polite,
    repeat_text,
)
from bb_agent.train.synth_robot import (
    ATOMS,
    HELD_OUT,
    SINGLE_STEP,
    ProgramWriter,
    make_atom,
    pick_atom_name,
    pick_modifier,
)
from bb_agent.train.synth_world import Scene, random_scene

STRUCTURES = ('single', 'single', 'parallel', 'repeat', 'conditional')
RESOURCE = {'push': 'arm', 'home': 'arm', 'goto': 'arm', 'look': 'camera',
            'speak': 'speaker', 'pause': 'none'}


def _block(rng: random.Random, scene: Scene, skin: bool, w: ProgramWriter, depth: int,
           combos: set) -> str:
    """Write one block at ``depth``; return its instruction text; record its combinations."""
    kind = rng.choice(STRUCTURES)
    if kind == 'single':
        name = pick_atom_name(rng, scene, ATOMS)
        atom = make_atom(rng, name, scene, skin=skin, modifier=pick_modifier(rng, name, scene))
        combos.add((atom.name, atom.modifier))
        w.steps(atom.calls, depth)
        return atom.text
    if kind == 'parallel':
        first = make_atom(rng, rng.choice(('speak', 'look')), scene, skin=skin)
        others = [a for a in SINGLE_STEP if RESOURCE[a] != RESOURCE[first.name]]
        second = make_atom(rng, rng.choice(others), scene, skin=skin)
        combos.update({('parallel', first.name), ('parallel', second.name)})
        w.open('parallel', depth)
        w.steps(first.calls + second.calls, depth + 1)
        w.close(depth)
        return first.text + pick(rng, TOGETHER, skin) + second.text
    if kind == 'repeat':
        atom = make_atom(rng, rng.choice(('look', 'speak', 'pause', 'push')), scene, skin=skin)
        times = rng.randint(2, 4)
        combos.add(('repeat', atom.name))
        w.open(f'repeat {times}', depth)
        w.steps(atom.calls, depth + 1)
        w.close(depth)
        return repeat_text(rng, atom.text, times, skin)
    return _conditional(rng, scene, skin, w, depth, combos)


def _conditional(rng, scene: Scene, skin: bool, w: ProgramWriter, depth: int, combos) -> str:
    obj = rng.choice(scene.objects)
    bin_id = rng.choice(sorted(scene.bins))
    speed = ['speed=0.1 m/s'] if scene.human else []
    alt = make_atom(rng, rng.choice(('look', 'speak', 'home')), scene, skin=skin)
    combos.add(('conditional', alt.name))
    if rng.random() < 0.5:
        w.open(f'if holding({obj.id})', depth)
        w.steps([f'place({", ".join([f"object={obj.id}", f"target={bin_id}"] + speed)})'],
                depth + 1)
        lead = f'if you are holding the {obj.phrase()}, put it in {scene.bins[bin_id]}'
    else:
        fetch = make_atom(rng, 'fetch', scene, skin=skin)
        w.open('if gripper_empty', depth)
        w.steps(fetch.calls, depth + 1)
        lead = f'if your gripper is empty, {fetch.text}'
        combos.add(('conditional', 'fetch'))
    w.close(depth, ' else {')
    w.steps(alt.calls, depth + 1)
    w.close(depth)
    return f'{lead}; otherwise {alt.text}'


def compose(rng: random.Random, scene: Scene, *, skin: bool) -> tuple[str, str, set]:
    """Return (instruction, program, combinations) for one example."""
    w, combos = ProgramWriter(), set()
    n_blocks = rng.choice((1, 1, 2, 2, 3))
    texts = [_block(rng, scene, skin, w, 0, combos) for _ in range(n_blocks)]
    if n_blocks == 2 and rng.random() < (0.5 if skin else 0.15):
        text = texts[1] + pick(rng, REVERSED, skin) + texts[0]  # reordered, same program
    else:
        text = texts[0]
        for t in texts[1:]:
            text += pick(rng, CONNECTORS, skin) + t
    text = polite(rng, text, skin)
    if rng.random() < (0.5 if skin else 0.1):
        text = f'{pick(rng, DISTRACTORS, skin)} {text}'
    return text, w.text(), combos


def plan_dag(program: str, schema: DomainSchema) -> dict:
    """Return the gold plan DAG over the program's statement lines.

    ``nodes[i]`` is the skill (or ``if``) written on output line ``lines[i]`` (0-based);
    ``edges`` are (node, dependency) index pairs, dependency earlier. Unrolled repeat copies
    share their line, so the DAG is the plan as written.
    """
    graph = build_graph(parse_program(program), max_nodes=schema.max_nodes)
    lines = sorted({n.line for n in graph.nodes})
    index = {line: i for i, line in enumerate(lines)}
    skill = {}
    for n in graph.nodes:
        skill.setdefault(n.line, n.skill)
    edges = sorted({(index[n.line], index[graph.node(d).line]) for n in graph.nodes
                    for d in n.depends_on if index[graph.node(d).line] < index[n.line]})
    return {'nodes': [skill[line] for line in lines], 'edges': [list(e) for e in edges],
            'lines': [line - 1 for line in lines]}


def make_example(rng: random.Random, schema: DomainSchema, *, split: str,
                 max_tries: int = 400) -> tuple[dict, int]:
    """Return (example, rejected drafts) for ``split`` (train, val*, test*)."""
    skin = split == 'test_skin'
    rejected = 0
    for _ in range(max_tries):
        scene = random_scene(rng, skin=skin)
        text, program, combos = compose(rng, scene, skin=skin)
        held = bool(combos & HELD_OUT)
        if held != split.endswith('compositional'):
            continue
        if not check_plan(program, schema, scene.world).approved:
            rejected += 1
            continue
        return ({'input': text, 'context': scene.context(), 'output': program,
                 'graph': plan_dag(program, schema),
                 'world': scene.world.model_dump(mode='json'),
                 'combos': sorted('+'.join(str(x) for x in c) for c in combos)}, rejected)
    raise RuntimeError(f'no {split} example after {max_tries} drafts')


"""A SCAN-shaped command -> action data set in our trace format, for ``bb-agent train --data``.

The shape of a user's own public data set (issue 17): every command of the SCAN phrase
grammar (Lake and Baroni, 2018: 20,910 commands such as "jump around left twice after walk
opposite right") with its action sequence, split 80/20 at random (the "simple" split;
500 of the 80% are validation), plus a grammar for the action language. Written from the
published grammar's definition, not from its files: the data are the grammar's closure.

    .venv/bin/python -m bench.scan_data OUT_DIR
    bb-agent train --data OUT_DIR --grammar OUT_DIR/actions.lark --out CKPT
    bb-agent eval CKPT --data OUT_DIR --parts splits
"""

from __future__ import annotations

from collections.abc import Iterator
import itertools
import json
from pathlib import Path
import random
import sys

PRIMITIVES = {'walk': 'I_WALK', 'look': 'I_LOOK', 'run': 'I_RUN', 'jump': 'I_JUMP'}
TURNS = {'left': 'I_TURN_LEFT', 'right': 'I_TURN_RIGHT'}
GRAMMAR = ('start: action (" " action)*\n'
           'action: ' + ' | '.join(f'"{a}"' for a in (*PRIMITIVES.values(), *TURNS.values()))
           + '\n')
VAL_ROWS = 500


def verb_phrases() -> Iterator[tuple[str, list[str]]]:
    """Yield (words, actions) for every V: U, turn D, U D, opposite and around forms."""
    for word, act in PRIMITIVES.items():
        yield word, [act]
    for side, turn in TURNS.items():
        yield f'turn {side}', [turn]
        yield f'turn opposite {side}', [turn] * 2
        yield f'turn around {side}', [turn] * 4
        for word, act in PRIMITIVES.items():
            yield f'{word} {side}', [turn, act]
            yield f'{word} opposite {side}', [turn, turn, act]
            yield f'{word} around {side}', [turn, act] * 4


def commands() -> Iterator[tuple[str, list[str]]]:
    """Yield every command: S, S and S (in order), S after S (second first)."""
    simple = [(f'{v}{suffix}', acts * times) for v, acts in verb_phrases()
              for suffix, times in (('', 1), (' twice', 2), (' thrice', 3))]
    yield from simple
    for (x, a), (y, b) in itertools.product(simple, simple):
        yield f'{x} and {y}', a + b
        yield f'{x} after {y}', b + a


def write(out: Path, seed: int = 0) -> dict[str, int]:
    """Write train/val/test JSONL and ``actions.lark`` into ``out``; return split sizes."""
    rows = [{'input': c, 'output': ' '.join(a)} for c, a in commands()]
    random.Random(seed).shuffle(rows)
    cut = len(rows) // 5
    splits = {'test': rows[:cut], 'val': rows[cut:cut + VAL_ROWS], 'train': rows[cut + VAL_ROWS:]}
    out.mkdir(parents=True, exist_ok=True)
    for name, part in splits.items():
        (out / f'{name}.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in part))
    (out / 'actions.lark').write_text(GRAMMAR)
    return {name: len(part) for name, part in splits.items()}


if __name__ == '__main__':
    print(json.dumps(write(Path(sys.argv[1]))))

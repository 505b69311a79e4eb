"""Deterministic, valid robot plans of a requested size for the checker benchmark."""

from __future__ import annotations

import random

OBJECTS = ('red_cup', 'blue_block', 'green_ball')
BINS = ('bin_a', 'bin_b')


def plan_text(nodes: int, seed: int = 0) -> str:
    """Return a valid plan of exactly ``nodes`` graph nodes over the tabletop world.

    Mixes pick/place pairs, conditionals, parallel speech and scanning, and waits.
    """
    rng = random.Random(seed)
    lines: list[str] = []
    count, step = 0, 0

    def sid() -> str:
        nonlocal step
        step += 1
        return f's{step}'

    while count < nodes:
        left = nodes - count
        kind = rng.choice(['pair', 'pair', 'if', 'par', 'wait']) if left >= 4 else 'wait'
        obj, target = rng.choice(OBJECTS), rng.choice(BINS)
        if kind == 'pair':
            lines += [f'{sid()} = pick(object={obj}, speed=0.2 m/s);',
                      f'{sid()} = place(object={obj}, target={target}) @retries(1);']
            count += 2
        elif kind == 'if':  # branch node + one node per side
            lines += [f'if holding({obj}) {{ {sid()} = release(object={obj}); }}',
                      f'else {{ {sid()} = scan(region=table); }}']
            count += 3
        elif kind == 'par':
            lines += [f'parallel {{ {sid()} = say(text="step {step}"); '
                      f'{sid()} = scan(region=all); }}']
            count += 2
        else:
            lines.append(f'{sid()} = wait(duration=10 ms);')
            count += 1
    return '\n'.join(lines) + '\n'

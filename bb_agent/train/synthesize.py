"""Writes the synthetic corpus: one trace-format folder per domain plus data cards.

Layout of ``OUT``::

    robot/     train val val_compositional test_iid test_compositional test_skin (.jsonl),
               data_card.json
    api_json/  train val test_iid test_skin, data_card.json      (likewise phone/, social/)

Deterministic: the same seed and sizes give byte-identical files (the card lists their
SHA-256).
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import random

import lark

from bb_agent.core.dsl.grammar import load_grammar
from bb_agent.core.schema import load_schema
from bb_agent.train.dataset import write_split
from bb_agent.train.synth_compose import make_example
from bb_agent.train.synth_domains import GENERATORS
from bb_agent.train.synth_robot import HELD_OUT

GENERATOR_VERSION = 1
SPLIT_RULES = {
    'train': 'fresh worlds, train templates and names; no held-out combination',
    'val': 'as train, separate draws',
    'val_compositional': 'as test_compositional, separate draws (selects alpha lifts)',
    'test_iid': 'as train, separate draws',
    'test_compositional': 'train templates and names; every example holds at least one '
                          'held-out (atom, modifier) or (structure, atom) combination',
    'test_skin': 'held-out templates and modifier phrases, synonyms, unseen colours, shapes '
                 'and bin names, distractor sentences, reordered clauses; no held-out '
                 'combination',
}


@dataclass(frozen=True)
class Sizes:
    """Examples per split (robot) and per split of each smaller domain."""

    train: int = 8000
    val: int = 300
    test: int = 300
    other_train: int = 600
    other_test: int = 100


def _card(seed: int, counts: dict, hashes: dict, extra: dict) -> dict:
    return {'generator': 'bb_agent.train.synthesize', 'version': GENERATOR_VERSION,
            'seed': seed, 'counts': counts, 'sha256': hashes, **extra}


def synth_robot(out: Path, seed: int, sizes: Sizes) -> dict:
    """Write the robot splits and card; return the card."""
    schema = load_schema('robot')
    out.mkdir(parents=True, exist_ok=True)
    counts, hashes, rejected = {}, {}, {}
    plan = {'train': sizes.train, 'val': sizes.val, 'val_compositional': sizes.val,
            'test_iid': sizes.test,
            'test_compositional': sizes.test, 'test_skin': sizes.test}
    for index, (split, n) in enumerate(plan.items()):
        rng = random.Random(f'{seed}:{index}:{split}')
        rows, drafts = [], 0
        for _ in range(n):
            row, r = make_example(rng, schema, split=split)
            rows.append(row)
            drafts += r
        counts[split], rejected[split] = len(rows), drafts
        hashes[split] = write_split(out, split, rows)
    card = _card(seed, counts, hashes, {
        'domain': 'robot', 'grammar': 'robot_dsl', 'splits': SPLIT_RULES,
        'held_out_combinations': sorted('+'.join(c) for c in HELD_OUT),
        'rejected_by_checker': rejected,
        'note': 'every gold program is approved by the plan checker in its world'})
    write_card(out, card)
    return card


def synth_other(out: Path, domain: str, seed: int, sizes: Sizes) -> dict:
    """Write one of the smaller domains; every output parses with its grammar."""
    grammar_name, make = GENERATORS[domain]
    parser = lark.Lark(load_grammar(grammar_name).text, parser='lalr')
    out.mkdir(parents=True, exist_ok=True)
    counts, hashes = {}, {}
    plan = {'train': sizes.other_train, 'val': sizes.other_test, 'test_iid': sizes.other_test,
            'test_skin': sizes.other_test}
    for index, (split, n) in enumerate(plan.items()):
        rng = random.Random(f'{seed}:{domain}:{index}')
        rows = [make(rng, split == 'test_skin') for _ in range(n)]
        for row in rows:
            parser.parse(row['output'])  # a generator bug fails loudly here
        counts[split] = n
        hashes[split] = write_split(out, split, rows)
    card = _card(seed, counts, hashes, {'domain': domain, 'grammar': grammar_name,
                                        'splits': {k: SPLIT_RULES[k] for k in plan}})
    write_card(out, card)
    return card


def write_card(folder: Path, card: dict) -> None:
    """Write ``data_card.json`` (sorted keys, so equal cards are equal files)."""
    (folder / 'data_card.json').write_text(json.dumps(card, indent=2, sort_keys=True) + '\n')


def synthesize(out: str | Path, *, seed: int = 0, sizes: Sizes = Sizes(),
               domains: tuple[str, ...] = ('robot', 'api_json', 'phone', 'social')
               ) -> dict[str, dict]:
    """Write every domain's data set under ``out``; return the cards by domain."""
    out = Path(out)
    cards = {}
    for domain in domains:
        cards[domain] = synth_robot(out / domain, seed, sizes) if domain == 'robot' else \
            synth_other(out / domain, domain, seed, sizes)
    return cards

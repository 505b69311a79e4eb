"""Write the promotion gate's split sample, ``config/gate/splits.jsonl`` (offline, once).

The gate (:mod:`bb_agent.safety.promote`) runs at run time and never imports training code,
so the synthesised test splits it scores both models on are a committed sample: ``--per``
rows of each test split (iid, compositional, skin) drawn by the generator at ``--seed``.
Each row keeps its request, gold program, world and split. Rerun after a generator change:

    python -m bb_agent.train.gate_data --out config/gate/splits.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import tempfile

from bb_agent.train.synthesize import Sizes, synthesize

SPLITS = ('test_iid', 'test_compositional', 'test_skin')


def write_sample(out: Path, *, per: int = 30, seed: int = 0) -> int:
    """Write ``per`` rows of each test split to ``out``; return the number of rows."""
    with tempfile.TemporaryDirectory() as tmp:
        synthesize(tmp, seed=seed, sizes=Sizes(train=10, val=10, test=per),
                   domains=('robot',))
        rows = []
        for split in SPLITS:
            for line in (Path(tmp) / 'robot' / f'{split}.jsonl').read_text().splitlines():
                raw = json.loads(line)
                rows.append({'split': split, 'input': raw['input'], 'output': raw['output'],
                             'world': raw['world']})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(''.join(json.dumps(r, sort_keys=True) + '\n' for r in rows))
    return len(rows)


def main(argv=None) -> int:
    """Command line: see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', type=Path, default=Path('config/gate/splits.jsonl'))
    ap.add_argument('--per', type=int, default=30, help='rows per test split')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args(argv)
    print(f'{write_sample(args.out, per=args.per, seed=args.seed)} rows -> {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

"""``bb-agent bench NAME --out FILE.json``: run a benchmark from ``bench/`` (source checkout).

Benchmarks are developer tools: they live in the repository's ``bench/`` folder, not in the
installed package, and are never run as timed tests.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
import sys

from bb_agent.core.outcomes import BBError, ErrorCode

BENCHMARKS = ('checker', 'soundness', 'decode', 'runtime', 'stale', 'http', 'doors', 'tiers',
              'learn')


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench`` sub-command."""
    parser = subparsers.add_parser('bench', help='run a benchmark and write its JSON result')
    parser.add_argument('name', choices=BENCHMARKS, help='which benchmark')
    parser.add_argument('--out', type=Path, required=True, help='result JSON file')
    parser.add_argument('--repeats', type=int, default=300,
                        help='timed calls per case (scaled down for large plans)')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, write the JSON, print it."""
    from bb_agent.core.resources import share_dir
    share = share_dir()
    if share.route != 'checkout' or not (share.path / 'bench').is_dir():
        raise BBError(ErrorCode.INVALID_REQUEST,
                      'benchmarks run from a source checkout (bench/ not found)')
    if args.repeats < 1:
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'--repeats must be >= 1, got {args.repeats}')
    sys.path.insert(0, str(share.path))
    module = importlib.import_module(f'bench.{args.name}')
    result = module.run(repeats=args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))
    return 0

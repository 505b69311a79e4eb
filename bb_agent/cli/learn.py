"""``bb-agent learn``: a candidate from the run ledger, adapters only (offline)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register_learn(subparsers: argparse._SubParsersAction) -> None:
    """Add ``learn``: train the skill adapters and routers on the ledger's examples."""
    parser = subparsers.add_parser(
        'learn', help='train a candidate (skill adapters and routers only) on the run '
                      "ledger's executed and corrected requests; promote it through the gate")
    parser.add_argument('--ledger', type=Path, required=True, help='the run ledger (JSONL)')
    parser.add_argument('--model', type=Path, default=None,
                        help='the checkpoint to start from (default: the shipped model)')
    parser.add_argument('--out', type=Path, required=True, help='the candidate folder (new)')
    parser.add_argument('--steps', type=int, default=60, help='optimiser steps')
    parser.add_argument('--lr', type=float, default=3e-3, help='learning rate')
    parser.add_argument('--birth-cap', type=int, default=1,
                        help='most new skills per block in this run')
    parser.add_argument('--threads', type=int, default=1, help='torch threads')
    parser.set_defaults(func=_learn)


def _learn(args: argparse.Namespace) -> int:
    import time

    import torch

    from bb_agent.model.checkpoint import default_model_dir
    from bb_agent.train.learn import LearnConfig, examples_from_ledger, learn
    torch.set_num_threads(args.threads)
    examples = examples_from_ledger(args.ledger)
    print(f'{len(examples)} learnable examples in {args.ledger}')
    start = time.monotonic()
    report = learn(args.model or default_model_dir(), examples, args.out,
                   LearnConfig(steps=args.steps, lr=args.lr, birth_cap=args.birth_cap))
    print(json.dumps({**report.__dict__, 'seconds': round(time.monotonic() - start, 1),
                      'candidate': str(args.out),
                      'next': f'bb-agent promote {args.out}'}, indent=2, default=str))
    return 0

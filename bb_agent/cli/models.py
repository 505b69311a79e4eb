"""``bb-agent promote`` and ``bb-agent rollback``: the running builder's model, changed safely."""

from __future__ import annotations

import argparse
import json


def register_promote(subparsers: argparse._SubParsersAction) -> None:
    """Add ``promote``: run the gate on a candidate; on PROMOTE the builder serves it."""
    parser = subparsers.add_parser('promote', help='run the promotion gate on a checkpoint '
                                                   '(the running builder serves it on PROMOTE)')
    parser.add_argument('candidate', help='the candidate checkpoint folder')
    parser.add_argument('--baseline', default='', help='compare with this checkpoint '
                                                       '(default: the active model)')
    parser.add_argument('--dry-run', action='store_true', help='decide, but switch nothing')
    parser.add_argument('--timeout', type=float, default=1800.0, help='seconds to wait')
    parser.set_defaults(func=_promote)


def _promote(args: argparse.Namespace) -> int:
    from bb_agent.clients.models import promote
    result = promote(args.candidate, baseline=args.baseline, dry_run=args.dry_run,
                     timeout=args.timeout)
    print(json.dumps(result, indent=2))
    if result['outcome'] != 'SUCCEEDED':
        return 2
    return 0 if result['decision'] == 'PROMOTE' else 1


def register_rollback(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rollback``: the running builder returns to the model active before."""
    parser = subparsers.add_parser('rollback', help='serve the previously active model again')
    parser.add_argument('--timeout', type=float, default=120.0, help='seconds to wait')
    parser.set_defaults(func=_rollback)


def _rollback(args: argparse.Namespace) -> int:
    from bb_agent.clients.models import rollback
    result = rollback(timeout=args.timeout)
    print(json.dumps(result, indent=2))
    return 0 if result['success'] else 1

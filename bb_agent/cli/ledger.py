"""``bb-agent ledger verify [PATH]``: check the run ledger's hash chain."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def default_path() -> Path:
    """Return the agent's default ledger file (``$ROS_LOG_DIR`` or ``~/.ros/log``)."""
    return Path(os.environ.get('ROS_LOG_DIR') or os.path.expanduser('~/.ros/log')) / \
        'bb_agent_ledger.jsonl'


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ledger``."""
    parser = subparsers.add_parser('ledger', help='check the run ledger (hash chain)')
    sub = parser.add_subparsers(dest='ledger_command', required=True)
    check = sub.add_parser('verify', help='verify the chain; exit 1 naming the first bad '
                                          'line')
    check.add_argument('path', nargs='?', type=Path,
                       help=f'ledger file (default: {default_path()}); rotated files '
                            '<name>.<n> beside it are part of the chain')
    check.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    """Verify and print the result; 0 intact, 1 broken, 2 no ledger."""
    from bb_agent.safety.ledger import chain_files, verify
    path = args.path or default_path()
    if not chain_files(path):
        print(f'bb-agent ledger: no ledger at {path}')
        return 2
    report = verify(path)
    if report.ok:
        print(f'ledger intact: {report.records} records; last hash {report.last_hash}')
        return 0
    print(f'ledger BROKEN after {report.records} good records: {report.bad}')
    return 1

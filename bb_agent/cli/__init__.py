"""The ``bb-agent`` command line.

Sub-commands are entry points in the ``bb_agent.commands`` group. Each entry point is a
``register(subparsers)`` function that adds one sub-parser and sets ``func`` to a handler
``handler(args) -> int``. Registration modules must stay light (heavy imports belong in the
handler), so ``bb-agent --help`` stays fast and the CLI never imports a layer, such as
``bb_agent.train``, unless that layer's command runs.

Exit codes: the handler's return value; 2 for usage errors and typed :class:`BBError`
failures; 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points
import sys

from bb_agent import __version__
from bb_agent.core.outcomes import BBError

COMMAND_GROUP = 'bb_agent.commands'


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog='bb-agent',
        description='bb_agent: plans written by a grammar-masked model, checked before '
                    'anything moves.')
    parser.add_argument('--version', action='version', version=f'bb-agent {__version__}')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    for ep in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as exc:  # a layer's optional dependency is missing
            broken = subparsers.add_parser(ep.name, help=f'(unavailable: {exc})')
            broken.set_defaults(func=_unavailable(ep.name, exc))
            continue
        register(subparsers)
    return parser


def _unavailable(name: str, exc: ImportError):
    def handler(_args: argparse.Namespace) -> int:
        print(f'bb-agent {name}: unavailable: {exc}', file=sys.stderr)
        return 2
    return handler


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, 'func', None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except BBError as exc:
        print(f'bb-agent {args.command}: error {exc.code.value} {exc.code.name}: {exc.message}',
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())

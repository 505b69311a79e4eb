"""``bb-agent up``, ``ask`` and ``demo``: registration only (handlers import lazily)."""

from __future__ import annotations

import argparse
import sys


def register_up(subparsers: argparse._SubParsersAction) -> None:
    """Add ``up``: start the stack from config/agent.yaml (one process per node)."""
    parser = subparsers.add_parser('up', help='start the bb_agent stack (venv bring-up)')
    parser.add_argument('--no-sim', action='store_true', help='do not start the sim robot')
    parser.add_argument('--namespace', default='', help='ROS namespace for every node')
    parser.add_argument('--params-file', default='', help='extra parameter file for every node')
    parser.add_argument('--model-path', default='', help='builder checkpoint (default: shipped)')
    parser.add_argument('--bringup', default='',
                        help='node list to start (default: config/agent.yaml)')
    parser.set_defaults(func=_up)


def _up(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bb_agent.clients.supervisor import Supervisor
    from bb_agent.core.outcomes import BBError
    try:
        stack = Supervisor(use_sim=not args.no_sim, namespace=args.namespace,
                           params_file=args.params_file, model_path=args.model_path,
                           bringup_file=Path(args.bringup) if args.bringup else None)
    except BBError as exc:
        print(f'bb-agent up: {exc}', file=sys.stderr)
        return 2
    return stack.run()


def register_ask(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ask``: send one request to a running stack and print stages and result."""
    parser = subparsers.add_parser('ask', help='send a request to the running agent')
    parser.add_argument('text', help='the request, e.g. "put the red cup in bin A"')
    parser.add_argument('--domain', default='robot',
                        choices=('robot', 'api_json', 'phone', 'social'))
    parser.add_argument('--actor', default='cli', help='actor id (sessions are per actor)')
    parser.add_argument('--session', default='', help='session id within the actor')
    parser.add_argument('--key', default='', help='idempotency key')
    parser.add_argument('--dry-run', action='store_true', help='propose and check only')
    parser.add_argument('--timeout', type=float, default=300.0, help='seconds to wait')
    parser.set_defaults(func=_ask)


def _ask(args: argparse.Namespace) -> int:
    from bb_agent.clients.ask import ask, print_result
    print(f'> {args.text}')
    result = ask(args.text, domain=args.domain, actor=args.actor, session=args.session,
                 request_key=args.key, dry_run=args.dry_run, timeout=args.timeout)
    print_result(result)
    return 0 if result['outcome'] in ('SUCCEEDED', 'DEFERRED') else 1


def register_demo(subparsers: argparse._SubParsersAction) -> None:
    """Add ``demo``: the scripted scenario against a freshly started stack."""
    from pathlib import Path
    parser = subparsers.add_parser('demo', help='run the scripted demo scenario')
    parser.add_argument('--report', type=Path, default=Path('demo_report'),
                        help='report folder (default: ./demo_report)')
    parser.add_argument('--model-path', default='', help='builder checkpoint')
    parser.add_argument('--verbose', action='store_true', help="show the nodes' output")
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from bb_agent.clients.demo import run_demo
    ok = run_demo(args.report, model_path=args.model_path, quiet=not args.verbose)[0]
    return 0 if ok else 1

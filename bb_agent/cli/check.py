"""``bb-agent check PROGRAM_FILE``: run the plan checker (and optionally repair) from a shell.

Exit codes: 0 approved, 1 rejected, 2 usage or parse error (with a readable message).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys

from bb_agent.core.outcomes import BBError, ErrorCode


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` sub-command."""
    parser = subparsers.add_parser(
        'check', help='check a plan program against a domain schema and a world state',
        description='Exit codes: 0 approved, 1 rejected, 2 usage or parse error.')
    parser.add_argument('program', help='program file in the domain grammar, or - for stdin')
    parser.add_argument('--world', type=Path, help="world-state JSON (default: the domain's)")
    parser.add_argument('--domain', default='robot', help='domain schema (default: robot)')
    parser.add_argument('--repair', action='store_true', help='repair a rejected plan')
    parser.add_argument('--budget', type=float, help='duration budget in seconds')
    parser.add_argument('--json', action='store_true', help='print the verdict as JSON')
    parser.set_defaults(func=run)


def _world(args: argparse.Namespace, schema):
    from bb_agent.core.resources import config_path
    from bb_agent.core.world import World, load_world
    if args.world is not None:
        return load_world(args.world)
    if schema.default_world:
        return load_world(config_path(schema.default_world))
    return World()


def run(args: argparse.Namespace) -> int:
    """Check the program; print the verdict; return the exit code."""
    from bb_agent.core.check.checker import check_plan
    from bb_agent.core.check.repair import repair_plan
    from bb_agent.core.dsl.parser import DslSyntaxError, parse_program
    from bb_agent.core.schema import load_schema

    try:
        text = sys.stdin.read() if args.program == '-' else Path(args.program).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise BBError(ErrorCode.INVALID_REQUEST, f'cannot read {args.program}: {exc}') from exc
    if args.budget is not None and not args.budget > 0:
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'--budget must be > 0 s, got {args.budget}')
    schema = load_schema(args.domain)
    world = _world(args, schema)
    try:
        parse_program(text)
    except DslSyntaxError as exc:
        if args.json:
            print(json.dumps({'approved': False, 'error': exc.label, 'line': exc.line,
                              'column': exc.column, 'expected': list(exc.expected),
                              'message': exc.message}, indent=2))
        else:
            print(f'{args.program}:{exc.line}:{exc.column}: {exc.label}: {exc.message}',
                  file=sys.stderr)
        return 2
    repairs = ()
    if args.repair:
        result = repair_plan(text, schema, world, budget_s=args.budget)
        verdict, repairs = result.verdict, result.repairs
    else:
        verdict = check_plan(text, schema, world, budget_s=args.budget)
    if args.json:
        out = verdict.to_dict()
        out.update(repairs=[str(r) for r in repairs], schema_hash=verdict.schema_hash,
                   world_hash=verdict.world_hash)
        print(json.dumps(out, indent=2))
    else:
        _print_text(verdict, repairs)
    return 0 if verdict.approved else 1


def _print_text(verdict, repairs) -> None:
    nodes = len(verdict.graph.nodes) if verdict.graph else 0
    for step in repairs:
        print(f'repair  {step}')
    if verdict.approved:
        print(f'APPROVED  {nodes} nodes, estimated {verdict.duration_s:g} s, '
              f'token {verdict.token[:16]}')
    else:
        blocking = sum(v.blocking for v in verdict.violations)
        print(f'REJECTED  {blocking} blocking violation(s)')
    for v in verdict.violations:
        print(f'  {v.severity.name:<8} {v.code.name:<22} {v.node_id or "-":<8} {v.message}')
    if repairs:
        print('repaired program:')
        print(verdict.canonical, end='')

"""``bb-agent info``: where the installation finds its data, and what the runtime can use."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys

from bb_agent import __version__
from bb_agent.core.resources import ResourceNotFoundError, share_dir

# Environment variables that decide where DDS traffic goes and where logs land.
ROS_ENV = ('ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_DOMAIN_ID', 'ROS_LOG_DIR',
           'RMW_IMPLEMENTATION', 'AMENT_PREFIX_PATH')
# Importable modules the layers need; reported, not imported (find_spec only).
MODULES = ('rclpy', 'bb_msgs', 'torch', 'transformers', 'llguidance', 'onnxruntime', 'lark')


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``info`` sub-command."""
    parser = subparsers.add_parser('info', help='show install paths, data and runtime modules')
    parser.add_argument('--json', action='store_true', help='print JSON instead of text')
    parser.set_defaults(func=run)


def collect() -> dict:
    """Return a JSON-able description of this installation."""
    report: dict = {'version': __version__, 'python': sys.executable}
    try:
        share = share_dir()
        report['share'] = {'path': str(share.path), 'route': share.route}
        report['grammars'] = sorted(p.name for p in (share.path / 'grammars').glob('*.lark'))
        report['configs'] = sorted(
            str(p.relative_to(share.path / 'config'))
            for p in (share.path / 'config').rglob('*') if p.is_file())
    except ResourceNotFoundError as exc:
        report['share'] = {'error': str(exc)}
    report['modules'] = {m: importlib.util.find_spec(m) is not None for m in MODULES}
    report['ros_env'] = {k: os.environ.get(k, '') for k in ROS_ENV}
    return report


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 1 when the share folder cannot be found."""
    report = collect()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        share = report['share']
        print(f'bb_agent {report["version"]} ({report["python"]})')
        print(f'share: {share.get("path", share.get("error"))}'
              + (f' (via {share["route"]})' if 'route' in share else ''))
        for key in ('grammars', 'configs'):
            print(f'{key}: {", ".join(report.get(key, [])) or "-"}')
        print('modules: ' + ', '.join(
            f'{m}{"" if ok else " (missing)"}' for m, ok in report['modules'].items()))
        for key, value in report['ros_env'].items():
            print(f'{key}={value}')
    return 0 if 'path' in report['share'] else 1

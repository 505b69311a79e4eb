"""``bb-agent eval`` and ``bb-agent export``: registration only (handlers import lazily)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bb_agent.cli.train import positive
from bb_agent.train import PARTS


def register_eval(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eval``: the evaluation battery on a checkpoint."""
    parser = subparsers.add_parser(
        'eval', help='evaluate a checkpoint: validity, exact match, approval, GED, ablation, '
                     'takeover sweep, skill stacking')
    parser.add_argument('checkpoint', type=Path, help='checkpoint folder')
    parser.add_argument('--data', type=Path,
                        help="trace folder (default: regenerate the checkpoint's corpus)")
    parser.add_argument('--out', type=Path, help='report folder (default: CHECKPOINT/eval)')
    parser.add_argument('--limit', type=positive, default=300,
                        help='examples per split, drawn at random when a split has more '
                             '(the log says so)')
    parser.add_argument('--sweep-limit', type=positive, default=100,
                        help='examples per ablation/sweep/stacking point')
    parser.add_argument('--free-limit', type=positive, default=100,
                        help='examples decoded without the mask per split')
    parser.add_argument('--base-limit', type=positive,
                        help='examples per split for the base-only (alpha 0) comparison '
                             '(default: --limit)')
    parser.add_argument('--stack-steps', type=int, default=40, help='skill-stacking steps')
    parser.add_argument('--max-tokens', type=positive, default=256, help='tokens per plan')
    parser.add_argument('--threads', type=positive, default=1,
                        help='torch threads (default 1: fastest for one-token decode steps)')
    parser.add_argument('--no-progress', action='store_true', help='no progress output')
    parser.add_argument('--parts', nargs='+', choices=PARTS, default=list(PARTS),
                        help='measures to run (default: all); "intent" alone gives the '
                             "guard's table")
    parser.add_argument('--natural', type=Path,
                        help='test_natural file (default: config/eval/test_natural.yaml)')
    parser.add_argument('--write-calibration', action='store_true',
                        help='write the confidence calibration fitted on val into '
                             'CHECKPOINT/calibration.json (the builder loads it)')
    parser.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    """Run the battery; print the headline numbers and where the report is."""
    from bb_agent.train.battery import EvalConfig, run_battery
    cfg = EvalConfig(limit=args.limit, sweep_limit=args.sweep_limit,
                     free_limit=args.free_limit, base_limit=args.base_limit,
                     stack_steps=args.stack_steps,
                     max_tokens=args.max_tokens, threads=args.threads, parts=args.parts,
                     natural=str(args.natural) if args.natural else None,
                     write_calibration=args.write_calibration)
    out = args.out or args.checkpoint / 'eval'
    metrics = run_battery(args.checkpoint, args.data, cfg, out, progress=not args.no_progress)
    print(summary_table(metrics))
    print(f'predictions: {out / "predictions.jsonl"}')
    print(f'report: {out / "report.md"}')
    return 0


def _pct(value) -> str:
    return '-' if value is None else f'{100 * value:.1f}%'


def summary_table(metrics: dict) -> str:
    """Return the battery's headline numbers as a plain-text table (the terminal summary)."""
    lines = ['split                builder exact  base-only exact  valid    approved',
             '-------------------  -------------  ---------------  -------  --------']
    for name, s in metrics.get('splits', {}).items():
        b, o = s['builder'], s['base_only']
        lines.append(f'{name:<19}  {_pct(b["exact_match"]):>13}  {_pct(o["exact_match"]):>15}'
                     f'  {_pct(b["syntax_valid"]):>7}  {_pct(b["checker_approved"]):>8}')
    intent = metrics.get('intent', {}).get('splits', {})
    if intent:
        lines += ['', 'split                faithful  unrequested  deferral  ECE    '
                      '(guarded; unrequested without the guard)',
                  '-------------------  --------  -----------  --------  -----']
        for name, s in intent.items():
            g = s['guarded']
            ece = '-' if g['ece'] is None else f'{g["ece"]:.3f}'
            lines.append(f'{name:<19}  {_pct(g["faithful"]):>8}  {_pct(g["unrequested"]):>11}'
                         f'  {_pct(g["deferral"]):>8}  {ece:>5}'
                         f'  ({_pct(s["unguarded"]["unrequested"])})')
    for part, key in (('ablation', 'full_exact_match'), ('stacking', 'exact_after')):
        if part in metrics:
            lines.append(f'{part} on {metrics[part]["split"]}: {key} '
                         f'{_pct(metrics[part][key])}')
    if metrics.get('data_differs'):
        lines.append(f'note: regenerated splits differ from the data card: '
                     f'{metrics["data_differs"]}')
    return '\n'.join(lines)


def register_export(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export``: write a checkpoint's ONNX Runtime files."""
    parser = subparsers.add_parser('export', help='export a checkpoint for ONNX Runtime')
    parser.add_argument('checkpoint', type=Path, help='checkpoint folder')
    parser.add_argument('--onnx', action='store_true', required=True,
                        help='write CHECKPOINT/onnx/ (model.onnx + manifest)')
    parser.add_argument('--out', type=Path, help='output folder (default: CHECKPOINT/onnx)')
    parser.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Export the checkpoint's model (base + rail, past KV) to ONNX."""
    from bb_agent.model.checkpoint import load_checkpoint
    from bb_agent.model.onnx_export import export_onnx
    ckpt = load_checkpoint(args.checkpoint)
    out = args.out or args.checkpoint / 'onnx'
    export_onnx(ckpt.load_model(), out, metadata={
        'checkpoint': str(args.checkpoint), 'grammar_sha256': ckpt.config['grammar_sha256']})
    print(f'onnx: {out}')
    return 0

"""``bb-agent synth`` and ``bb-agent train``: registration only (handlers import lazily)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bb_agent.core.outcomes import BBError, ErrorCode


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def register_synth(subparsers: argparse._SubParsersAction) -> None:
    """Add ``synth``: write the synthetic corpus (deterministic by seed)."""
    parser = subparsers.add_parser('synth', help='write the synthetic training corpus')
    parser.add_argument('--out', type=Path, required=True, help='output folder')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--train', type=_positive, default=8000, help='robot train examples')
    parser.add_argument('--test', type=_positive, default=300,
                        help='robot val/test examples per split')
    parser.add_argument('--other', type=_positive, default=600,
                        help='train examples of each smaller domain')
    parser.add_argument('--domains', default='robot,api_json,phone,social',
                        help='comma-separated domains')
    parser.set_defaults(func=run_synth)


def run_synth(args: argparse.Namespace) -> int:
    """Write the corpus and print the counts."""
    from bb_agent.train.synth_domains import GENERATORS
    from bb_agent.train.synthesize import Sizes, synthesize
    domains = tuple(d for d in args.domains.split(',') if d)
    unknown = [d for d in domains if d != 'robot' and d not in GENERATORS]
    if unknown or not domains:
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'unknown domains: {unknown or "(none)"}')
    sizes = Sizes(train=args.train, val=args.test, test=args.test, other_train=args.other,
                  other_test=max(1, args.other // 6))
    cards = synthesize(args.out, seed=args.seed, sizes=sizes, domains=domains)
    print(json.dumps({d: c['counts'] for d, c in cards.items()}, indent=2))
    return 0


def register_train(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train``: tokenizer, base pretraining and builder-rail training on traces."""
    parser = subparsers.add_parser(
        'train', help='train a builder model on a trace folder (train/val/test*.jsonl)')
    parser.add_argument('--data', type=Path, required=True, help='trace folder')
    parser.add_argument('--grammar', help='grammar file (.lark) or built-in grammar name '
                                          "(default: the data card's)")
    parser.add_argument('--domain', help='domain schema whose vocabulary specialises the grammar')
    parser.add_argument('--preset', default='default', help='config/models/<preset>.yaml')
    parser.add_argument('--out', type=Path, required=True, help='checkpoint folder')
    parser.add_argument('--steps', type=_positive, default=2000, help='rail training steps')
    parser.add_argument('--base-steps', type=int, default=1000, help='base pretraining steps')
    parser.add_argument('--batch-size', type=_positive, default=16)
    parser.add_argument('--base-dir', help='local HF model folder to use as the base')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.set_defaults(func=run_train)


def _grammar(args: argparse.Namespace, card: dict):
    from bb_agent.core.grammar import grammar_from_text, load_grammar, specialise
    from bb_agent.core.schema import load_schema
    name = args.grammar or card.get('grammar')
    if not name:
        raise BBError(ErrorCode.INVALID_ARGUMENT, 'no --grammar and no grammar in the data card')
    path = Path(name)
    if path.suffix == '.lark':
        try:
            grammar = grammar_from_text(path.stem, path.read_text())
        except OSError as exc:
            raise BBError(ErrorCode.INVALID_ARGUMENT, f'cannot read {path}: {exc}') from exc
    else:
        grammar = load_grammar(name)
    domain = args.domain or (card.get('domain') if not args.grammar else None)
    schema_hash = ''
    if domain:
        schema = load_schema(domain)
        grammar, schema_hash = specialise(grammar, schema.vocabulary()), schema.sha256
    return grammar, schema_hash


def run_train(args: argparse.Namespace) -> int:
    """Run the pipeline and print where the checkpoint is."""
    from bb_agent.model.presets import load_preset
    from bb_agent.train.dataset import load_traces
    from bb_agent.train.pipeline import PipelineConfig, run_pipeline
    from bb_agent.train.trainer import TrainConfig
    traces = load_traces(args.data)
    card_path = args.data / 'data_card.json'
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    grammar, schema_hash = _grammar(args, card)
    cfg = PipelineConfig(preset=load_preset(args.preset), base_steps=args.base_steps,
                         rail=TrainConfig(steps=args.steps, batch_size=args.batch_size,
                                          seed=args.seed, eval_every=max(1, args.steps // 10)),
                         base_dir=args.base_dir)
    out = run_pipeline(traces, grammar, cfg, args.out, schema_hash=schema_hash,
                       progress=not args.no_progress)
    print(f'checkpoint: {out}')
    return 0

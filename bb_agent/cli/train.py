"""``bb-agent synth`` and ``bb-agent train``: registration only (handlers import lazily)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bb_agent.core.outcomes import BBError, ErrorCode


def positive(text: str) -> int:
    """Return ``text`` as an int >= 1 (an argparse type)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def register_synth(subparsers: argparse._SubParsersAction) -> None:
    """Add ``synth``: write the synthetic corpus (deterministic by seed)."""
    parser = subparsers.add_parser('synth', help='write the synthetic training corpus')
    parser.add_argument('--out', type=Path, required=True, help='output folder')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--train', type=positive, default=8000, help='robot train examples')
    parser.add_argument('--test', type=positive, default=300,
                        help='robot val/test examples per split')
    parser.add_argument('--other', type=positive, default=600,
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
        'train', help='train a builder model on a trace folder (train/val/test*.jsonl); '
                      "without --data, synthesise the preset's corpus first")
    parser.add_argument('--data', type=Path,
                        help='trace folder (default: synthesise config/train/<preset>.yaml)')
    parser.add_argument('--grammar', help='grammar file (.lark) or built-in grammar name '
                                          "(default: the data card's)")
    parser.add_argument('--domain', help='domain schema whose vocabulary specialises the grammar')
    parser.add_argument('--preset', default='default',
                        help='a shipped preset (default, smollm2 = the frozen pretrained '
                             'SmolLM2-135M base, tiny; config/models/<preset>.yaml with '
                             'its recipe config/train/<preset>.yaml) or the path of your '
                             'own model YAML')
    parser.add_argument('--out', type=Path, required=True, help='checkpoint folder')
    parser.add_argument('--steps', type=positive, help='rail training steps (recipe default; '
                                                        'with --stop plateau: the cap)')
    parser.add_argument('--base-steps', type=_non_negative,
                        help='base pretraining steps (recipe default; with --stop plateau: '
                             'the cap; 0 only for a pretrained base)')
    parser.add_argument('--base-batch-size', type=positive,
                        help="base pretraining batch (default: the recipe's, else --batch-size)")
    parser.add_argument('--stop', choices=('steps', 'plateau'),
                        help='steps: run every step; plateau: stop each phase when '
                             'validation stops improving (3 evals) or --time-budget ends. '
                             "Default: steps for a preset's own corpus, plateau with --data")
    parser.add_argument('--time-budget', type=float, metavar='MIN',
                        help='wall-clock minutes for the whole run (base <= 80%%); each '
                             "phase stops when it is spent (default: the recipe's "
                             'time_budget_min, or 150 with --stop plateau)')
    parser.add_argument('--threads', type=positive,
                        help='torch threads (default: the cores not already busy, from the '
                             'load average; on a loaded 2-core machine 1 thread ran a small '
                             'base ~8x faster than 2)')
    parser.add_argument('--base-lr', type=float, help='base pretraining peak learning rate '
                                                     '(recipe default)')
    parser.add_argument('--batch-size', type=positive,
                        help='rail batch size (recipe default); the base batch is '
                             '--base-batch-size')
    parser.add_argument('--base-dir', help='local HF model folder to use as the base')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu',
                        help="torch device to train on: 'cpu' (default) or 'cuda[:N]'; the "
                             'checkpoint is saved for the CPU either way')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.set_defaults(func=run_train)


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0, got {value}')
    return value


def _recipe(preset: str) -> dict:
    """Return config/train/<preset>.yaml (empty when the preset has no recipe)."""
    import yaml

    from bb_agent.core.resources import ResourceNotFoundError, config_path
    if Path(preset).suffix in ('.yaml', '.yml'):  # a user's model YAML has no recipe
        return {}
    try:
        return yaml.safe_load(config_path('train', f'{preset}.yaml').read_text()) or {}
    except ResourceNotFoundError:
        return {}


def auto_threads() -> int:
    """Return the torch threads to train with: the cores the load average leaves free.

    Oversubscribing a busy small machine is far slower than fewer threads (one thread ran a
    small base ~8x faster than two on a loaded 2-core machine).
    """
    import os
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(cores, round(cores - busy)))


def _grammar(args: argparse.Namespace, card: dict):
    from bb_agent.core.dsl.grammar import grammar_from_text, load_grammar, specialise
    from bb_agent.core.schema import load_schema
    name = args.grammar or card.get('grammar')
    if not name:
        raise BBError(ErrorCode.INVALID_ARGUMENT, 'no --grammar and no grammar in the data card')
    from bb_agent.core.resources import config_path, share_path
    path = Path(name)
    builtin = sorted(p.stem for p in share_path('grammars').glob('*.lark'))
    if path.is_file() or path.suffix == '.lark' or '/' in name:  # a file, not a name
        try:
            grammar = grammar_from_text(path.stem, path.read_text())
        except OSError as exc:
            raise BBError(ErrorCode.INVALID_ARGUMENT, f'cannot read grammar file {path}: '
                                                      f'{exc}') from exc
    elif name in builtin:
        grammar = load_grammar(name)
    else:
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'--grammar {name!r} is neither a file nor '
                                                  f'a built-in grammar ({builtin})')
    domain = args.domain or (card.get('domain') if not args.grammar else None)
    schema_hash = ''
    if domain:
        domains = sorted(p.stem for p in config_path('domains').glob('*.yaml'))
        if domain not in domains:
            raise BBError(ErrorCode.INVALID_ARGUMENT,
                          f'unknown --domain {domain!r}; one of {domains}')
        schema = load_schema(domain)
        grammar, schema_hash = specialise(grammar, schema.vocabulary()), schema.sha256
    return grammar, schema_hash


def _base_lr(recipe: dict, stop: str) -> float:
    """Return the base's peak rate: a one-cycle's, or the lower rate the plateau rule holds."""
    if stop == 'plateau':
        return recipe.get('plateau_base_lr', 1e-3)
    return recipe.get('base_lr', 3e-3)


def _device(name: str) -> str:
    """Return ``name`` if torch can train there, else a typed INVALID_ARGUMENT error."""
    import torch
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'bad --device {name!r}: {exc}') from exc
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'--device {name}: CUDA is not available')
    if device.type not in ('cpu', 'cuda'):
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'--device {name}: use cpu or cuda[:N]')
    return name


def run_train(args: argparse.Namespace) -> int:
    """Run the pipeline and print where the checkpoint is."""
    import time

    import torch

    from bb_agent.model.presets import load_preset
    from bb_agent.train.dataset import load_traces
    from bb_agent.train.pipeline import PipelineConfig, run_pipeline
    from bb_agent.train.synthesize import Sizes, synthesize
    from bb_agent.train.trainer import TrainConfig
    started = time.monotonic()
    threads = args.threads or auto_threads()
    torch.set_num_threads(threads)
    preset = load_preset(args.preset)  # typed error naming the presets, before any work
    recipe = _recipe(args.preset)
    stop = args.stop or ('plateau' if args.data is not None else 'steps')
    if args.data is None:
        if 'data' not in recipe:
            raise BBError(ErrorCode.INVALID_ARGUMENT,
                          f'no --data and preset {args.preset} has no recipe data section')
        d = recipe['data']
        synthesize(args.out / 'data', seed=d['seed'], domains=tuple(d['domains']),
                   sizes=Sizes(train=d['train'], val=d['test'], test=d['test']))
        args.data = args.out / 'data' / 'robot'
    traces = load_traces(args.data)
    card_path = args.data / 'data_card.json'
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    grammar, schema_hash = _grammar(args, card)
    rail = {'eval_every': 0, **recipe.get('rail', {}), 'seed': args.seed}
    if args.steps:
        rail['steps'] = args.steps
    if args.batch_size:
        rail['batch_size'] = args.batch_size
    rail.setdefault('steps', 2000)
    if not rail['eval_every'] or rail['eval_every'] > rail['steps'] // 2:
        # alpha is lifted (and a plateau seen) only at evals: at least ~10 per run
        if rail['eval_every']:
            print(f'note: eval_every {rail["eval_every"]} > half of {rail["steps"]} steps; '
                  f'using {max(1, rail["steps"] // 10)} so that alpha can be lifted')
        rail['eval_every'] = max(1, rail['steps'] // 10)
    base_steps = args.base_steps if args.base_steps is not None else \
        recipe.get('base_steps', 1000)
    if base_steps == 0 and preset.pretrained is None and not args.base_dir:
        raise BBError(ErrorCode.INVALID_ARGUMENT, '--base-steps 0 leaves a random base: a '
                                                  'base trained from scratch needs steps')
    budget = next((b for b in (args.time_budget, recipe.get('time_budget_min'))
                   if b is not None), 150.0 if stop == 'plateau' else None)
    if stop == 'plateau':  # the step counts become caps; validation decides
        rail['patience'] = rail.get('patience') or 3
        if args.base_steps is None and base_steps:
            base_steps = max(base_steps, 20_000)
        if not args.steps:
            rail['steps'] = max(rail['steps'], 3_000)
    cfg = PipelineConfig(preset=preset, base_steps=base_steps,
                         base_lr=args.base_lr or _base_lr(recipe, stop),
                         base_length_group=recipe.get('base_length_group', 1),
                         base_batch_size=args.base_batch_size or recipe.get('base_batch_size'),
                         base_patience=3 if stop == 'plateau' else 0,
                         time_budget_s=None if budget is None else budget * 60,
                         rail=TrainConfig.model_validate(rail), base_dir=args.base_dir,
                         device=_device(args.device))
    print(f'training: preset {args.preset}, stop {stop}'
          f'{f", budget {budget:g} min" if budget else ""}, {threads} torch threads')
    out = run_pipeline(traces, grammar, cfg, args.out, schema_hash=schema_hash,
                       progress=not args.no_progress)
    minutes = (time.monotonic() - started) / 60
    metrics = json.loads((out / 'metrics.json').read_text())
    for phase in ('base_training', 'rail_training'):
        r = metrics.get(phase)
        if r:
            trend = {True: 'still improving: more steps may help', False: 'levelled off',
                     None: 'too few evals to tell'}[r['still_improving']]
            print(f'{phase.split("_")[0]}: {r["steps"]} steps at {r["steps_per_s"]:.2f}/s, '
                  f'stopped by {r["stopped_by"]}, best validation {r["best"]} ({trend})')
    print(f'checkpoint: {out} ({minutes:.1f} min)')
    return 0

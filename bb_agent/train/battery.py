"""The evaluation battery behind ``bb-agent eval CHECKPOINT [--data DIR]``.

Per test split: strict-mask decoding with the trained gate budget and with alpha = 0 (the
base on its own), plus unmasked decoding (syntax validity without the mask). On the
compositional split: skill ablation, the alpha takeover sweep and skill stacking. Writes
``metrics.json``; :mod:`bb_agent.train.eval_report` writes the markdown report and plots.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from pathlib import Path
import random
import tempfile

from pydantic import Field
import torch

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.strict_model import StrictModel
from bb_agent.model.checkpoint import load_checkpoint
from bb_agent.model.decoding import DecodeConfig
from bb_agent.model.planner import Planner
from bb_agent.train import PARTS
from bb_agent.train import evaluate as ev
from bb_agent.train.dataset import TraceSet, load_traces

LOG = logging.getLogger('bb_agent.eval')


class EvalConfig(StrictModel):
    """How much to evaluate (``bb-agent eval`` flags)."""

    limit: int = Field(300, ge=1, le=100_000, description='examples per split (strict)')
    sweep_limit: int = Field(100, ge=1, le=100_000, description='examples per sweep point')
    free_limit: int = Field(100, ge=1, le=100_000, description='examples decoded unmasked')
    base_limit: int | None = Field(None, ge=1, le=100_000, description=(
        'examples per split for the base-only (alpha 0) run; None: as limit. A frozen '
        'pretrained base does not know the DSL and decodes to the token budget, which is '
        'the slow part of the battery'))
    alphas: list[float] = Field(default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.45, 0.6])
    ablate: list[float] = Field(default_factory=lambda: [0.25, 0.5, 1.0],
                                description='fractions of skills dropped')
    shots: int = Field(16, ge=1, le=10_000, description='examples for a stacked skill')
    stack_steps: int = Field(40, ge=0, le=100_000)
    stack_lr: float = Field(1e-2, gt=0, le=1)
    max_tokens: int = Field(256, ge=8, le=8192)
    threads: int = Field(1, ge=1, le=256, description='torch threads (1 is fastest for '
                                                      'one-token decode steps of small models)')
    seed: int = 0
    parts: list[str] = Field(default_factory=lambda: list(PARTS),
                             description='which measures to run (all by default)')
    natural: str | None = Field(None, description='test_natural file (default: the shipped '
                                                  'config/eval/test_natural.yaml)')
    write_calibration: bool = Field(False, description='write the calibration fitted on val '
                                                       'into the checkpoint folder')


def regenerate_data(checkpoint_dir: Path, into: Path) -> Path:
    """Re-synthesise the checkpoint's corpus from its data card; compare the split hashes.

    A corpus that differs (the generator or the checker changed since training: examples the
    checker now rejects are drawn again) is still evaluated; the splits that differ are
    logged and recorded in the metrics (``data_differs``), never silently passed off.
    """
    from bb_agent.train.synthesize import Sizes, synthesize
    card_path = checkpoint_dir / 'data_card.json'
    if not card_path.exists():
        raise BBError(ErrorCode.INVALID_ARGUMENT,
                      f'{checkpoint_dir} has no data_card.json; pass --data')
    card = json.loads(card_path.read_text())
    counts = card['counts']
    synthesize(into, seed=card['seed'], domains=(card['domain'],),
               sizes=Sizes(train=counts['train'], val=counts['val'], test=counts['test_iid']))
    regenerated = json.loads((into / card['domain'] / 'data_card.json').read_text())
    differs = sorted(k for k in card['sha256'] if regenerated['sha256'].get(k) !=
                     card['sha256'][k])
    if differs:
        LOG.warning('regenerated splits differ from the data card (generator or checker '
                    'changed since training): %s', ', '.join(differs))
    (into / card['domain'] / 'DIFFERS').write_text('\n'.join(differs))
    return into / card['domain']


def _schema(checkpoint):
    """Return the schema the checkpoint's data was checked with, as it is now.

    The checkpoint records the schema hash it was trained under; a schema changed since
    (new safety fields, the lexicon) still judges plans by today's rules, which is what
    the runtime does. The grammar hash, not this one, guards the decoder.
    """
    from bb_agent.core.schema import load_schema
    card = checkpoint.folder / 'data_card.json'
    if not checkpoint.config.get('schema_sha256') or not card.exists():
        return None
    return load_schema(json.loads(card.read_text())['domain'])


def compositional_split(traces: TraceSet) -> str:
    """Return the split the compositional measures use (the first test split otherwise)."""
    tests = traces.tests()
    if not tests:
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'{traces.folder} has no test*.jsonl split')
    return next((s for s in tests if 'compositional' in s), tests[0])


class Battery:
    """One checkpoint, one data set, every measure."""

    def __init__(self, checkpoint_dir: Path, traces: TraceSet, cfg: EvalConfig) -> None:
        self.cfg, self.traces = cfg, traces
        self.ckpt = load_checkpoint(checkpoint_dir)
        self.model = self.ckpt.load_model()
        self.alpha = float(self.model.alpha_max)
        self.planner = Planner(self.ckpt, model=self.model, device='cpu')
        self.parser = ev.syntax_parser(self.ckpt.grammar)
        self.schema = _schema(self.ckpt)
        self.strict = DecodeConfig(greedy=True, max_tokens=cfg.max_tokens, timeout_s=60.0)
        self.comp = compositional_split(traces)
        if 'compositional' not in self.comp:
            LOG.warning('no compositional test split: the ablation, takeover sweep and '
                        'stacking run on %r', self.comp)
        self.predictions: list[dict] = []  # per-example results (predictions.jsonl)
        self._samples: dict = {}
        self.progress = True

    def rows(self, split: str, limit: int) -> list:
        """Return ``limit`` rows of ``split`` drawn at random (the same draw every time)."""
        key = (split, limit)
        if key not in self._samples:
            self._samples[key] = ev.sample_rows(self.traces.splits[split], limit,
                                                self.cfg.seed, split)
        return self._samples[key]

    def run_rows(self, rows, *, alpha: float | None = None, mode: str = 'strict',
                 ged: bool = False, label: str = 'plans') -> list[ev.Prediction]:
        """Decode and annotate ``rows`` at gate budget ``alpha`` (default: trained)."""
        from bb_agent.train.progress import Progress
        self.model.set_alpha_max(self.alpha if alpha is None else alpha)
        cfg = self.strict if mode == 'strict' else DecodeConfig(
            mode=mode, greedy=True, max_tokens=self.cfg.max_tokens, timeout_s=60.0)
        bar = Progress(len(rows), label, unit='plan', enabled=self.progress)
        preds = ev.decode_rows(self.planner, rows, cfg, self.schema, progress=bar)
        bar.close()
        ev.annotate(preds, rows, self.parser, self.schema, with_ged=ged)
        self.model.set_alpha_max(self.alpha)
        return preds

    def splits(self) -> dict:
        """Strict (trained alpha and alpha 0) and unmasked metrics per test split."""
        out = {}
        for name in self.traces.tests():
            rows = self.rows(name, self.cfg.limit)
            builder = self.run_rows(rows, ged=True, label=f'{name} builder')
            base_rows = rows[:self.cfg.base_limit or len(rows)]
            base = self.run_rows(base_rows, alpha=0.0, label=f'{name} base only')
            padded = base + [None] * (len(rows) - len(base))
            self.predictions += [
                {'split': name, 'input': row.input, 'gold': row.output, 'prediction': p.text,
                 'outcome': p.outcome, 'exact': p.exact, 'syntax_ok': p.syntax_ok,
                 'approved': p.approved, 'unsafe': p.unsafe, 'tokens': p.tokens,
                 'seconds': round(p.seconds, 4), 'base_only': q.text if q else None,
                 'base_exact': q.exact if q else None}
                for row, p, q in zip(rows, builder, padded, strict=True)]
            out[name] = {'builder': ev.score(builder), 'base_only': ev.score(base),
                         'unmasked': ev.score(self.run_rows(rows[:self.cfg.free_limit],
                                                            mode='free',
                                                            label=f'{name} unmasked'))}
        return out

    def sweep(self) -> dict:
        """Takeover sanity: compositional win rate and safety across gate budgets."""
        rows = self.rows(self.comp, self.cfg.sweep_limit)
        base = self.run_rows(rows, alpha=0.0, label='takeover alpha 0')
        points = []
        for alpha in sorted({round(a, 4) for a in (*self.cfg.alphas, self.alpha)}):  # float32 ᾱ
            preds = base if alpha == 0.0 else self.run_rows(rows, alpha=alpha,
                                                            label=f'takeover alpha {alpha}')
            s = ev.score(preds)
            points.append({'alpha': alpha, 'exact_match': s['exact_match'],
                           'checker_approved': s['checker_approved'],
                           'unsafe_rate': s['unsafe_rate'],
                           'win_rate_vs_base': ev.win_rate(preds, base)})
        unsafe = [p['unsafe_rate'] for p in points if p['unsafe_rate'] is not None]
        return {'split': self.comp, 'n': len(rows), 'points': points,
                'unsafe_spread': round(max(unsafe) - min(unsafe), 4) if unsafe else None}

    def ablation(self) -> dict:
        """Drop a random fraction of the skills in every block; measure the compositional drop."""
        rows = self.rows(self.comp, self.cfg.sweep_limit)
        full = ev.score(self.run_rows(rows, label='ablation none'))['exact_match']
        rng = random.Random(self.cfg.seed)
        libraries = [block.skills for block in self.model.blocks.values()]
        points = []
        for frac in self.cfg.ablate:
            for lib in libraries:
                k = lib.size
                dropped = rng.sample(range(k), min(k, round(frac * k)))
                lib.enabled.fill_(True)
                lib.enabled[dropped] = False
            exact = ev.score(self.run_rows(rows, label=f'ablation {frac}'))['exact_match']
            points.append({'dropped_fraction': frac, 'exact_match': exact,
                           'drop': round(full - exact, 4)})
        for lib in libraries:
            lib.enabled.fill_(True)
        return {'split': self.comp, 'n': len(rows), 'full_exact_match': full, 'points': points}

    def stacking(self) -> dict:
        """Add one skill per block, train only it on ``shots`` examples; count parameters."""
        shots_from = next(s for s in ('val_compositional', 'val') if s in self.traces.splits)
        shots = self.traces.splits[shots_from][:self.cfg.shots]
        rows = self.rows(self.comp, self.cfg.sweep_limit)
        before = ev.score(self.run_rows(rows, label='stacking before'))['exact_match']
        growth = []
        for n in (0, 1, 2, 4, 8):
            probe = copy.deepcopy(self.model)
            for block in probe.blocks.values() if n else ():
                block.skills.add_skills(n)
            growth.append({'skills': self.model.rail_config.skills + n,
                           'rail_params': probe.rail_parameter_count()})
        added = growth[1]['rail_params'] - growth[0]['rail_params']
        # log-log slope of rail parameters against library size, over 32 -> 40 skills
        slope = math.log(growth[-1]['rail_params'] / growth[0]['rail_params']) / \
            math.log(growth[-1]['skills'] / growth[0]['skills'])
        trained = copy.deepcopy(self.model)
        self._train_new_skill(trained, shots)
        saved, self.model = self.model, trained
        self.planner.backend.model = trained
        try:
            after = ev.score(self.run_rows(rows, label='stacking after'))['exact_match']
        finally:
            self.model = saved
            self.planner.backend.model = saved
        return {'shots': len(shots), 'shots_from': shots_from, 'steps': self.cfg.stack_steps,
                'params_added_per_skill': added,
                'params_added_fraction': round(added / growth[0]['rail_params'], 5),
                'growth': growth, 'growth_exponent': round(slope, 4),
                'sublinear': slope < 1.0, 'split': self.comp, 'n': len(rows),
                'exact_before': before, 'exact_after': after}

    def _train_new_skill(self, model, shots) -> None:
        from bb_agent.train.batches import make_batch
        from bb_agent.train.losses import lm_loss
        params, old = [], []
        for block in model.blocks.values():
            k = block.skills.size
            grown = block.skills.add_skills(1)
            params += grown
            old += [k] * len(grown)
        model.requires_grad_(False)
        for p, k in zip(params, old, strict=True):
            p.requires_grad_(True)
            keep = torch.zeros(p.shape[0], *([1] * (p.dim() - 1)))
            keep[k:] = 1.0  # only the new skill's rows learn
            p.register_hook(lambda g, keep=keep: g * keep)
        opt = torch.optim.Adam(params, lr=self.cfg.stack_lr)  # no decay: old rows stay put
        vocab = model.base.get_output_embeddings().weight.shape[0]
        model.train()
        for _ in range(self.cfg.stack_steps):
            batch = make_batch(shots, self.ckpt.tokenizer, max_len=256, new_constraint=None,
                               vocab=vocab)
            loss = lm_loss(model.forward_at(batch.ids, batch.target).logits, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()

    def intent(self) -> dict:
        """Faithfulness, unrequested actions, deferral and ECE, with and without the guard.

        The calibration is fitted on the validation split through the guarded chain, then
        every test split and test_natural are decided by both chains
        (:mod:`bb_agent.train.intent_eval`).
        """
        from bb_agent.core.intent.calibration import Calibration
        from bb_agent.core.intent.natural import load_natural
        from bb_agent.core.schema import load_schema
        from bb_agent.safety import shadow
        from bb_agent.safety.door import Door
        from bb_agent.train import intent_eval as ie
        schema = load_schema('robot')  # the lexicon and limits in force now
        decode = ie.CachedDecode(self.planner, self.strict)
        val = shadow.rows_from_traces(self.rows('val', self.cfg.limit)
                                  if 'val' in self.traces.splits else [])
        cal = ie.fit_calibration(Door(decode, schema), val, schema,
                                 note=f'val: {len(val)} requests') if val else None
        if cal is not None and self.cfg.write_calibration:
            cal.save(self.ckpt.folder)
        cal = cal or Calibration()
        splits = {name: shadow.rows_from_traces(self.rows(name, self.cfg.limit))
                  for name in self.traces.tests()}
        splits['test_natural'] = shadow.rows_from_natural(load_natural(self.cfg.natural))
        return {'calibration': cal.__dict__,
                'splits': {name: ie.evaluate_split(decode, rows, schema, cal)
                           for name, rows in splits.items()}}

    def run(self) -> dict:
        """Return the configured measures plus what was evaluated."""
        out = {'checkpoint': str(self.ckpt.folder), 'data': str(self.traces.folder),
               'alpha_trained': self.alpha, 'grammar': self.ckpt.grammar.name,
               'rail_params': self.model.rail_parameter_count(),
               'base_params': self.model.base_parameter_count(),
               'config': self.cfg.model_dump(), 'compositional_split': self.comp}
        measures = {'splits': self.splits, 'ablation': self.ablation,
                    'takeover': self.sweep, 'stacking': self.stacking, 'intent': self.intent}
        for part in self.cfg.parts:
            out[part] = measures[part]()
        return out


def run_battery(checkpoint_dir: str | Path, data: str | Path | None, cfg: EvalConfig,
                out: str | Path, *, progress: bool = True) -> dict:
    """Evaluate, write the results into ``out`` and return the metrics.

    Files: ``metrics.json``, the report, and ``predictions.jsonl`` (one line per decoded
    test example: input, gold, the builder's and the base-only prediction, outcome, checks).
    """
    from bb_agent.train.eval_report import write_report
    checkpoint_dir, out = Path(checkpoint_dir), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(data) if data else regenerate_data(checkpoint_dir, Path(tmp))
        battery = Battery(checkpoint_dir, load_traces(folder), cfg)
        battery.progress = progress
        metrics = battery.run()
        marker = folder / 'DIFFERS'
        if marker.exists():
            metrics['data_differs'] = [s for s in marker.read_text().split('\n') if s]
    (out / 'metrics.json').write_text(json.dumps(metrics, indent=2) + '\n')
    with (out / 'predictions.jsonl').open('w') as f:
        for row in battery.predictions:
            f.write(json.dumps(row) + '\n')
    write_report(metrics, out, curves=checkpoint_dir / 'curves.png')
    return metrics

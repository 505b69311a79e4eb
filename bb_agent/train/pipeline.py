"""The whole offline pipeline for one trace data set and grammar.

tokenizer (byte-level BPE on the corpus) -> base rail (small LLaMA-style LM pretrained
with LM loss, then frozen; or any local HF model) -> builder rail (stage 0 boot, stage 1
:class:`~bb_agent.train.trainer.RailTrainer`) -> checkpoint folder.

Checkpoint folder: ``model.safetensors`` (base + rail), ``config.json`` (preset, rail,
alpha, grammar and schema hashes, training settings), the tokenizer files, ``grammar.lark``,
``metrics.json``, ``data_card.json`` (when the data has one) and ``train_log.jsonl``.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import json
from pathlib import Path
import random
import re
import shutil
import time

import torch

from bb_agent.core.dsl.grammar import Grammar
from bb_agent.model.builder import lm_logits_at
from bb_agent.model.presets import ModelPreset, build_model
from bb_agent.train.batches import LengthGroups, make_batch, trace_length
from bb_agent.train.dataset import TraceSet
from bb_agent.train.stopping import PLATEAU_CUTS, Stopping, warmup_then_scaled
from bb_agent.train.tokenizer import output_vocabulary, save_tokenizer, train_bpe
from bb_agent.train.trainer import RailTrainer, TrainConfig


@dataclass(frozen=True)
class PipelineConfig:
    """What to build: the architecture, the base pretraining budget and stage 1."""

    preset: ModelPreset
    base_steps: int = 300
    base_lr: float = 3e-3
    base_length_group: int = 1  # base batches: 1 plain random, > 1 length-grouped
    rail: TrainConfig = TrainConfig()
    base_dir: str | None = None  # a local HF model to use as the base instead
    device: str = 'cpu'  # where training runs ('cpu', 'cuda'); checkpoints are saved on CPU
    base_batch_size: int | None = None  # base batches (None: the rail's batch size)
    base_patience: int = 0  # validation evals without improvement before the base stops
    base_eval_every: int = 250  # base steps between validation LM-loss evals (patience > 0)
    time_budget_s: float | None = None  # the whole run's wall clock; each phase stops in it


def corpus_texts(traces: TraceSet) -> list[str]:
    """Return the training split as texts: prompt, a newline, output (tokenizer, base LM)."""
    return [f'{t.prompt()}\n{t.output}' for t in traces.splits['train']]


BASE_WARMUP = 500  # plateau rule: base warm-up steps (or 5% of the cap when that is less)
BASE_MICRO_BATCHES = 4  # length-sorted micro-batches per base step, the whole batch's
# gradient. 2-core CPU, default preset, random batches of 16: 0.375 s/step sustained over
# 5,970 steps (0.6 s as one padded batch)


def base_lm_backward(base, rows, tokenizer, *, max_len: int, micro: int,
                     device: str = 'cpu', cache: dict | None = None) -> float:
    """Accumulate on ``base`` the gradient of the LM loss of ``rows``; return the loss.

    The loss is the mean over every program token (and EOS) of the batch given its request.
    Examples are sorted by length and split into ``micro`` micro-batches: a batch pads to
    its longest example, so similar lengths together pad far less. Each micro-batch adds its
    summed token losses divided by the whole batch's token count, so the gradient is the
    whole batch's (right padding under a causal mask leaves every real token unchanged).
    ``cache``: see :func:`~bb_agent.train.batches.make_batch`.
    """
    rows = sorted(rows, key=trace_length)
    size = -(-len(rows) // max(1, micro))
    vocab = base.get_output_embeddings().weight.shape[0]
    batches = [make_batch(rows[i:i + size], tokenizer, max_len=max_len, new_constraint=None,
                          vocab=vocab, cache=cache).to(device)
               for i in range(0, len(rows), size)]
    # Position t of ``target`` predicts token t + 1, a program token (never the last column).
    count = max(1, sum(int(b.target.sum()) for b in batches))
    total = 0.0
    for b in batches:
        logits, _ = lm_logits_at(base, b.ids, b.target)  # (N, V), targets only
        loss = torch.nn.functional.cross_entropy(logits.float(), b.gold(),
                                                 reduction='sum') / count
        loss.backward()
        total += loss.item()
    return total


@torch.no_grad()
def base_val_loss(base, tokenizer, rows, *, max_len: int, device: str = 'cpu') -> float:
    """Return the base's mean LM loss on the programs of ``rows`` (validation)."""
    total, count = 0.0, 0
    vocab = base.get_output_embeddings().weight.shape[0]
    rows = sorted(rows, key=trace_length)
    for i in range(0, len(rows), 16):
        b = make_batch(rows[i:i + 16], tokenizer, max_len=max_len, new_constraint=None,
                       vocab=vocab).to(device)
        logits, _ = lm_logits_at(base, b.ids, b.target)
        total += float(torch.nn.functional.cross_entropy(logits.float(), b.gold(),
                                                         reduction='sum'))
        count += int(b.target.sum())
    return total / max(1, count)


def pretrain_base(base, tokenizer, traces: TraceSet, *, steps: int, lr: float, batch: int,
                  max_len: int, seed: int, progress: bool, device: str = 'cpu',
                  micro: int = BASE_MICRO_BATCHES, group: int = 1,
                  stopping: Stopping | None = None, eval_every: int = 250) -> list[float]:
    """Pretrain ``base`` with LM loss on whole examples; return the loss per step.

    ``stopping`` (patience or a deadline): every ``eval_every`` steps the validation LM
    loss is measured and the run ends on a plateau or at the deadline; ``steps`` is then
    the cap. Its report lands in ``stopping`` (see :class:`~bb_agent.train.stopping.
    Stopping`).

    ``group`` > 1 draws length-grouped batches (:class:`~bb_agent.train.batches.LengthGroups`);
    1 draws plain random batches (the same rows as ``rng.sample`` would).

    Examples use the decoder's layout (prompt, ``<sep>``, program, ``<eos>``) and the loss
    covers the program given the request, so the base on its own (alpha = 0) is a working,
    if plain, planner: the base-only baseline.
    """
    from bb_agent.train.progress import Progress
    rng = random.Random(seed)
    rows = traces.splits['train']
    groups = LengthGroups([trace_length(t) for t in rows], batch, group)
    # fused: one kernel for the whole update (the same AdamW; 12 -> 6 ms a step on the CPU)
    opt = torch.optim.AdamW(base.parameters(), lr=lr, weight_decay=0.01, fused=True)
    cache: dict = {}  # encodings of the training rows, made once
    stopping = stopping or Stopping()
    if stopping.patience:  # plateau: warm up, hold the peak, cut it when validation stalls
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, warmup_then_scaled(stopping, min(BASE_WARMUP, max(1, steps // 20))))
    else:  # a fixed horizon: one cycle over exactly ``steps``
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr,
                                                    total_steps=max(steps, 2), pct_start=0.1)
    base.train()
    curve = []
    bar = Progress(steps, 'base', enabled=progress)
    val = traces.splits.get('val', [])[:256]
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        curve.append(base_lm_backward(base, [rows[i] for i in groups.next(rng)], tokenizer,
                                      max_len=max_len, micro=micro, device=device,
                                      cache=cache))
        torch.nn.utils.clip_grad_norm_(base.parameters(), 1.0)
        opt.step()
        sched.step()
        bar.update(1, lm=f'{curve[-1]:.3f}')
        if stopping.patience and val and (step + 1) % eval_every == 0:
            base.eval()
            stopping.observe(step + 1, base_val_loss(base, tokenizer, val, max_len=max_len,
                                                     device=device))
            stopping.keep(base.parameters())
            bar.note(stopping.news())
            base.train()
        if stopping.should_stop():
            break
    bar.close()
    stopping.restore(base.parameters())  # the best validated weights, not the last
    stopping.final = stopping.report(len(curve), bar.rate)
    base.eval()
    return curve


def run_pipeline(traces: TraceSet, grammar: Grammar, cfg: PipelineConfig, out: str | Path, *,
                 schema_hash: str = '', progress: bool = True) -> Path:
    """Train everything and write the checkpoint folder ``out``; return it."""
    from bb_agent.model.builder import BuilderModel
    from bb_agent.model.constraint import GrammarConstraint, llg_tokenizer
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    torch.manual_seed(cfg.rail.seed)
    if cfg.preset.pretrained:  # a frozen pretrained base: its tokenizer, no pretraining
        from bb_agent.model.pretrained import load_base_tokenizer
        tokenizer = load_base_tokenizer(cfg.preset.pretrained)
        model = build_model(cfg.preset, seed=cfg.rail.seed)
        model.set_vocabulary(output_vocabulary(
            tokenizer, [t.output for name in ('train', 'val') for t in traces.splits[name]],
            grammar_words(grammar)))
        base_curve, base_report = [], None
    elif cfg.base_dir:
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(cfg.base_dir, local_files_only=True)
        model = BuilderModel.from_base_dir(cfg.base_dir, cfg.preset.rail.config())
        base_curve, base_report = [], None
    else:
        tokenizer = train_bpe(corpus_texts(traces), cfg.preset.tokenizer.vocab_size,
                              split=cfg.preset.tokenizer.split)
        model = build_model(cfg.preset, vocab_size=len(tokenizer), eos=tokenizer.eos_token_id,
                            seed=cfg.rail.seed)
        model.to(cfg.device)
        model.base.requires_grad_(True)
        # The base may use up to 80% of a time budget; the rail gets the rest.
        base_stop = Stopping(patience=cfg.base_patience,
                             decays=PLATEAU_CUTS if cfg.base_patience else 0,
                             deadline=None if cfg.time_budget_s
                             is None else started + 0.8 * cfg.time_budget_s)
        base_curve = pretrain_base(model.base, tokenizer, traces, steps=cfg.base_steps,
                                   lr=cfg.base_lr, batch=cfg.base_batch_size or
                                   cfg.rail.batch_size,
                                   max_len=cfg.rail.max_len, seed=cfg.rail.seed,
                                   progress=progress, device=cfg.device,
                                   group=cfg.base_length_group, stopping=base_stop,
                                   eval_every=cfg.base_eval_every)
        base_report = base_stop.final
        model.base.requires_grad_(False)  # frozen from here on
    model.to(cfg.device)
    vocab = model.base.get_output_embeddings().weight.shape[0]
    llg = llg_tokenizer(tokenizer, vocab_size=vocab)
    trainer = RailTrainer(model, tokenizer, traces.splits['train'], traces.splits['val'],
                          lambda: GrammarConstraint(llg, grammar, vocab), cfg.rail, out,
                          deadline=None if cfg.time_budget_s is None
                          else started + cfg.time_budget_s)
    if (out / 'last.pt').exists():
        trainer.resume(out / 'last.pt')
    records = trainer.fit(progress=progress, val_rows=_selection_split(traces))
    model.to('cpu')
    save_checkpoint(model, tokenizer, grammar, out, config={
        'preset': cfg.preset.model_dump(), 'train': cfg.rail.model_dump(),
        'base_steps': cfg.base_steps, 'base_dir': cfg.base_dir, 'base_lr': cfg.base_lr,
        'base_length_group': cfg.base_length_group,
        'schema_sha256': schema_hash},
        metrics={'base_lm_loss': base_curve[-1:], 'final': records[-1] if records else {},
                 'best_val_token_accuracy': trainer.best_val,
                 'train_minutes': round((time.monotonic() - started) / 60, 2),
                 'torch_threads': torch.get_num_threads(),
                 'base_training': base_report, 'rail_training': trainer.report,
                 'device': cfg.device}, data=traces.folder)
    if base_curve:
        (out / 'base_curve.json').write_text(json.dumps(base_curve) + '\n')
    plot_curves(out)
    return out


def grammar_words(grammar: Grammar) -> list[str]:
    """Return the grammar's string literals (keywords, enum members, schema names)."""
    return sorted({m.group(1) for m in re.finditer(r'"((?:[^"\\\n]|\\.)+)"', grammar.text)})


def _selection_split(traces: TraceSet) -> list:
    """Return the rows whose metric gates alpha lifts: compositional validation if present."""
    rows = traces.splits.get('val_compositional') or traces.splits['val']
    return rows[:256]


def plot_curves(folder: Path) -> Path | None:
    """Draw ``curves.png`` from ``train_log.jsonl`` (and ``base_curve.json``)."""
    log = folder / 'train_log.jsonl'
    if not log.exists():
        return None
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    records = [json.loads(line) for line in log.open() if line.strip()]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    base = folder / 'base_curve.json'
    if base.exists():
        axes[0, 0].plot(json.loads(base.read_text()), label='base pretraining', alpha=0.6)
    axes[0, 0].plot([r['step'] for r in records], [r['task'] for r in records],
                    label='rail: LM loss on programs')
    axes[0, 0].set(title='LM loss (nats/token)', xlabel='step', yscale='log')
    for key in sorted(k for k in records[0] if k.startswith('dual/')):
        axes[0, 1].plot([r['step'] for r in records], [r[key] for r in records],
                        label=key[5:])
    axes[0, 1].set(title='dual variables', xlabel='step')
    evals = [r for r in records if 'val_exact' in r]
    axes[1, 0].plot([r['step'] for r in evals], [r.get('val_token', 0) for r in evals],
                    marker='o', label='validation token accuracy (selects alpha lifts)')
    axes[1, 0].plot([r['step'] for r in evals], [r['val_exact'] for r in evals], marker='s',
                    label='validation exact match')
    axes[1, 0].plot([r['step'] for r in records], [r['alpha_max'] for r in records],
                    label='alpha_max')
    axes[1, 0].set(title='selection metric and gate budget', xlabel='step')
    axes[1, 1].plot([r['step'] for r in records],
                    [r['cfs_violation_rate'] for r in records], label='cfs violation rate')
    axes[1, 1].set(title='grammar violations (teacher forced)', xlabel='step')
    for ax in axes.flat:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / 'curves.png', dpi=90)
    plt.close(fig)
    return folder / 'curves.png'


def save_checkpoint(model, tokenizer, grammar: Grammar, out: Path, *, config: dict,
                    metrics: dict, data: Path | None) -> None:
    """Write the checkpoint files (see the module docstring)."""
    from safetensors.torch import save_file
    pretrained = config.get('preset', {}).get('pretrained')
    # A pretrained base is not copied: the checkpoint records which one (and its hashes).
    state = {k: v.contiguous() for k, v in model.state_dict().items()
             if not (pretrained and k.startswith('base.'))}
    # Tied embeddings share storage; safetensors stores each tensor once.
    seen, unique = set(), {}
    for k, v in state.items():
        if v.data_ptr() not in seen:
            seen.add(v.data_ptr())
            unique[k] = v
    save_file(unique, str(out / 'model.safetensors'))
    save_tokenizer(tokenizer, out)
    (out / 'grammar.lark').write_text(grammar.text)
    model.base.config.save_pretrained(str(out / 'base'))
    if pretrained:
        from bb_agent.model.pretrained import base_record
        config = {**config, 'base_model': base_record(pretrained)}
    config = {**config, 'format': 1, 'grammar': grammar.name,
              'grammar_sha256': hashlib.sha256(grammar.text.encode()).hexdigest(),
              'alpha_max': float(model.alpha_max),
              'rail': {**model.rail_config.__dict__, 'layers': list(model.rail_config.layers)},
              'rail_params': model.rail_parameter_count(),
              'base_params': model.base_parameter_count()}
    (out / 'config.json').write_text(json.dumps(config, indent=2) + '\n')
    (out / 'metrics.json').write_text(json.dumps(metrics, indent=2) + '\n')
    if data is not None and (data / 'data_card.json').exists():
        shutil.copy(data / 'data_card.json', out / 'data_card.json')

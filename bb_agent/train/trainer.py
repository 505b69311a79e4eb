"""Builder-rail training (stage 1): LM loss under Lagrangian constraints, PCGrad, alpha lift.

Each step: forward base + rail, the task loss (LM on programs) and the six constraint
losses, dual ascent on every constraint, then either PCGrad over the per-objective
gradients of the rail parameters or their plain sum. Every ``eval_every`` steps the
validation metric (teacher-forced exact match of whole programs) is measured and the gate
budget alpha_max is lifted by ``alpha_step`` only when it improved. Every step is logged
(losses, duals, gradient cosines, cfs violation rate, alpha); checkpoints are resumable.
"""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
import random

from pydantic import Field
import torch

from bb_agent.core.strict_model import StrictModel
from bb_agent.train import losses
from bb_agent.train.batches import Batch, LengthGroups, make_batch, trace_length
from bb_agent.train.lagrangian import Constraint, cosines, flat, pcgrad
from bb_agent.train.stopping import PLATEAU_CUTS, Stopping

CONSTRAINTS = ('cfs_energy', 'g2g_loss', 'build_loss', 'reuse_loss', 'kl_budget',
               'calibration_loss')


class TrainConfig(StrictModel):
    """Stage-1 settings (config/train/*.yaml and ``bb-agent train`` flags)."""

    steps: int = Field(200, ge=1, le=10_000_000)
    batch_size: int = Field(16, ge=1, le=4096)
    lr: float = Field(3e-3, gt=0, le=1.0)
    max_len: int = Field(256, ge=16, le=8192, description='tokens per example')
    seed: int = 0
    targets: dict[str, float] = Field(default_factory=lambda: {
        'cfs_energy': 0.02, 'g2g_loss': 0.3, 'build_loss': 0.05, 'reuse_loss': 0.6,
        'kl_budget': 2.0, 'calibration_loss': 0.05}, description='constraint targets c_k')
    eta: float = Field(0.05, gt=0, le=10.0, description='dual step size')
    pcgrad: bool = True
    pcgrad_every: int = Field(1, ge=1, le=1000, description='PCGrad on every n-th step')
    eval_every: int = Field(50, ge=1, le=1_000_000)
    alpha_step: float = Field(0.05, ge=0, le=1.0)
    alpha_cap: float = Field(0.6, ge=0, le=1.0)
    alpha_margin: float = Field(0.005, ge=0, le=1.0, description=(
        'the validation metric must beat its best by more than this to lift alpha: a '
        'change smaller than the noise of a 256-example validation is not an improvement'))
    log_every: int = Field(1, ge=1, le=100_000)
    length_group: int = Field(1, ge=1, le=4096, description=(
        'batches are cut from a pool of length_group x batch_size random examples sorted '
        'by length, so a batch pads little (16 halves a rail step on the CPU, but see the '
        'README: quality not yet shown equal); 1 = plain random batches'))
    patience: int = Field(0, ge=0, le=1000, description=(
        'validation evals without an improvement beyond alpha_margin before the rail stops '
        '(0: run every step)'))
    cache_prefix: bool = Field(False, description=(
        "keep each example's frozen base states below the first rail layer (fp16, CPU) "
        'after its first use and run only the layers above: for a deep pretrained base, '
        'where most layers sit below the rail (LLaMA-family bases only)'))


class RailTrainer:
    """Trains a :class:`~bb_agent.model.builder.BuilderModel`'s rail on traces.

    Args:
        model: the builder model (base frozen).
        tokenizer: HF fast tokenizer with eos/pad/sep tokens.
        train, val: trace lists.
        new_constraint: returns a fresh grammar constraint (the decoder's own).
        cfg: training settings.
        out: folder for the log (``train_log.jsonl``) and ``last.pt``.
    """

    def __init__(self, model, tokenizer, train, val, new_constraint: Callable[[], object],
                 cfg: TrainConfig, out: Path, *, deadline: float | None = None) -> None:
        self.model, self.tok, self.train, self.val = model, tokenizer, train, val
        self.new_constraint, self.cfg, self.out = new_constraint, cfg, Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.params = list(model.rail_parameters())
        self.opt = torch.optim.AdamW(self.params, lr=cfg.lr, weight_decay=0.01)
        self.stopping = Stopping(patience=cfg.patience, margin=cfg.alpha_margin, lower=False,
                                 decays=PLATEAU_CUTS if cfg.patience else 0, deadline=deadline)
        self.report: dict = {}
        self.constraints = {k: Constraint(cfg.targets[k], cfg.eta) for k in CONSTRAINTS}
        self.step, self.best_val, self.rng = 0, -1.0, random.Random(cfg.seed)
        self.groups = LengthGroups([trace_length(t) for t in train], cfg.batch_size,
                                   cfg.length_group)
        self.vocab = model.base.get_output_embeddings().weight.shape[0]
        self.device = next(model.parameters()).device
        self.encodings: dict = {}  # make_batch's cache: each row is tokenized once
        # id(trace) -> ((T_i, D) fp16 states entering the first rail layer, (n_i, K) fp16
        # base logits at its targets or None), with cfg.cache_prefix
        self.prefixes: dict | None = {} if cfg.cache_prefix else None
        # A compact output vocabulary (a pretrained base): losses over its K columns only.
        self.compact = getattr(model, 'vocab_ids', None) is not None

    # --- one step --------------------------------------------------------------------
    def batch(self, rows) -> Batch:
        """Encode ``rows`` with grammar masks."""
        batch = make_batch(rows, self.tok, max_len=self.cfg.max_len,
                           new_constraint=self.new_constraint, vocab=self.vocab,
                           cache=self.encodings)
        return (batch.compacted(self.model.vocab_ids) if self.compact else batch).to(self.device)

    def frozen(self, rows, batch: Batch) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Return the cached base states (B, T, D) below the rail and base logits, or Nones.

        With ``cache_prefix``, a row seen for the first time gets its states from one
        frozen forward pass (the padded batch gives the same states at real positions:
        causal attention, right padding) and, over a compact output vocabulary, the base's
        own logits (n_i, K) at its targets, so the KL term needs no second forward.
        """
        if self.prefixes is None:
            return None, None
        missing = [i for i, r in enumerate(rows) if id(r) not in self.prefixes]
        if missing:
            ids, target = batch.ids[missing], batch.target[missing]
            states = self.model.prefix_hidden(ids)
            base = None
            if self.compact:
                with torch.no_grad():
                    base = self.model.base_logits_at(ids, target, prefix=states, compact=True)
                base = base.split(target.sum(1).tolist())
            for j, i in enumerate(missing):
                length = len(self.encodings[id(rows[i])][0])
                self.prefixes[id(rows[i])] = (
                    states[j, :length].to('cpu', torch.float16),
                    None if base is None else base[j].to('cpu', torch.float16))
        b, t = batch.ids.shape
        out = torch.zeros(b, t, self.model.base.config.hidden_size)
        for i, r in enumerate(rows):
            cached = self.prefixes[id(r)][0]
            out[i, :cached.shape[0]] = cached.float()
        base = torch.cat([self.prefixes[id(r)][1] for r in rows]).float().to(self.device) \
            if self.compact else None
        return out.to(self.device), base

    def objectives(self, batch: Batch, frozen=(None, None)
                   ) -> tuple[dict[str, torch.Tensor], dict]:
        """Return the task and constraint losses (tensors) and extra metrics.

        ``frozen``: :meth:`frozen`'s (prefix states, base logits) for ``batch``.
        """
        prefix, base_logits = frozen
        # logits (N, V) at the targets, or (N, K) over a compact output vocabulary
        out = self.model.forward_at(batch.ids, batch.target, prefix=prefix,
                                    compact=self.compact)
        if base_logits is None:
            with torch.no_grad():
                base_logits = self.model.base_logits_at(batch.ids, batch.target,
                                                        prefix=prefix, compact=self.compact)
        energy, violation = losses.cfs_energy(out.logits, batch)
        terms = {'task': losses.lm_loss(out.logits, batch), 'cfs_energy': energy,
                 'g2g_loss': losses.g2g_loss(self.model, out.hidden, batch),
                 'build_loss': losses.build_loss(self.model, out),
                 'reuse_loss': losses.reuse_loss(self.model, out),
                 'kl_budget': losses.kl_budget(out.logits, base_logits),
                 'calibration_loss': losses.calibration_loss(out.logits, batch)}
        return terms, {'cfs_violation_rate': violation}

    def train_step(self, rows) -> dict:
        """Run one optimisation step on ``rows``; return the log record."""
        self.model.train()
        batch = self.batch(rows)
        terms, extra = self.objectives(batch, self.frozen(rows, batch))
        # A term without a graph (g2g on a batch of one-step plans: no edges) is not
        # measured by this batch: its dual stays as it is and it adds no gradient.
        measured = {k for k in CONSTRAINTS if terms[k].requires_grad}
        duals = {k: self.constraints[k].update(terms[k].item()) if k in measured
                 else self.constraints[k].dual for k in CONSTRAINTS}
        weighted = {'task': terms['task']}
        for k in sorted(measured, key=CONSTRAINTS.index):
            if duals[k] > 0:
                weighted[k] = duals[k] * terms[k] / self.constraints[k].scale()
        self.opt.zero_grad(set_to_none=True)
        record = {'step': self.step, **{k: v.item() for k, v in terms.items()},
                  **{f'dual/{k}': v for k, v in duals.items()}, **extra,
                  'alpha_max': float(self.model.alpha_max)}
        if self.cfg.pcgrad and len(weighted) > 1 and self.step % self.cfg.pcgrad_every == 0:
            grads = {}
            names = list(weighted)
            for i, name in enumerate(names):
                g = torch.autograd.grad(weighted[name], self.params, allow_unused=True,
                                        retain_graph=i < len(names) - 1)
                grads[name] = flat(g, self.params)
            record['cos'] = cosines(grads)
            combined = pcgrad(list(grads.values()), self.rng)
            offset = 0
            for p in self.params:
                p.grad = combined[offset:offset + p.numel()].view_as(p).clone()
                offset += p.numel()
        else:
            sum(weighted.values()).backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.step += 1
        return record

    # --- validation and alpha ------------------------------------------------------------
    @torch.no_grad()
    def validate(self, rows) -> dict:
        """Return teacher-forced ``exact`` match and ``token`` accuracy of the outputs.

        ``exact``: every output token is the argmax; ``token``: the fraction that are.
        ``token`` gates alpha lifts, since whole-program exact match on held-out
        combinations moves in coarse steps.
        """
        self.model.eval()
        hits, right, total = 0, 0, 0
        for i in range(0, len(rows), self.cfg.batch_size):
            chunk = rows[i:i + self.cfg.batch_size]
            batch = make_batch(chunk, self.tok, max_len=self.cfg.max_len, new_constraint=None,
                               vocab=self.vocab, cache=self.encodings)
            if self.compact:  # a held-out split may need tokens training never used
                batch = batch.compacted(self.model.vocab_ids, strict=False)
            batch = batch.to(self.device)
            logits = self.model.forward_at(batch.ids, batch.target,
                                           prefix=self.frozen(chunk, batch)[0],
                                           compact=self.compact).logits
            good = logits.argmax(-1) == batch.gold()  # (N,)
            row = batch.target.nonzero()[:, 0]  # (N,) the example of each target position
            wrong = torch.bincount(row[~good], minlength=batch.ids.shape[0])
            hits += int((wrong == 0).sum())
            right += int(good.sum())
            total += int(good.numel())
        return {'exact': hits / max(1, len(rows)), 'token': right / max(1, total)}

    def maybe_lift_alpha(self, metric: float) -> bool:
        """Lift alpha_max by ``alpha_step`` when ``metric`` beats the best by the margin.

        The margin is ``alpha_margin``: a change within validation noise lifts nothing.
        """
        improved = metric > self.best_val + self.cfg.alpha_margin
        self.best_val = max(self.best_val, metric)
        if improved and self.step > self.cfg.eval_every:  # the first eval sets the baseline
            self.model.set_alpha_max(min(self.cfg.alpha_cap,
                                         float(self.model.alpha_max) + self.cfg.alpha_step))
        return improved

    # --- loop ----------------------------------------------------------------------------
    def fit(self, *, progress: bool = True, val_rows=None) -> list[dict]:
        """Train to ``cfg.steps``; return the log records (also appended to the log file)."""
        from bb_agent.train.progress import Progress
        val_rows = val_rows or self.val[:256]
        records = []
        log = (self.out / 'train_log.jsonl').open('a')
        bar = Progress(self.cfg.steps, 'rail', initial=self.step, enabled=progress)
        while self.step < self.cfg.steps:
            rows = [self.train[i] for i in self.groups.next(self.rng)]
            record = self.train_step(rows)
            if self.step % self.cfg.eval_every == 0 or self.step == self.cfg.steps:
                scores = self.validate(val_rows)
                record['val_exact'], record['val_token'] = scores['exact'], scores['token']
                record['alpha_lifted'] = self.maybe_lift_alpha(scores['token'])
                self.stopping.observe(self.step, scores['token'])
                self.stopping.keep([*self.params, self.model.alpha_max])
                bar.note(self.stopping.news() + f'; token accuracy; alpha_max '
                         f'{float(self.model.alpha_max):.2f}')
                self.save(self.out / 'last.pt')
            if self.step % self.cfg.log_every == 0 or 'val_exact' in record:
                log.write(json.dumps(record) + '\n')
                log.flush()
            records.append(record)
            if self.stopping.should_stop():
                break
            for group in self.opt.param_groups:  # a plateau's cuts (1.0 until one)
                group['lr'] = self.cfg.lr * self.stopping.lr_scale
            bar.update(1, lm=f'{record["task"]:.3f}', alpha=f'{record["alpha_max"]:.2f}',
                       **({'val_exact': f'{record["val_exact"]:.3f}'}
                          if 'val_exact' in record else {}))
        bar.close()
        if self.stopping.patience:  # the best validated rail (and its alpha), not the last
            self.stopping.restore([*self.params, self.model.alpha_max])
        self.report = self.stopping.report(self.step, bar.rate)
        log.close()
        return records

    def save(self, path: Path) -> None:
        """Write a resumable checkpoint (rail weights, optimiser, duals, step, rngs, batches)."""
        rail = {k: v for k, v in self.model.state_dict().items() if not k.startswith('base.')}
        torch.save({'rail': rail, 'opt': self.opt.state_dict(), 'step': self.step,
                    'best_val': self.best_val, 'rng': self.rng.getstate(),
                    'pending': self.groups.pending, 'torch_rng': torch.get_rng_state(),
                    'constraints': {k: c.state() for k, c in self.constraints.items()}}, path)

    def resume(self, path: Path) -> None:
        """Continue from :meth:`save`'s checkpoint."""
        state = torch.load(path, weights_only=False, map_location=self.device)
        self.model.load_state_dict(state['rail'], strict=False)
        self.opt.load_state_dict(state['opt'])
        self.step, self.best_val = state['step'], state['best_val']
        self.rng.setstate(state['rng'])
        self.groups.pending = state.get('pending', [])
        if 'torch_rng' in state:  # the skill router's Gumbel noise continues as it would have
            torch.set_rng_state(state['torch_rng'].cpu())
        self.constraints = {k: Constraint.from_state(v) for k, v in state['constraints'].items()}

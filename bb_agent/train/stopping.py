"""When to stop training: a fixed number of steps, a validation plateau, or a time budget.

A plateau is ``patience`` evaluations in a row that do not beat the best value by more
than ``margin`` (relative to its size for losses, absolute for accuracies). A plateau first
cuts the learning rate (``decays`` times, by ``factor`` each); only a plateau after the
last cut ends the phase, and the phase then hands back its best weights, not its last
(:meth:`Stopping.keep` / :meth:`Stopping.restore`): a too-high rate that makes validation
wobble is cut instead of ending training. The report says which rule ended the run, the
cuts and whether the metric was still improving, so a user can tell a converged run from a
truncated one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time

PLATEAU_CUTS = 2  # learning-rate cuts (x0.3 each) before a plateau ends a phase


@dataclass
class Stopping:
    """Tracks one training phase's evaluations and decides when it is done.

    Args:
        patience: evaluations without improvement before stopping; 0 never stops early.
        margin: improvement needed to count (a fraction of the best for ``lower`` metrics,
            absolute otherwise).
        lower: True when smaller is better (a loss).
        deadline: ``time.monotonic()`` value after which the phase stops, or None.
    """

    patience: int = 0
    margin: float = 0.01
    lower: bool = True
    deadline: float | None = None
    decays: int = 0  # learning-rate cuts a plateau takes before it ends the phase
    factor: float = 0.3  # each cut multiplies the learning rate by this
    lr_scale: float = 1.0  # the product of the cuts so far (the loop applies it)
    cuts: list[int] = field(default_factory=list)  # steps at which the rate was cut
    is_best: bool = False  # whether the latest evaluation is the best so far (keep it)
    best: float | None = None
    since_best: int = 0
    history: list[tuple[int, float]] = field(default_factory=list)
    reason: str = 'steps'
    final: dict | None = None  # report() at the end of the phase

    def observe(self, step: int, value: float) -> bool:
        """Record an evaluation; return True when it improved on the best by the margin."""
        self.history.append((step, value))
        if self.best is None:
            self.best, self.is_best = value, True
            return True
        self.is_best = value < self.best if self.lower else value > self.best
        need = self.margin * abs(self.best) if self.lower else self.margin
        better = value < self.best - need if self.lower else value > self.best + need
        if better:
            self.best, self.since_best = value, 0
        else:
            self.since_best += 1
            if self.lower:
                self.best = min(self.best, value)
            else:
                self.best = max(self.best, value)
        return better

    def should_stop(self) -> bool:
        """Return True (and set ``reason``) once the plateau or the deadline is reached."""
        if self.patience and self.since_best >= self.patience:
            if len(self.cuts) < self.decays:  # cut the rate and wait again
                self.cuts.append(self.history[-1][0] if self.history else 0)
                self.lr_scale *= self.factor
                self.since_best = 0
                return False
            self.reason = 'plateau'
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.reason = 'time_budget'
            return True
        return False

    def report(self, steps: int, steps_per_s: float) -> dict:
        """Return what the phase reached: steps, rule, rate, last values, still improving."""
        last = self.history[-3:]
        improving = None
        if len(last) >= 2:
            a, b = last[0][1], last[-1][1]
            improving = b < a * (1 - self.margin) if self.lower else b > a + self.margin
        return {'steps': steps, 'stopped_by': self.reason,
                'steps_per_s': round(steps_per_s, 3), 'best': self.best,
                'evals': self.history, 'lr_cuts': self.cuts,
                'still_improving': improving}

    def news(self) -> str:
        """Return the latest evaluation as one line: value, best, the rate's cuts."""
        step, value = self.history[-1]
        cuts = f', rate x{self.lr_scale:.2g} after {len(self.cuts)} plateau(s)' \
            if self.cuts else ''
        return f'step {step}: validation {value:.4f} (best {self.best:.4f}{cuts})'

    def keep(self, params) -> None:
        """Snapshot ``params`` (tensors) when the latest evaluation is the best so far."""
        if self.is_best:
            self._kept = [p.detach().clone() for p in params]

    def restore(self, params) -> bool:
        """Copy the best snapshot back into ``params``; return whether there was one."""
        kept = getattr(self, '_kept', None)
        if kept is None:
            return False
        import torch
        with torch.no_grad():
            for p, k in zip(params, kept, strict=True):
                p.copy_(k)
        return True


def warmup_then_scaled(stopping: Stopping, warmup: int):
    """Return a LambdaLR factor: linear warm-up over ``warmup`` steps, then the cuts' scale.

    The plateau rule's schedule: no horizon is known in advance (the step count is only a
    cap), so the rate stays at its peak until validation says otherwise.
    """
    return lambda step: min(1.0, (step + 1) / max(1, warmup)) * stopping.lr_scale

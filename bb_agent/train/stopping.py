"""When to stop training: a fixed number of steps, a validation plateau, or a time budget.

A plateau is ``patience`` evaluations in a row that do not beat the best value by more
than ``margin`` (relative to its size for losses, absolute for accuracies). The report
says which rule ended the run and whether the metric was still improving, so a user can
tell a converged run from a truncated one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time


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
    best: float | None = None
    since_best: int = 0
    history: list[tuple[int, float]] = field(default_factory=list)
    reason: str = 'steps'
    final: dict | None = None  # report() at the end of the phase

    def observe(self, step: int, value: float) -> bool:
        """Record an evaluation; return True when it improved on the best by the margin."""
        self.history.append((step, value))
        if self.best is None:
            self.best = value
            return True
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
                'evals': self.history, 'still_improving': improving}

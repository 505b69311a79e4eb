"""Auto-rollback: the newly promoted model's live quality signals, watched over a window.

Per proposal the builder records three signals (:func:`signals`):

- ``checker_rejection``: the model wrote no plan that passed the checker's pre-check;
- ``gate_mismatch``: the model's plan failed the intent gate;
- ``deferral``: the requester was asked a question instead of getting a plan.

The last ``window`` proposals of the model in force before a promotion are its baseline.
After a promotion the new model's first ``window`` proposals are watched; once at least
``min_n`` are in, a signal whose rate exceeds the baseline's by more than its threshold is
a regression, and :meth:`LiveWatch.record` says so (the builder then rolls back by itself).
Thresholds are absolute shares (0.25 = 25 points more deferrals than before).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

SIGNALS = ('checker_rejection', 'gate_mismatch', 'deferral')


def signals(prop) -> dict[str, bool]:
    """Return the live signals of one :class:`~bb_agent.domains.proposer.Proposal`."""
    return {'checker_rejection': prop.model_kind == 'unusable',
            'gate_mismatch': prop.model_kind == 'gated',
            'deferral': bool(prop.deferred)}


@dataclass
class Regression:
    """A signal that rose past its threshold after a promotion."""

    signal: str
    rate: float
    baseline: float
    threshold: float
    n: int

    def __str__(self) -> str:
        return (f'{self.signal} {self.rate:.2f} over {self.n} requests against '
                f'{self.baseline:.2f} before (allowed +{self.threshold:.2f})')


@dataclass
class LiveWatch:
    """See the module docstring."""

    window: int = 20
    min_n: int = 8
    thresholds: dict[str, float] = field(default_factory=lambda: {
        'checker_rejection': 0.25, 'gate_mismatch': 0.25, 'deferral': 0.25})

    def __post_init__(self) -> None:
        self.recent: deque[dict[str, bool]] = deque(maxlen=self.window)
        self.baseline: list[dict[str, bool]] | None = None  # None: nothing to watch
        self.watched: list[dict[str, bool]] = []

    def promoted(self) -> None:
        """Start watching a new model against the recent proposals of the one before."""
        self.baseline, self.watched = list(self.recent), []
        self.recent.clear()

    def stop(self) -> None:
        """Stop watching (after a rollback, or once the window passed)."""
        self.baseline, self.watched = None, []

    @property
    def watching(self) -> bool:
        """Whether a promotion's window is open."""
        return self.baseline is not None

    def record(self, prop) -> Regression | None:
        """Record one proposal of the model in force; return a regression, if one is seen."""
        sig = signals(prop)
        self.recent.append(sig)
        if self.baseline is None:
            return None
        self.watched.append(sig)
        if len(self.watched) < self.min_n:
            return None
        for name in SIGNALS:
            rate = _rate(self.watched, name)
            base = _rate(self.baseline, name)
            if rate - base > self.thresholds[name] + 1e-9:
                return Regression(name, rate, base, self.thresholds[name], len(self.watched))
        if len(self.watched) >= self.window:
            self.stop()  # the window passed without a regression: the promotion stands
        return None


def _rate(values: list[dict[str, bool]], name: str) -> float:
    return sum(v[name] for v in values) / len(values) if values else 0.0

"""Auto-rollback: the newly promoted model's live quality signals, watched over a window.

Per proposal the builder records four signals (:func:`signals`):

- ``checker_rejection``: the model wrote no plan that passed the checker's pre-check;
- ``gate_mismatch``: the model's plan failed the intent gate;
- ``deferral``: the requester was asked a question instead of getting a plan;
- ``motion_stop``: the safety monitor stopped the execution of the model's own plan
  (outcome STOPPED, code SAFETY_STOP). It arrives later than the proposal, from the
  agent's ledger events, and is set on that proposal's record (:meth:`LiveWatch.stopped`).
  A STOP for a reason outside the plan (a person walking in) counts too; the comparison
  with the previous model's rate in the same place is what makes it a regression.

The last ``window`` proposals of the model in force before a promotion are its baseline.
After a promotion the new model's first ``window`` proposals are watched; once at least
``min_n`` are in, a signal whose rate exceeds the baseline's by more than its threshold is
a regression, and :meth:`LiveWatch.record` says so (the builder then rolls back by itself).
Thresholds are absolute shares (0.25 = 25 points more deferrals than before).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

SIGNALS = ('checker_rejection', 'gate_mismatch', 'deferral', 'motion_stop')
MODEL_PLAN = 'accepted'  # Proposal.model_kind of a plan the model wrote and that went on


def signals(prop) -> dict[str, bool]:
    """Return the live signals of one :class:`~bb_agent.domains.proposer.Proposal`."""
    return {'checker_rejection': prop.model_kind == 'unusable',
            'gate_mismatch': prop.model_kind == 'gated',
            'deferral': bool(prop.deferred), 'motion_stop': False}


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
        'checker_rejection': 0.25, 'gate_mismatch': 0.25, 'deferral': 0.25,
        'motion_stop': 0.25})

    def __post_init__(self) -> None:
        self.recent: deque[dict[str, bool]] = deque(maxlen=self.window)
        self.baseline: list[dict[str, bool]] | None = None  # None: nothing to watch
        self.watched: list[dict[str, bool]] = []
        # correlation id -> the signals of a model-written plan, for a later motion stop
        # (the same dicts as in recent/watched; the oldest are dropped past 4 windows)
        self.plans: dict[str, dict[str, bool]] = {}

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

    def record(self, prop, correlation_id: str = '') -> Regression | None:
        """Record one proposal of the model in force; return a regression, if one is seen."""
        sig = signals(prop)
        self.recent.append(sig)
        if correlation_id and prop.model_kind == MODEL_PLAN:
            self.plans[correlation_id] = sig
            while len(self.plans) > 4 * self.window:
                self.plans.pop(next(iter(self.plans)))
        if self.baseline is not None and len(self.watched) >= self.window:
            self.stop()  # the window passed without a regression: the promotion stands
        if self.baseline is None:
            return None
        self.watched.append(sig)
        return self._judge()

    def stopped(self, correlation_id: str) -> Regression | None:
        """Mark that the safety monitor stopped this request's plan; return a regression.

        Unknown ids (a template's plan, another builder's, one long gone) change nothing.
        """
        sig = self.plans.pop(correlation_id, None)
        if sig is None:
            return None
        sig['motion_stop'] = True
        return self._judge() if self.baseline is not None and \
            any(s is sig for s in self.watched) else None

    def _judge(self) -> Regression | None:
        """Return the first signal whose watched rate rose past its threshold, or None.

        The window stays open until a proposal beyond it arrives (:meth:`record`), so the
        last watched plan's outcome still counts.
        """
        if len(self.watched) < self.min_n:
            return None
        for name in SIGNALS:
            rate = _rate(self.watched, name)
            base = _rate(self.baseline, name)
            if rate - base > self.thresholds[name] + 1e-9:
                return Regression(name, rate, base, self.thresholds[name], len(self.watched))
        return None


def _rate(values: list[dict[str, bool]], name: str) -> float:
    return sum(v[name] for v in values) / len(values) if values else 0.0

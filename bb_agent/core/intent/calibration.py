"""The confidence that drives deferral, fitted to predict whether a plan is faithful.

The builder model's own confidence measures fluency: a wrong plan written smoothly scores
0.95. Calibrated confidence combines it with the conformance gate's verdict:

- a plan the gate refuses gets ``fail`` (the measured share of such plans that were
  faithful anyway, near 0), so it always defers;
- a plan the gate accepts gets ``sigmoid(a * logit(raw) + b)``, Platt scaling fitted on
  validation data against "the executed plan equals the gold plan".

:func:`ece` and :func:`reliability` measure how honest a confidence is. The fitted
values live in the checkpoint folder (``calibration.json``); without one the raw
confidence passes through for gate-accepted plans (identity: a = 1, b = 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
import json
import math
from pathlib import Path

FILE = 'calibration.json'


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x > -60 else 0.0


@dataclass(frozen=True)
class Calibration:
    """Platt parameters for gate-accepted plans and the value for refused ones."""

    a: float = 1.0
    b: float = 0.0
    fail: float = 0.0
    fitted_on: str = 'identity'  # what it was fitted on ("val: 300 plans", ...)

    def __call__(self, raw: float, gate_ok: bool) -> float:
        """Return the calibrated confidence of a plan (in [0, 1])."""
        if not gate_ok:
            return self.fail
        return _sigmoid(self.a * _logit(raw) + self.b)

    def save(self, folder: Path) -> Path:
        """Write ``calibration.json`` into ``folder``; return its path."""
        path = Path(folder) / FILE
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + '\n')
        return path


def load_calibration(folder: Path | None) -> Calibration:
    """Return the checkpoint's calibration (identity when it has none or it is unreadable)."""
    path = Path(folder) / FILE if folder else None
    if path is None or not path.is_file():
        return Calibration()
    try:
        data = json.loads(path.read_text())
        return Calibration(float(data['a']), float(data['b']), float(data['fail']),
                           str(data.get('fitted_on', '')))
    except (ValueError, KeyError, TypeError):
        return Calibration()


def fit(raw: list[float], gate_ok: list[bool], faithful: list[bool], *,
        steps: int = 500, note: str = '') -> Calibration:
    """Fit Platt scaling on gate-accepted plans and the refused plans' faithful share.

    Gradient descent on the log loss (a, b start at the identity), an L2 pull toward the
    identity so a handful of examples cannot produce an extreme fit.
    """
    accepted = [(r, y) for r, g, y in zip(raw, gate_ok, faithful, strict=True) if g]
    refused = [y for g, y in zip(gate_ok, faithful, strict=True) if not g]
    # A refused plan's share, shrunk toward 0 (Laplace-style: one pseudo-failure).
    fail = sum(refused) / (len(refused) + 1) if refused else 0.0
    a, b = 1.0, 0.0
    if accepted and len({y for _, y in accepted}) > 1:
        xs = [(_logit(r), float(y)) for r, y in accepted]
        lr, lam = 0.05, 1e-3
        for _ in range(steps):
            ga = gb = 0.0
            for x, y in xs:
                err = _sigmoid(a * x + b) - y
                ga, gb = ga + err * x, gb + err
            n = len(xs)
            a -= lr * (ga / n + lam * (a - 1.0))
            b -= lr * (gb / n + lam * b)
    elif accepted:  # all faithful or none: the share, whatever raw says
        share = sum(y for _, y in accepted) / len(accepted)
        a, b = 0.0, _logit(min(max(share, 0.01), 0.99))
    return Calibration(round(a, 6), round(b, 6), round(fail, 6),
                       note or f'{len(accepted)} accepted, {len(refused)} refused plans')


def reliability(conf: list[float], correct: list[bool], bins: int = 10) -> list[dict]:
    """Return per-bin mean confidence, accuracy and count (equal-width bins over [0, 1])."""
    out = []
    for k in range(bins):
        lo, hi = k / bins, (k + 1) / bins
        idx = [i for i, c in enumerate(conf) if lo <= c < hi or (k == bins - 1 and c == 1.0)]
        if idx:
            out.append({'bin': [round(lo, 2), round(hi, 2)], 'n': len(idx),
                        'confidence': round(sum(conf[i] for i in idx) / len(idx), 4),
                        'accuracy': round(sum(correct[i] for i in idx) / len(idx), 4)})
    return out


def ece(conf: list[float], correct: list[bool], bins: int = 10) -> float | None:
    """Return the expected calibration error (None for no data)."""
    if not conf:
        return None
    n = len(conf)
    return round(sum(b['n'] / n * abs(b['confidence'] - b['accuracy'])
                     for b in reliability(conf, correct, bins)), 4)

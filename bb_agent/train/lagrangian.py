"""Constraints as dual variables, per-loss normalisation, and PCGrad.

The objective is ``L = L_task + sum_k lambda_k * l_k / scale_k`` with the projected dual
ascent ``lambda_k <- [lambda_k + eta * (l_hat_k - c_k)]_+``: a constraint that is violated
(l_hat_k > c_k) gains weight until it is met, then its weight decays back toward zero.
``l_hat_k`` is the loss *winsorised* to the 5–95% quantiles of its recent history (one
spike does not move the dual) and ``scale_k`` is the history's median (so losses of
different units pull with comparable strength).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
import random

import torch


@dataclass
class Constraint:
    """One constraint: its target c_k, step size eta, dual lambda_k and loss history."""

    target: float
    eta: float = 0.05
    dual: float = 0.0
    window: int = 64
    history: deque = field(default_factory=deque)

    def winsorised(self, value: float) -> float:
        """Record ``value``; return it clipped to the 5–95% quantiles of the history."""
        self.history.append(value)
        while len(self.history) > self.window:
            self.history.popleft()
        ordered = sorted(self.history)
        lo = ordered[int(0.05 * (len(ordered) - 1))]
        hi = ordered[int(0.95 * (len(ordered) - 1))]
        return min(max(value, lo), hi)

    def update(self, value: float) -> float:
        """Dual ascent step with ``value``; return the new dual."""
        self.dual = max(0.0, self.dual + self.eta * (self.winsorised(value) - self.target))
        return self.dual

    def scale(self) -> float:
        """Return the median of the recent history (1 before any value)."""
        if not self.history:
            return 1.0
        ordered = sorted(self.history)
        return max(abs(ordered[len(ordered) // 2]), 1e-6)

    def state(self) -> dict:
        """Return a JSON-able snapshot (checkpoints)."""
        return {'target': self.target, 'eta': self.eta, 'dual': self.dual,
                'history': list(self.history)}

    @classmethod
    def from_state(cls, state: dict) -> Constraint:
        """Inverse of :meth:`state`."""
        return cls(state['target'], state['eta'], state['dual'],
                   history=deque(state['history']))


def flat(grads: list[torch.Tensor | None], params: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate per-parameter gradients (None = zeros) into one vector."""
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                      for g, p in zip(grads, params, strict=True)])


def pcgrad(grads: list[torch.Tensor], rng: random.Random | None = None) -> torch.Tensor:
    """Combine per-objective gradient vectors with PCGrad (Yu et al., 2020).

    Each gradient is projected onto the normal plane of every other gradient it conflicts
    with (negative dot product), in random order; the projected gradients are summed.
    """
    rng = rng or random.Random(0)
    out = []
    for i, g in enumerate(grads):
        g = g.clone()
        order = [j for j in range(len(grads)) if j != i]
        rng.shuffle(order)
        for j in order:
            other = grads[j]
            dot = torch.dot(g, other)
            if dot < 0:
                g -= dot / other.dot(other).clamp_min(1e-20) * other
        out.append(g)
    return torch.stack(out).sum(0)


def cosines(grads: dict[str, torch.Tensor]) -> dict[str, float]:
    """Return the pairwise cosine similarity of named gradient vectors (for the logs)."""
    names = sorted(grads)
    out = {}
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            ga, gb = grads[names[a]], grads[names[b]]
            denom = ga.norm() * gb.norm()
            out[f'{names[a]}~{names[b]}'] = float(ga.dot(gb) / denom) if denom > 0 else 0.0
    return out

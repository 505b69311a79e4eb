"""The primary loss and the six constraint losses of builder-rail training.

Each returns a scalar tensor. Logits are taken at the batch's target positions only
(output tokens and EOS): ``sel`` (N, V) as :meth:`BuilderModel.forward_at` returns them
for ``batch.target``.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional

from bb_agent.train.batches import Batch

ECE_BINS = 10


def lm_loss(sel: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Cross-entropy of the output tokens (the primary task loss)."""
    return functional.cross_entropy(sel.float(), batch.gold())


def cfs_energy(sel: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, float]:
    """Return (mean grammar-invalid probability mass, violation rate of the argmax)."""
    probs = torch.softmax(sel.float(), -1)
    allowed = batch.allowed[batch.target]
    energy = (probs * (~allowed).float()).sum(-1)
    violation = (~allowed.gather(1, probs.argmax(-1, keepdim=True))).float().mean()
    return energy.mean(), float(violation)


def g2g_loss(model, hidden: torch.Tensor, batch: Batch) -> torch.Tensor:
    """BCE of the DAG head's edge scores against the gold edges (j < i only)."""
    scores = model.dag(hidden, batch.step_of, batch.steps)  # (B, S, S)
    steps = torch.arange(batch.steps, device=hidden.device)
    real = steps < (batch.step_of.max(1).values + 1).unsqueeze(1)  # (B, S): step occurs
    valid = real.unsqueeze(2) & real.unsqueeze(1) & (steps.unsqueeze(1) > steps)  # j < i
    if not valid.any():
        return scores.new_zeros(())
    return functional.binary_cross_entropy_with_logits(scores[valid], batch.edges[valid])


def build_loss(model, out) -> torch.Tensor:
    """Rail state vs the prototype of the skill chosen for it (composition of skills)."""
    total = []
    for layer, state in out.states.items():
        protos = model.blocks[str(layer)].skills.prototypes  # (K, R)
        total.append(((state - out.choices[layer] @ protos) ** 2).mean())
    return torch.stack(total).mean()


def reuse_loss(model, out) -> torch.Tensor:
    """Normalised entropy of skill usage (lower = fewer skills reused) + adapter growth."""
    terms = []
    for layer, choice in out.choices.items():
        usage = choice.reshape(-1, choice.shape[-1]).mean(0)  # (K,)
        entropy = -(usage * (usage + 1e-9).log()).sum() / math.log(choice.shape[-1])
        growth = model.blocks[str(layer)].skills.up.norm(dim=(1, 2))  # (K,) adapter size
        terms.append(entropy + 0.01 * (growth * usage.detach().gt(0)).sum())
    return torch.stack(terms).mean()


def kl_budget(sel: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """KL(model || base) at the target positions (both (N, V))."""
    logp, logq = torch.log_softmax(sel.float(), -1), torch.log_softmax(base.float(), -1)
    return (logp.exp() * (logp - logq)).sum(-1).mean()


def calibration_loss(sel: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Return the top token's expected calibration error (10 bins), before the update.

    Prequential: each batch is scored before the model trains on it. Differentiable in the
    confidences; the bin assignment is not.
    """
    probs = torch.softmax(sel.float(), -1)
    conf, pred = probs.max(-1)
    correct = (pred == batch.gold()).float()
    bins = (conf.detach() * ECE_BINS).long().clamp(max=ECE_BINS - 1)
    ece = conf.new_zeros(())
    for b in range(ECE_BINS):
        inside = bins == b
        if inside.any():
            ece = ece + inside.float().mean() * (conf[inside].mean() - correct[inside].mean()
                                                 ).abs()
    return ece

"""The builder rail's building blocks: composition blocks, the skill library, the DAG head.

Shapes use B = batch, T = new positions, S = all positions so far (cache included),
D = base model width, R = rail width, K = number of skills, r = LoRA rank, H = heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional


@dataclass(frozen=True)
class RailConfig:
    """Size and placement of the builder rail.

    Attributes:
        layers: indices of the base decoder layers that get a composition block.
        width: rail width R.
        heads: attention heads of each block's cross-attention (R % heads == 0).
        skills: size K of the skill library (program adapters).
        lora_rank: rank r of each skill's low-rank adapter.
        gumbel_tau: temperature of the straight-through Gumbel-softmax router.
        alpha_max: initial global gate budget (the trainer lifts it; 0 = base model only).
        gate_init: initial gate logit; alpha = alpha_max * sigmoid(gate) per channel.
        dag_width: projection width of the plan-graph (DAG) head.
        normed: read the base through a parameter-free RMS norm and write at the scale of
            the base's residual stream (see :func:`rms_unit`). A pretrained base's hidden
            states are large (SmolLM2 layer 24: RMS ~100, one channel ~24,000 at the first
            position); read raw, they saturate the blocks' tanh update, so the skills get
            no gradient, and a unit-scale write is drowned by the stream. False is the
            original block (checkpoints that predate the option).
    """

    layers: tuple[int, ...]
    width: int = 64
    heads: int = 2
    skills: int = 32
    lora_rank: int = 4
    gumbel_tau: float = 1.0
    alpha_max: float = 0.05
    gate_init: float = 4.0
    dag_width: int = 32
    normed: bool = False

    def __post_init__(self) -> None:
        if not self.layers or len(set(self.layers)) != len(self.layers):
            raise ValueError(f'rail layers must be distinct and non-empty: {self.layers}')
        if self.width % self.heads:
            raise ValueError(f'width {self.width} not divisible by heads {self.heads}')
        if self.skills < 1 or self.lora_rank < 1 or not 0.0 <= self.alpha_max <= 1.0:
            raise ValueError('skills and lora_rank must be >= 1 and alpha_max in [0, 1]')


def rms_unit(x: torch.Tensor, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``x`` (..., D) scaled to unit RMS per position, and that RMS (..., 1).

    No learned weight: the norm only puts the frozen base's states on the rail's scale.
    """
    rms = x.float().pow(2).mean(-1, keepdim=True).add(eps).sqrt().to(x.dtype)
    return x / rms, rms


class SkillLibrary(nn.Module):
    """K low-rank adapters and a router that picks one per position.

    Training uses the straight-through Gumbel-softmax (hard one-hot forward, soft gradient);
    evaluation takes the router's argmax, so decoding is deterministic.
    """

    def __init__(self, dim_in: int, dim_out: int, cfg: RailConfig) -> None:
        super().__init__()
        self.tau = cfg.gumbel_tau
        self.router = nn.Linear(cfg.width, cfg.skills)
        self.down = nn.Parameter(torch.randn(cfg.skills, dim_in, cfg.lora_rank) * dim_in ** -0.5)
        # B starts at zero: every adapter is a no-op until trained (LoRA convention).
        self.up = nn.Parameter(torch.zeros(cfg.skills, cfg.lora_rank, dim_out))
        # One prototype rail state per skill: the build loss pulls h^C toward the
        # composition (here: the prototype) of the skills chosen for it.
        self.prototypes = nn.Parameter(torch.randn(cfg.skills, cfg.width) * 0.02)
        # Which skills the router may pick (ablation); not saved with the weights.
        self.register_buffer('enabled', torch.ones(cfg.skills, dtype=torch.bool),
                             persistent=False)

    @property
    def size(self) -> int:
        """Return the number of skills K."""
        return self.prototypes.shape[0]

    def route(self, state: torch.Tensor) -> torch.Tensor:
        """Return one-hot skill choices (B, T, K) for rail states (B, T, R)."""
        # Ablated skills are never picked; with all of them ablated the choice is all zero
        # (no adapter at all). No data-dependent branch, so the graph exports.
        logits = self.router(state).masked_fill(~self.enabled, -1e9)
        if self.training:
            choice = functional.gumbel_softmax(logits, tau=self.tau, hard=True)
        else:
            choice = functional.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)
        return choice * self.enabled.to(choice.dtype)

    @torch.no_grad()
    def add_skills(self, n: int) -> list[nn.Parameter]:
        """Append ``n`` skills (no-op adapters until trained); return the grown parameters.

        Each new skill costs one router row, one rank-r adapter and one prototype, so the
        library grows by a constant per skill, independent of the skills already there.
        """
        router = nn.Linear(self.router.in_features, self.size + n).to(self.prototypes.device)
        router.weight[:self.size] = self.router.weight
        router.bias[:self.size] = self.router.bias
        self.router = router
        dim_in, rank = self.down.shape[1:]
        self.down = nn.Parameter(torch.cat([self.down, torch.randn(
            n, dim_in, rank, device=self.down.device) * dim_in ** -0.5]))
        self.up = nn.Parameter(torch.cat([self.up, self.up.new_zeros(n, *self.up.shape[1:])]))
        self.prototypes = nn.Parameter(torch.cat([self.prototypes, torch.randn(
            n, self.prototypes.shape[1], device=self.prototypes.device) * 0.02]))
        self.enabled = torch.cat([self.enabled, self.enabled.new_ones(n)])
        return [self.router.weight, self.router.bias, self.down, self.up, self.prototypes]

    def forward(self, x: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
        """Apply the chosen adapters: x (B, T, Din), choice (B, T, K) -> (B, T, Dout)."""
        low = torch.einsum('btd,kdr->btkr', x, self.down)  # (B, T, K, r)
        return torch.einsum('btkr,krd,btk->btd', low, self.up, choice)


class CompBlock(nn.Module):
    """One composition block: ``h^C_l = CompBlock(h^C_{l-1}, h^B_l)``.

    Cross-attention (causal) from the rail state into the base hidden states of this layer,
    then a gated recurrent update whose input passes through the chosen skill's adapter.
    Returns the new rail state and its projection to the base width.
    """

    def __init__(self, base_width: int, cfg: RailConfig) -> None:
        super().__init__()
        self.heads, self.width, self.normed = cfg.heads, cfg.width, cfg.normed
        self.q = nn.Linear(cfg.width, cfg.width)
        self.kv = nn.Linear(base_width, 2 * cfg.width)
        self.update = nn.Linear(2 * cfg.width, cfg.width)
        self.gate = nn.Linear(2 * cfg.width, cfg.width)
        self.skills = SkillLibrary(2 * cfg.width, cfg.width, cfg)
        self.norm = nn.LayerNorm(cfg.width)
        self.out = nn.Linear(cfg.width, base_width)

    def forward(self, rail: torch.Tensor, base: torch.Tensor,
                cache: list[torch.Tensor] | None):
        """Rail (B, T, R), base (B, T, D), cache [k, v] of (B, S_past, R) or None.

        Returns (new rail (B, T, R), projection (B, T, D), skill choice (B, T, K), cache).
        """
        k, v = self.kv(rms_unit(base)[0] if self.normed else base).chunk(2, dim=-1)  # (B,T,R)
        if cache is not None and cache[0] is not None:
            k, v = torch.cat([cache[0], k], 1), torch.cat([cache[1], v], 1)
        b, t, _ = rail.shape
        s = k.shape[1]

        def heads(x):  # (B, L, R) -> (B, H, L, R/H)
            return x.view(b, -1, self.heads, self.width // self.heads).transpose(1, 2)

        # Query i (absolute position s - t + i) may see keys 0 .. s - t + i.
        # (arange comparison rather than tril(s - t): it exports with symbolic t and s)
        pos_q = torch.arange(t, device=rail.device).unsqueeze(1) + (s - t)  # (T, 1)
        mask = torch.arange(s, device=rail.device).unsqueeze(0) <= pos_q  # (T, S)
        attended = functional.scaled_dot_product_attention(heads(self.q(rail)), heads(k), heads(v),
                                                  attn_mask=mask)
        attended = attended.transpose(1, 2).reshape(b, t, self.width)
        x = torch.cat([rail, attended], -1)  # (B, T, 2R)
        choice = self.skills.route(rail)
        proposal = torch.tanh(self.update(x) + self.skills(x, choice))
        z = torch.sigmoid(self.gate(x))
        new = self.norm((1 - z) * rail + z * proposal)
        return new, self.out(new), choice, [k, v]


class DagHead(nn.Module):
    """Scores dependency edges between program steps from pooled hidden states.

    ``scores[b, i, j]`` is the logit that step i depends on step j; only j < i is scored
    (the rest is -inf), since dependencies point to earlier steps.
    """

    def __init__(self, base_width: int, cfg: RailConfig) -> None:
        super().__init__()
        self.q = nn.Linear(base_width, cfg.dag_width)
        self.k = nn.Linear(base_width, cfg.dag_width)
        self.scale = cfg.dag_width ** -0.5

    def forward(self, hidden: torch.Tensor, step_of: torch.Tensor, steps: int) -> torch.Tensor:
        """Hidden (B, T, D), step_of (B, T) step index per position or -1 -> (B, S, S)."""
        onehot = functional.one_hot(step_of.clamp(min=0), steps).to(hidden.dtype)
        onehot = onehot * (step_of >= 0).unsqueeze(-1).to(hidden.dtype)  # (B, T, S)
        counts = onehot.sum(1).clamp(min=1.0).unsqueeze(-1)  # (B, S, 1)
        pooled = onehot.transpose(1, 2) @ hidden / counts  # (B, S, D): mean per step
        scores = (self.q(pooled) @ self.k(pooled).transpose(1, 2)) * self.scale
        causal = torch.ones(steps, steps, dtype=torch.bool, device=hidden.device).tril(-1)
        return scores.masked_fill(~causal, float('-inf'))

"""The dual-rail builder model: a frozen Hugging Face causal LM plus a learned builder rail.

At every rail layer l, a forward hook on the base decoder layer replaces its output with

    h_l = alpha_l * out(h^C_l) + (1 - alpha_l) * h^B_l,   alpha_l = alpha_max * sigmoid(g_l)

so alpha_l <= alpha_max (the trainer's global budget) and, with alpha_max = 0, the logits
are exactly the base model's. With ``RailConfig.normed`` the rail reads h^B_l at unit RMS
and its write ``out(h^C_l)`` is multiplied by the RMS of h^B_l at that position. The
base is frozen: no gradients, eval mode, weights never modified. Base models are loaded
from a local directory only, never from a hub.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
import functools
import os
from pathlib import Path

import torch
from torch import nn

from bb_agent.model.rail import CompBlock, DagHead, RailConfig, rms_unit


@dataclass
class BuilderCache:
    """Incremental-decoding state.

    Holds the base model's KV cache and the rail's per-layer cross-attention keys/values.
    """

    base: object = None  # transformers Cache
    rail: dict[int, list] = field(default_factory=dict)
    length: int = 0  # positions consumed so far


@dataclass
class BuilderOutput:
    """What one forward pass returns.

    logits (B, T, V); cache; hidden (B, T, D) when asked; per rail layer: skill choices
    (B, T, K) and rail states h^C (B, T, R).
    """

    logits: torch.Tensor
    cache: BuilderCache
    hidden: torch.Tensor | None = None
    choices: dict[int, torch.Tensor] = field(default_factory=dict)
    states: dict[int, torch.Tensor] = field(default_factory=dict)


def decoder_layers(base: nn.Module) -> nn.ModuleList:
    """Return the base model's stack of decoder layers (GPT-2, LLaMA/Qwen, GPT-OSS, ...)."""
    n = base.config.num_hidden_layers
    for module in base.modules():
        if isinstance(module, nn.ModuleList) and len(module) == n:
            return module
    raise ValueError(f'no ModuleList of {n} decoder layers in {type(base).__name__}')


class _Skip(nn.Module):
    """Stands in for a decoder layer whose output is already known (a cached prefix)."""

    def forward(self, hidden_states, *_args, **_kwargs):
        return hidden_states


class _StopForwardError(Exception):
    """Raised by a pre-hook to end a forward pass once the prefix is known."""


def lm_logits_at(base: nn.Module, input_ids: torch.Tensor,
                 keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return a causal LM's logits (N, V) where ``keep`` (B, T) is True, and hidden (B, T, D).

    The backbone runs over every position, the LM head (output embedding) only where kept;
    the same logits as the full forward for LLaMA/Qwen/GPT-2-style heads. ``hidden`` is
    the final (normed) hidden state.
    """
    hidden = base.base_model(input_ids=input_ids, use_cache=False).last_hidden_state
    return base.get_output_embeddings()(hidden[keep]), hidden


class BuilderModel(nn.Module):
    """Frozen base LM + builder rail (composition blocks, skills, gates, DAG head).

    Args:
        base: a decoder-only ``PreTrainedModel`` (causal LM head).
        rail: rail configuration; ``rail.layers`` index the base's decoder layers.
    """

    def __init__(self, base: nn.Module, rail: RailConfig) -> None:
        super().__init__()
        self.base = base
        self.rail_config = rail
        base.requires_grad_(False)
        base.eval()
        width = base.config.hidden_size
        n_layers = base.config.num_hidden_layers
        if any(not 0 <= i < n_layers for i in rail.layers):
            raise ValueError(f'rail layers {rail.layers} outside 0..{n_layers - 1}')
        self.layers = tuple(sorted(rail.layers))
        self.entry = nn.Linear(width, rail.width)  # h^C before the first block, from h^B
        self.blocks = nn.ModuleDict({str(i): CompBlock(width, rail) for i in self.layers})
        self.gates = nn.ParameterDict({str(i): nn.Parameter(torch.full((width,),
                                                                        rail.gate_init))
                                       for i in self.layers})
        self.dag = DagHead(width, rail)
        self.register_buffer('alpha_max', torch.tensor(float(rail.alpha_max)))
        # The output vocabulary (K,) token ids, or None for the whole of the base's: a
        # pretrained base has 49k tokens, of which a DSL uses a few hundred.
        self.register_buffer('vocab_ids', None)
        self._ctx: dict | None = None  # per-forward state shared with the hooks
        stack = decoder_layers(base)
        first = stack[self.layers[0]]
        self._hooks = [first.register_forward_pre_hook(self._enter)]
        self._hooks += [stack[i].register_forward_hook(self._make_hook(i)) for i in self.layers]

    @classmethod
    def from_base_dir(cls, path: str | Path, rail: RailConfig, **kwargs) -> BuilderModel:
        """Load the base model from a local directory (never a hub) and add a rail."""
        from transformers import AutoModelForCausalLM
        os.environ.setdefault('HF_HUB_OFFLINE', '1')
        base = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, **kwargs)
        return cls(base, rail)

    # --- parameters ------------------------------------------------------------------
    def rail_parameters(self):
        """Yield the learned (rail) parameters; the base's are frozen."""
        for name, param in self.named_parameters():
            if not name.startswith('base.'):
                yield param

    def rail_parameter_count(self) -> int:
        """Return the number of learned rail parameters."""
        return sum(p.numel() for p in self.rail_parameters())

    def base_parameter_count(self) -> int:
        """Return the number of (frozen) base parameters."""
        return sum(p.numel() for p in self.base.parameters())

    def set_vocabulary(self, ids) -> None:
        """Train over token ``ids`` alone (sorted, unique); None: the whole vocabulary.

        Training losses then run over these K columns (``compact`` logits: the LM head on
        K rows instead of V). Decoding still gets full logits: the planner limits the
        choice to this vocabulary plus the tokens of the request's own symbols (world ids
        it never saw in training), as part of the grammar constraint.
        """
        self.vocab_ids = None if ids is None else torch.tensor(
            sorted(set(int(i) for i in ids)), dtype=torch.long,
            device=self.alpha_max.device)

    def logits(self, hidden: torch.Tensor, *, compact: bool = False) -> torch.Tensor:
        """Return next-token logits (..., V) of final hidden states (..., D).

        ``compact``: over the output vocabulary only, (..., K) in ``vocab_ids`` order
        (training losses; the same as the full logits restricted to those columns).
        """
        head = self.base.get_output_embeddings()
        if self.vocab_ids is None or not compact:
            return head(hidden)
        kept = hidden @ head.weight[self.vocab_ids].T  # (..., K)
        if getattr(head, 'bias', None) is not None:
            kept = kept + head.bias[self.vocab_ids]
        return kept

    @property
    def prefix_layer(self) -> int:
        """Return the first rail layer: the base's states below it do not depend on the rail."""
        return self.layers[0]

    @torch.no_grad()
    def prefix_hidden(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Return the hidden states (B, T, D) entering the first rail layer.

        They depend on the frozen base alone, so training computes them once per example
        and runs only the layers above (:meth:`forward_at` with ``prefix``).
        """
        captured = {}

        def grab(_module, args, kwargs=None):
            captured['h'] = args[0] if args else kwargs['hidden_states']
            raise _StopForwardError

        hook = decoder_layers(self.base)[self.prefix_layer].register_forward_pre_hook(
            grab, with_kwargs=True)
        try:
            self.base.base_model(input_ids=input_ids, use_cache=False)
        except _StopForwardError:
            pass
        finally:
            hook.remove()
        return captured['h']

    @contextlib.contextmanager
    def _from_prefix(self):
        """Swap the decoder layers below the first rail layer for pass-throughs."""
        if self.base.config.model_type == 'gpt2':  # adds positions to inputs_embeds
            raise ValueError('prefix caching needs a rotary-position base (LLaMA family)')
        stack = decoder_layers(self.base)
        saved = [stack[i] for i in range(self.prefix_layer)]
        for i in range(self.prefix_layer):
            stack[i] = _Skip()
        try:
            yield
        finally:
            for i, layer in enumerate(saved):
                stack[i] = layer

    def set_alpha_max(self, value: float) -> None:
        """Set the global gate budget (owned by the trainer), in [0, 1]."""
        if not 0.0 <= value <= 1.0:
            raise ValueError(f'alpha_max must be in [0, 1], got {value}')
        self.alpha_max.fill_(value)

    def alpha(self, layer: int) -> torch.Tensor:
        """Return the per-channel gate (D,) of a rail layer; always <= alpha_max."""
        return self.alpha_max * torch.sigmoid(self.gates[str(layer)])

    def train(self, mode: bool = True) -> BuilderModel:
        """Set the rail's mode; the base stays in eval mode (it is frozen)."""
        super().train(mode)
        self.base.eval()
        return self

    # --- forward ---------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, *, cache: BuilderCache | None = None,
                output_hidden: bool = False) -> BuilderOutput:
        """Run base + rail on ``input_ids`` (B, T), continuing ``cache`` if given."""
        cache = cache or BuilderCache()
        self._ctx = {'cache': cache, 'rail': None, 'choices': {}, 'states': {}}
        try:
            out = self.base.base_model(input_ids=input_ids, past_key_values=cache.base,
                                       use_cache=True)
        finally:
            ctx, self._ctx = self._ctx, None
        cache.base = out.past_key_values
        cache.length += input_ids.shape[1]
        hidden = out.last_hidden_state  # (B, T, D), final norm applied
        return BuilderOutput(self.logits(hidden), cache, hidden if output_hidden else None,
                             ctx['choices'], ctx['states'])

    def _hidden(self, input_ids: torch.Tensor, prefix: torch.Tensor | None) -> torch.Tensor:
        """Return final hidden states (B, T, D) of whole sequences, from ``prefix`` if given."""
        if prefix is None:
            return self.base.base_model(input_ids=input_ids, use_cache=False).last_hidden_state
        with self._from_prefix():
            return self.base.base_model(inputs_embeds=prefix.to(self.alpha_max.dtype),
                                        use_cache=False).last_hidden_state

    def forward_at(self, input_ids: torch.Tensor, keep: torch.Tensor, *,
                   prefix: torch.Tensor | None = None, compact: bool = False) -> BuilderOutput:
        """Run base + rail over whole sequences (B, T), no cache; logits only where ``keep``.

        For training and scoring: ``logits`` is (N, V) for the N positions where ``keep``
        (B, T) is True, row-major, and ``hidden`` (B, T, D) the final hidden states. The LM
        head, a quarter of the default model's FLOPs, runs on those positions alone.
        ``prefix`` (B, T, D): :meth:`prefix_hidden` of ``input_ids``; only the layers from
        the first rail layer up then run (the same result, without the frozen lower layers).
        ``compact``: logits (N, K) over the output vocabulary (:meth:`logits`).
        """
        self._ctx = {'cache': BuilderCache(), 'rail': None, 'choices': {}, 'states': {}}
        try:
            hidden = self._hidden(input_ids, prefix)
        finally:
            ctx, self._ctx = self._ctx, None
        return BuilderOutput(self.logits(hidden[keep], compact=compact), ctx['cache'], hidden,
                             ctx['choices'], ctx['states'])

    def base_logits_at(self, input_ids: torch.Tensor, keep: torch.Tensor, *,
                       prefix: torch.Tensor | None = None,
                       compact: bool = False) -> torch.Tensor:
        """Return the base model's own logits (N, V) where ``keep`` (B, T) is True (alpha 0).

        Over the same output vocabulary as the model's (:meth:`set_vocabulary`).
        """
        return self.logits(self._hidden(input_ids, prefix)[keep], compact=compact)

    def _enter(self, _module, args, kwargs=None):
        if self._ctx is not None:
            hidden = args[0] if args else kwargs['hidden_states']
            normed = self.rail_config.normed
            self._ctx['rail'] = self.entry(rms_unit(hidden)[0] if normed else hidden)

    def _make_hook(self, layer: int):
        # A partial of a bound method (not a closure): deepcopy rebinds it to the copy.
        return functools.partial(self._layer_hook, layer)

    def _layer_hook(self, layer: int, _module, _args, output):
        ctx = self._ctx
        if ctx is None:  # the base is being used on its own
            return output
        base_h = output[0] if isinstance(output, tuple) else output  # (B, T, D)
        rail_cache = ctx['cache'].rail.get(layer)
        new, proj, choice, rail_cache = self.blocks[str(layer)](ctx['rail'], base_h,
                                                                rail_cache)
        ctx['cache'].rail[layer] = rail_cache
        ctx['rail'], ctx['choices'][layer], ctx['states'][layer] = new, choice, new
        if self.rail_config.normed:  # write at the stream's scale at this position
            proj = proj * rms_unit(base_h)[1].detach()
        alpha = self.alpha(layer).to(base_h.dtype)
        mixed = alpha * proj + (1 - alpha) * base_h
        return (mixed, *output[1:]) if isinstance(output, tuple) else mixed

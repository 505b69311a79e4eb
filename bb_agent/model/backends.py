"""Decoding backends: a common step interface over torch eager (and ONNX Runtime later).

A backend turns a prompt into next-token logits and advances one token at a time with a
key/value cache; :meth:`fork` copies the state for beam search.
"""

from __future__ import annotations

import copy
from typing import Protocol

import torch


class Backend(Protocol):
    """What the decoder needs from a model runtime."""

    vocab_size: int

    def start(self, prompt_ids: list[int]) -> tuple[torch.Tensor, object]:
        """Run the prompt; return (next-token logits (V,), state)."""

    def step(self, state: object, token: int) -> tuple[torch.Tensor, object]:
        """Feed one token; return (next-token logits (V,), new state)."""

    def fork(self, state: object) -> object:
        """Return an independent copy of ``state``."""


class TorchBackend:
    """Eager torch backend, on CPU or CUDA.

    Serves a :class:`~bb_agent.model.builder.BuilderModel` or any Hugging Face causal LM.

    Args:
        model: the model; called as ``model(ids, cache=...)`` for a BuilderModel, or with
            ``past_key_values`` for a plain causal LM.
        device: ``cpu``, ``cuda`` or None for CUDA when available.
    """

    def __init__(self, model: torch.nn.Module, *, device: str | None = None) -> None:
        self.device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        self.model = model.to(self.device).eval()
        self.builder = hasattr(model, 'rail_config')
        base = model.base if self.builder else model
        self.vocab_size = base.get_output_embeddings().weight.shape[0]

    @torch.inference_mode()
    def _run(self, ids: list[int], state):
        x = torch.tensor([ids], dtype=torch.long, device=self.device)
        if self.builder:
            out = self.model(x, cache=state)
            return out.logits[0, -1].float().cpu(), out.cache
        out = self.model(input_ids=x, past_key_values=state, use_cache=True)
        return out.logits[0, -1].float().cpu(), out.past_key_values

    def start(self, prompt_ids: list[int]) -> tuple[torch.Tensor, object]:
        """Run the prompt (at least one token) and return the next-token logits."""
        if not prompt_ids:
            raise ValueError('the prompt needs at least one token (e.g. BOS)')
        return self._run(list(prompt_ids), None)

    def step(self, state, token: int) -> tuple[torch.Tensor, object]:
        """Feed one token."""
        return self._run([int(token)], state)

    def fork(self, state):
        """Deep-copy the cache (beam search)."""
        return copy.deepcopy(state)

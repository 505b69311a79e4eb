"""Turns traces into padded training batches: ids, target mask, grammar masks, step map.

Sequence layout: ``prompt tokens, <sep>, output tokens, <eos>``; the loss covers the
output and EOS. Grammar masks (which next tokens the grammar allows at each output
position) come from the same llguidance matcher the decoder uses, so ``cfs_energy`` trains
exactly what the strict mask enforces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from bb_agent.train.dataset import Trace


@dataclass
class Batch:
    """Shapes: B examples, T positions, V vocabulary, S plan steps."""

    ids: torch.Tensor  # (B, T) int64, padded with <pad>
    target: torch.Tensor  # (B, T) bool: position t predicts ids[t + 1], which is output
    allowed: torch.Tensor | None  # (B, T, V) bool: grammar-allowed next tokens (target only)
    step_of: torch.Tensor  # (B, T) int64: plan step of each position, -1 if none
    edges: torch.Tensor  # (B, S, S) float: 1 where step i depends on step j
    steps: int

    def to(self, device: torch.device | str) -> Batch:
        """Return this batch with its tensors on ``device`` (masks are built on the CPU)."""
        def move(t):
            return None if t is None else t.to(device, non_blocking=True)
        return Batch(move(self.ids), move(self.target), move(self.allowed), move(self.step_of),
                     move(self.edges), self.steps)


def encode(trace: Trace, tokenizer, max_len: int) -> tuple[list[int], int, list[int]]:
    """Return (ids, index of <sep>, line number of each output token), cut to ``max_len``."""
    prompt = tokenizer.encode(trace.prompt())[: max_len // 2]
    enc = tokenizer(trace.output, return_offsets_mapping=True)
    lines = [trace.output.count('\n', 0, start) for start, _ in enc['offset_mapping']]
    ids = prompt + [tokenizer.sep_token_id] + enc['input_ids'] + [tokenizer.eos_token_id]
    lines = lines + [-1]  # EOS belongs to no line
    return ids[:max_len], len(prompt), lines[:max(0, max_len - len(prompt) - 1)]


def make_batch(traces: list[Trace], tokenizer, *, max_len: int,
               new_constraint: Callable[[], object] | None, vocab: int) -> Batch:
    """Build a batch; ``new_constraint`` None skips grammar masks."""
    encoded = [encode(t, tokenizer, max_len) for t in traces]
    width = max(len(ids) for ids, _, _ in encoded)
    steps = max(1, max(len(t.graph['nodes']) if t.graph and 'lines' in t.graph else 0
                       for t in traces))
    b = len(traces)
    ids = torch.full((b, width), tokenizer.pad_token_id, dtype=torch.long)
    target = torch.zeros(b, width, dtype=torch.bool)
    step_of = torch.full((b, width), -1, dtype=torch.long)
    edges = torch.zeros(b, steps, steps)
    allowed = torch.ones(b, width, vocab, dtype=torch.bool) if new_constraint else None
    for row, (trace, (seq, sep, lines)) in enumerate(zip(traces, encoded, strict=True)):
        ids[row, :len(seq)] = torch.tensor(seq)
        first = sep  # position of <sep>: it predicts the first output token
        target[row, first:len(seq) - 1] = True
        graph = trace.graph if trace.graph and 'lines' in trace.graph else None
        if graph:
            line_to_node = {line: i for i, line in enumerate(graph['lines'])}
            for k, line in enumerate(lines):
                node = line_to_node.get(line, -1)
                if first + 1 + k < width:
                    step_of[row, first + 1 + k] = node
            for i, j in graph['edges']:
                edges[row, i, j] = 1.0
        if new_constraint is not None:
            constraint = new_constraint()
            for pos in range(first, len(seq) - 1):
                allowed[row, pos] = constraint.allowed()
                if not constraint.consume(seq[pos + 1]):
                    break  # invalid gold (or cut): the rest stays all-allowed
    return Batch(ids, target, allowed, step_of, edges, steps)

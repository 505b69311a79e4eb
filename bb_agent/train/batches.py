"""Turns traces into padded training batches: ids, target mask, grammar masks, step map.

Sequence layout: ``prompt tokens, <sep>, output tokens, <eos>``; the loss covers the
output and EOS. Grammar masks (which next tokens the grammar allows at each output
position) come from the same llguidance matcher the decoder uses, so ``cfs_energy`` trains
exactly what the strict mask enforces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import random

import torch

from bb_agent.train.dataset import Trace


@dataclass
class Batch:
    """Shapes: B examples, T positions, V vocabulary, S plan steps."""

    ids: torch.Tensor  # (B, T) int64, padded with <pad>
    target: torch.Tensor  # (B, T) bool: position t predicts ids[t + 1], which is output
    # (never the last column, so ``target`` also selects the predicting positions)
    allowed: torch.Tensor | None  # (B, T, V) bool: grammar-allowed next tokens (target only)
    step_of: torch.Tensor  # (B, T) int64: plan step of each position, -1 if none
    edges: torch.Tensor  # (B, S, S) float: 1 where step i depends on step j
    steps: int
    # (V,) int64: full id -> column of a compact output vocabulary (-1: not in it); when set,
    # ``gold`` and ``allowed`` are in compact columns (see :meth:`compacted`)
    columns: torch.Tensor | None = None

    def gold(self) -> torch.Tensor:
        """Return the gold next tokens (N,) of the N target positions, row-major."""
        gold = self.ids[:, 1:][self.target[:, :-1]]
        return gold if self.columns is None else self.columns[gold]

    def compacted(self, vocab_ids: torch.Tensor, *, strict: bool = True) -> Batch:
        """Return this batch over the output vocabulary ``vocab_ids`` (K,) alone.

        ``strict`` (training): gold tokens must be in it (the training outputs built it),
        and one outside is an error, not a silent skip. Otherwise (scoring) such a gold
        token maps to column -1, which no prediction matches.
        """
        size = max(int(vocab_ids.max()), int(self.ids.max())) + 1
        columns = torch.full((size,), -1, dtype=torch.long)
        columns[vocab_ids.cpu()] = torch.arange(vocab_ids.numel())
        gold = self.gold().cpu()
        if strict and (columns[gold] < 0).any():
            raise ValueError('a gold token is outside the output vocabulary')
        allowed = None if self.allowed is None else self.allowed[..., vocab_ids.cpu()]
        return Batch(self.ids, self.target, allowed, self.step_of, self.edges, self.steps,
                     columns.to(self.ids.device))

    def to(self, device: torch.device | str) -> Batch:
        """Return this batch with its tensors on ``device`` (masks are built on the CPU)."""
        def move(t):
            return None if t is None else t.to(device, non_blocking=True)
        return Batch(move(self.ids), move(self.target), move(self.allowed), move(self.step_of),
                     move(self.edges), self.steps, move(self.columns))


@dataclass
class LengthGroups:
    """Draws batches of similar length: fewer pad positions, so less compute per batch.

    A pool of ``group`` x ``size`` random rows is sorted by length and cut into batches,
    which come out in random order; then a new pool. Every row is as likely as in plain
    random batches; only which rows share a batch changes. ``pending`` (row indices) is
    part of a resumable checkpoint.
    """

    lengths: list[int]  # per row, any proxy for its token count
    size: int
    group: int = 16
    pending: list[list[int]] = field(default_factory=list)

    def next(self, rng: random.Random) -> list[int]:
        """Return the row indices of the next batch."""
        if not self.pending:
            n = len(self.lengths)
            size = min(self.size, n)
            # A whole number of batches, drawn at random: no row is left out every time.
            pool = sorted(rng.sample(range(n), min(n // size, self.group) * size),
                          key=self.lengths.__getitem__)
            self.pending = [pool[i:i + size] for i in range(0, len(pool), size)]
            rng.shuffle(self.pending)
        return self.pending.pop()


def trace_length(trace: Trace) -> int:
    """Return a trace's length in characters (prompt and output), a proxy for tokens."""
    return len(trace.prompt()) + len(trace.output)


def encode(trace: Trace, tokenizer, max_len: int) -> tuple[list[int], int, list[int]]:
    """Return (ids, index of <sep>, line number of each output token), cut to ``max_len``."""
    prompt = tokenizer.encode(trace.prompt())[: max_len // 2]
    enc = tokenizer(trace.output, return_offsets_mapping=True)
    lines = [trace.output.count('\n', 0, start) for start, _ in enc['offset_mapping']]
    ids = prompt + [tokenizer.sep_token_id] + enc['input_ids'] + [tokenizer.eos_token_id]
    lines = lines + [-1]  # EOS belongs to no line
    return ids[:max_len], len(prompt), lines[:max(0, max_len - len(prompt) - 1)]


def make_batch(traces: list[Trace], tokenizer, *, max_len: int,
               new_constraint: Callable[[], object] | None, vocab: int,
               cache: dict | None = None) -> Batch:
    """Build a batch; ``new_constraint`` None skips grammar masks.

    ``cache`` (a dict kept by the caller for one tokenizer and ``max_len``) keeps each
    trace's encoding, keyed by the trace object's id, so the traces must outlive it: a
    training run draws the same rows again and again, and tokenizing them is ~3% of a base
    step on a 2-core CPU.
    """
    cache = {} if cache is None else cache
    for t in traces:
        if id(t) not in cache:
            cache[id(t)] = encode(t, tokenizer, max_len)
    encoded = [cache[id(t)] for t in traces]
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

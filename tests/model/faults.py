"""Fault-injecting backends for decoding tests (the only fakes: each injects one fault)."""

import time

import torch


class FlatBackend:
    """A model with no preference at all: uniform logits over the vocabulary."""

    def __init__(self, vocab_size):
        self.vocab_size = vocab_size

    def start(self, prompt_ids):
        return torch.zeros(self.vocab_size), None

    def step(self, state, token):
        return torch.zeros(self.vocab_size), None

    def fork(self, state):
        return state


class BrokenBackend(FlatBackend):
    """A model whose logits are -inf everywhere (e.g. a corrupted checkpoint)."""

    def start(self, prompt_ids):
        return torch.full((self.vocab_size,), float('-inf')), None

    step = lambda self, state, token: self.start(None)  # noqa: E731


class GrammarHostileBackend(FlatBackend):
    """A model that puts -inf on every token the grammar allows (it only emits violations)."""

    def __init__(self, vocab_size, constraint):
        super().__init__(vocab_size)
        self.constraint, self.tracking = constraint, True

    def _logits(self):
        logits = torch.zeros(self.vocab_size)
        if self.tracking:
            logits[self.constraint.allowed()] = float('-inf')
        return logits

    def start(self, prompt_ids):
        return self._logits(), None

    def step(self, state, token):
        self.tracking = self.tracking and self.constraint.consume(token)
        return self._logits(), None


class TemptedBackend(GrammarHostileBackend):
    """A model that pulls hard towards disallowed tokens.

    One allowed, non-blank token ranks just above them once the soft penalty is applied,
    so greedy decoding stays in the grammar while the invalid mass stays high.
    """

    def __init__(self, vocab_size, constraint, *, pull, penalty, detokenize):
        super().__init__(vocab_size, constraint)
        self.pull, self.penalty = pull, penalty
        self.blank = [not detokenize([i]).strip() for i in range(vocab_size)]

    def _logits(self):
        allowed = self.constraint.allowed()
        logits = torch.where(allowed, torch.zeros(self.vocab_size),
                             torch.full((self.vocab_size,), self.pull))
        favourite = next(i for i in allowed.nonzero().flatten().tolist() if not self.blank[i])
        logits[favourite] = self.pull - self.penalty + 1.0
        return logits


class SlowBackend:
    """Wraps a backend and makes every step take ``delay_s`` seconds."""

    def __init__(self, inner, delay_s):
        self.inner, self.delay_s, self.vocab_size = inner, delay_s, inner.vocab_size

    def start(self, prompt_ids):
        return self.inner.start(prompt_ids)

    def step(self, state, token):
        time.sleep(self.delay_s)
        return self.inner.step(state, token)

    def fork(self, state):
        return self.inner.fork(state)

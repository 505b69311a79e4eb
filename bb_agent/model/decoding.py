"""Grammar-masked decoding: strict, soft (with a circuit breaker) and constrained beam search.

- **strict**: a hard mask (-inf on every token the grammar disallows), so the output always
  parses; if no token is possible the result is ``NO_VALID_CONTINUATION``, never free text.
- **soft**: ``logits - energy_scale * energy`` with energy 1 on disallowed tokens. The
  step's grammar energy is the probability mass left on disallowed tokens; when it stays
  above ``energy_tau`` for ``breaker_steps`` steps in a row, decoding switches to the hard
  mask. A soft domain whose beam empties falls back to unconstrained decoding.
- **free**: no grammar at all (the unconstrained baseline; never used by strict domains).
- **beam** (``num_beams > 1``): constrained beam search with a diversity penalty and a
  grammar weight (soft) or pruning (strict).

Every run honours ``max_tokens``, a wall-clock ``timeout_s`` (default 30 s, returning the
partial text) and a cancellation callback, and reports a length-normalised confidence.
Under the strict mask a run that uses up ``max_tokens`` returns as text its longest prefix
the grammar accepts (whole statements; ``tokens`` keeps all that were generated), so the
text parses; the outcome still says MAX_TOKENS, and callers treat it as unfinished.
Timeouts and cancels return the raw partial text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import enum
import math
import time

import torch

from bb_agent.model.backends import Backend
from bb_agent.model.constraint import GrammarConstraint


class DecodeOutcome(enum.Enum):
    """How a decode ended."""

    OK = 'ok'  # EOS in an accepting state (strict/soft) or EOS after leaving the grammar (soft)
    MAX_TOKENS = 'max_tokens'  # the token budget ran out; text is partial
    TIMEOUT = 'timeout'  # the wall-clock limit ran out; text is partial
    CANCELED = 'canceled'  # the cancel callback asked to stop; text is partial
    NO_VALID_CONTINUATION = 'no_valid_continuation'  # strict: nothing the grammar allows


@dataclass(frozen=True)
class DecodeConfig:
    """Decoding settings (per domain; see config/)."""

    mode: str = 'strict'  # strict | soft | free (no grammar at all: baselines, free text)
    max_tokens: int = 256
    timeout_s: float = 30.0  # wall clock, seconds
    temperature_start: float = 1.2  # annealed to temperature_end over max_tokens
    temperature_end: float = 0.7
    schedule: str = 'linear'  # linear | cosine | constant
    greedy: bool = False  # argmax instead of sampling (temperature then only shapes scores)
    energy_scale: float = 5.0  # soft mode: logit penalty on disallowed tokens
    energy_tau: float = 0.5  # soft mode: grammar energy (invalid mass) that counts as high
    breaker_steps: int = 3  # soft mode: consecutive high-energy steps before the hard mask
    num_beams: int = 1
    diversity_penalty: float = 0.0  # log-prob penalty per earlier beam choosing the token
    grammar_weight: float = 2.0  # soft beams: penalty on disallowed tokens
    eos_bias: float = 0.0  # logit bonus on EOS, ramping from 0 to this over max_tokens
    blank_penalty: float = 0.0  # logit penalty on whitespace-only tokens (no-ops in most DSLs)
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in ('strict', 'soft', 'free') or self.schedule not in ('linear', 'cosine',
                                                                         'constant'):
            raise ValueError(f'bad mode/schedule: {self.mode}/{self.schedule}')
        if self.max_tokens < 1 or self.timeout_s <= 0 or self.num_beams < 1:
            raise ValueError('max_tokens, timeout_s and num_beams must be positive')
        if min(self.temperature_start, self.temperature_end) <= 0:
            raise ValueError('temperatures must be > 0')

    def temperature(self, step: int) -> float:
        """Return the annealed temperature at ``step``."""
        if self.schedule == 'constant':
            return self.temperature_start
        frac = min(1.0, step / max(1, self.max_tokens - 1))
        weight = 1 - frac if self.schedule == 'linear' else 0.5 * (1 + math.cos(math.pi * frac))
        return self.temperature_end + (self.temperature_start - self.temperature_end) * weight


@dataclass
class DecodeResult:
    """Outcome, text, tokens and confidence of one decode."""

    outcome: DecodeOutcome
    tokens: list[int]
    text: str = ''
    # exp(mean log-prob of the chosen tokens), in (0, 1]: fluency, not faithfulness; the
    # confidence deferral reads is bb_agent.core.intent.calibration's
    confidence: float = 0.0
    hard_mask_from: int | None = None  # soft mode: step at which the breaker switched
    left_grammar: bool = False  # soft mode: a disallowed token was emitted
    steps: int = 0
    logprobs: list[float] = field(default_factory=list)


class Decoder:
    """Runs grammar-masked decoding on a backend.

    Args:
        backend: the model runtime.
        new_constraint: returns a fresh :class:`GrammarConstraint` for one decode.
        eos_token: the EOS id.
        detokenize: token ids -> text.
    """

    def __init__(self, backend: Backend, new_constraint: Callable[[], GrammarConstraint], *,
                 eos_token: int, detokenize: Callable[[list[int]], str]) -> None:
        self.backend, self.new_constraint = backend, new_constraint
        self.eos, self.detokenize = eos_token, detokenize
        self._blank: torch.Tensor | None = None  # (V,) bool: whitespace-only tokens

    def length_control(self, scores: torch.Tensor, step: int, cfg: DecodeConfig) -> torch.Tensor:
        """Apply the EOS ramp and the blank-token penalty (both off by default)."""
        if cfg.blank_penalty:
            if self._blank is None:
                self._blank = torch.tensor(
                    [bool(t) and not t.strip() for t in
                     (self.detokenize([i]) for i in range(scores.numel()))])
            scores = scores - cfg.blank_penalty * self._blank.float()
        if cfg.eos_bias:
            scores = scores.clone()
            scores[self.eos] += cfg.eos_bias * step / max(1, cfg.max_tokens - 1)
        return scores

    def generate(self, prompt_ids: list[int], cfg: DecodeConfig, *,
                 cancel: Callable[[], bool] | None = None) -> DecodeResult:
        """Decode one output for ``prompt_ids``."""
        deadline = time.monotonic() + cfg.timeout_s
        gen = torch.Generator().manual_seed(cfg.seed) if cfg.seed is not None else None
        if cfg.num_beams > 1:
            from bb_agent.model.beam import beam_search
            result = beam_search(self, prompt_ids, cfg, deadline, cancel)
        else:
            result = self._sample(prompt_ids, cfg, deadline, cancel, gen)
        return self._finish(result, strict=cfg.mode == 'strict')

    def _finish(self, result: DecodeResult, strict: bool = False) -> DecodeResult:
        keep = len(result.tokens)
        if strict and result.outcome is DecodeOutcome.MAX_TOKENS:
            keep = self.accepting_prefix(result.tokens)  # tokens: all that were generated
        result.text = self.detokenize(result.tokens[:keep])
        if result.logprobs:
            mean = sum(result.logprobs) / len(result.logprobs)
            result.confidence = math.exp(mean)
        return result

    def accepting_prefix(self, tokens: list[int]) -> int:
        """Return the length of the longest prefix of ``tokens`` the grammar accepts (0: none)."""
        constraint, keep = self.new_constraint(), 0
        for i, token in enumerate(tokens):
            if not constraint.consume(token):
                break
            if constraint.accepting():
                keep = i + 1
        return keep

    def stopped(self, deadline: float, cancel, tokens, logprobs, step) -> DecodeResult | None:
        """Return the partial result when time is up or cancellation was asked for."""
        if cancel is not None and cancel():
            return DecodeResult(DecodeOutcome.CANCELED, tokens, logprobs=logprobs, steps=step)
        if time.monotonic() >= deadline:
            return DecodeResult(DecodeOutcome.TIMEOUT, tokens, logprobs=logprobs, steps=step)
        return None

    def _sample(self, prompt_ids, cfg: DecodeConfig, deadline, cancel, gen) -> DecodeResult:
        logits, state = self.backend.start(prompt_ids)
        hard, tracking = cfg.mode == 'strict', cfg.mode != 'free'
        constraint = self.new_constraint() if tracking else None
        high, switched = 0, None
        tokens: list[int] = []
        logprobs: list[float] = []
        for step in range(cfg.max_tokens):
            early = self.stopped(deadline, cancel, tokens, logprobs, step)
            if early:
                return early
            temp = cfg.temperature(step)
            scores = self.length_control(logits, step, cfg)
            if tracking:
                allowed = constraint.allowed()
                if not hard:
                    # The energy penalty is on the logits; temperature scales the result.
                    soft = (scores - cfg.energy_scale * (~allowed).float()) / temp
                    energy = float(torch.softmax(soft, -1)[~allowed].sum())
                    high = high + 1 if energy > cfg.energy_tau else 0
                    if high >= cfg.breaker_steps:
                        hard, switched = True, step
                    else:
                        scores = soft * temp  # undone below: one division by temperature
                if hard:
                    scores = scores.masked_fill(~allowed, float('-inf'))
            if not torch.isfinite(scores).any():  # nothing the model (and grammar) allows
                return DecodeResult(DecodeOutcome.NO_VALID_CONTINUATION, tokens,
                                    logprobs=logprobs, steps=step, hard_mask_from=switched)
            logp = torch.log_softmax(scores / temp, -1)
            token = int(logp.argmax() if cfg.greedy else
                        torch.multinomial(logp.exp(), 1, generator=gen))
            logprobs.append(float(logp[token]))
            if token == self.eos:
                complete = tracking and constraint.accepting()  # always true when hard
                return DecodeResult(DecodeOutcome.OK, tokens, logprobs=logprobs, steps=step + 1,
                                    hard_mask_from=switched, left_grammar=not complete)
            if tracking and not constraint.consume(token):
                tracking = False  # soft mode emitted a disallowed token: the grammar is left
            tokens.append(token)
            logits, state = self.backend.step(state, token)
        return DecodeResult(DecodeOutcome.MAX_TOKENS, tokens, logprobs=logprobs,
                            steps=cfg.max_tokens, hard_mask_from=switched,
                            left_grammar=not tracking)

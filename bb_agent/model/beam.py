"""Constrained beam search (used by :class:`~bb_agent.model.decoding.Decoder`).

Each beam carries its own model state and grammar matcher. Strict domains prune every
disallowed continuation; soft domains penalise them by ``grammar_weight``. A diversity
penalty lowers a token's score for each earlier beam that already chose it this step.
When no beam has a finite continuation, a strict domain returns ``NO_VALID_CONTINUATION``
(never unconstrained text); a soft domain keeps disallowed continuations as penalised
candidates, i.e. it falls back to unconstrained decoding wherever the grammar has nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import torch

from bb_agent.model.decoding import DecodeConfig, DecodeOutcome, DecodeResult


@dataclass
class _Beam:
    tokens: list[int]
    logprobs: list[float]
    state: object
    logits: torch.Tensor
    constraint: object
    done: bool = False

    @property
    def score(self) -> float:
        """Length-normalised log-probability."""
        return sum(self.logprobs) / max(1, len(self.logprobs))


def beam_search(decoder, prompt_ids, cfg: DecodeConfig, deadline, cancel) -> DecodeResult:
    """Run constrained beam search; see the module docstring."""
    logits, state = decoder.backend.start(prompt_ids)
    strict, free = cfg.mode == 'strict', cfg.mode == 'free'
    beams = [_Beam([], [], state, logits, None if free else decoder.new_constraint())]
    for step in range(cfg.max_tokens):
        best = max(beams, key=lambda b: b.score)
        early = decoder.stopped(deadline, cancel, best.tokens, best.logprobs, step)
        if early:
            return early
        live = [b for b in beams if not b.done]
        if not live:
            break
        candidates = []  # (score, beam, token, logprob)
        chosen: dict[int, int] = {}
        for beam in live:
            scores = decoder.length_control(beam.logits, step, cfg)
            if not free:
                allowed = beam.constraint.allowed()
                scores = scores.masked_fill(~allowed, float('-inf')) if strict else \
                    scores - cfg.grammar_weight * (~allowed).float()
            logp = torch.log_softmax(scores / cfg.temperature(step), -1)
            if cfg.diversity_penalty and chosen:
                for tok, times in chosen.items():
                    logp[tok] -= cfg.diversity_penalty * times
            top = torch.topk(logp, min(cfg.num_beams, logp.numel()))
            for value, tok in zip(top.values.tolist(), top.indices.tolist(), strict=True):
                if math.isfinite(value):  # -inf (pruned) and NaN (all -inf logits) drop out
                    candidates.append((sum(beam.logprobs) + value, beam, tok, value))
            if top.values.numel() and math.isfinite(float(top.values[0])):
                chosen[int(top.indices[0])] = chosen.get(int(top.indices[0]), 0) + 1
        if not candidates:
            # Strict: every continuation was pruned. Soft beams never prune (disallowed tokens
            # stay, penalised: that is their fall-back to unconstrained decoding), so they
            # only get here when the model itself has no finite logit.
            return DecodeResult(DecodeOutcome.NO_VALID_CONTINUATION, best.tokens,
                                logprobs=best.logprobs, steps=step)
        candidates.sort(key=lambda c: -c[0] / (len(c[1].logprobs) + 1))
        nxt = [b for b in beams if b.done]
        for _, beam, tok, value in candidates[:cfg.num_beams]:
            constraint = None if free else beam.constraint.fork()
            if tok == decoder.eos:
                nxt.append(_Beam(beam.tokens, beam.logprobs + [value], None, beam.logits,
                                 constraint, done=True))
                continue
            ok = free or constraint.consume(tok)
            if strict and not ok:
                continue
            logits, state = decoder.backend.step(decoder.backend.fork(beam.state), tok)
            nxt.append(_Beam(beam.tokens + [tok], beam.logprobs + [value], state, logits,
                             constraint))
        beams = sorted(nxt, key=lambda b: -b.score)[:cfg.num_beams]
        if all(b.done for b in beams):
            break
    finished = [b for b in beams if b.done]
    if finished:
        top = max(finished, key=lambda b: b.score)
        return DecodeResult(DecodeOutcome.OK, top.tokens, logprobs=top.logprobs,
                            steps=len(top.logprobs))
    top = max(beams, key=lambda b: b.score)
    return DecodeResult(DecodeOutcome.MAX_TOKENS, top.tokens, logprobs=top.logprobs,
                        steps=cfg.max_tokens)

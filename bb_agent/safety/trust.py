"""The KL trust region of a promotion: how far the candidate's token distribution moved.

On a reference set (request, world, gold program), both models read the same prompt and
the gold program token by token (teacher forcing). At every position that predicts a
program token (and the end of program), KL(candidate || active) of the two next-token
distributions is taken; the mean over all positions is the gate's ``kl`` metric, in nats
per token. Both models must share one tokenizer, or the distributions are not comparable
and the trust region cannot be measured (the gate then fails closed).
"""

from __future__ import annotations

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.prompting import world_context
from bb_agent.safety.registry import files_sha256

TOKENIZER_FILES = ('tokenizer.json', 'tokenizer_config.json')


def _sequence(planner, row) -> tuple[list[int], int]:
    """Return (prompt + gold program + eos ids, index of the first predicting position)."""
    tok = planner.tokenizer
    prompt = planner.prompt_ids(row.text, world_context(row.world))
    program = tok.encode(row.program, add_special_tokens=False) + [tok.eos_token_id]
    return prompt + program, len(prompt) - 1


def mean_kl(candidate, active, rows) -> float:
    """Return the mean per-token KL(candidate || active) in nats over ``rows``' gold programs.

    ``candidate``/``active``: torch :class:`~bb_agent.model.planner.Planner` s of checkpoints
    with the same tokenizer. Rows without a gold program are skipped.
    """
    import torch
    from torch.nn import functional
    if candidate.model is None or active.model is None:
        raise BBError(ErrorCode.INVALID_ARGUMENT, 'the KL trust region needs torch models')
    if files_sha256(candidate.checkpoint.folder, TOKENIZER_FILES) != files_sha256(
            active.checkpoint.folder, TOKENIZER_FILES):
        raise BBError(ErrorCode.INVALID_ARGUMENT, 'the candidate has another tokenizer: '
                                                  'its token distribution cannot be compared')
    total, count = 0.0, 0
    with torch.inference_mode():
        for row in rows:
            if not row.program:
                continue
            ids, first = _sequence(active, row)
            x = torch.tensor([ids])  # (1, T)
            keep = torch.zeros_like(x, dtype=torch.bool)
            keep[0, first:len(ids) - 1] = True  # positions that predict program tokens
            log_c = functional.log_softmax(candidate.model.forward_at(x, keep).logits.float(), -1)
            log_a = functional.log_softmax(active.model.forward_at(x, keep).logits.float(), -1)
            kl = (log_c.exp() * (log_c - log_a)).sum(-1)  # (N,) nats per position
            total += float(kl.sum())
            count += int(kl.numel())
    if count == 0:
        raise BBError(ErrorCode.INVALID_ARGUMENT, 'no reference rows with a gold program')
    return total / count

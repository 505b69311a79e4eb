"""Grammar constraints for decoding: llguidance matchers over the domain's own grammar.

The grammar text comes from :mod:`bb_agent.core.dsl.grammar` (the file the checker parses,
specialised with the schema's vocabulary); :func:`~bb_agent.core.dsl.grammar.llguidance_text`
adds the options that make llguidance accept exactly what lark accepts.
"""

from __future__ import annotations

import llguidance
import llguidance.hf
import numpy as np
import torch

from bb_agent.core.dsl.grammar import Grammar, llguidance_text
from bb_agent.core.outcomes import BBError, ErrorCode


def llg_tokenizer(hf_tokenizer, *, vocab_size: int | None = None) -> llguidance.LLTokenizer:
    """Build llguidance's tokenizer from any Hugging Face fast tokenizer.

    Args:
        hf_tokenizer: a ``PreTrainedTokenizerFast`` with an EOS token.
        vocab_size: the model's vocabulary (embedding) size when larger than the tokenizer's.
    """
    if hf_tokenizer.eos_token_id is None:
        raise BBError(ErrorCode.MODEL_UNAVAILABLE, 'the tokenizer has no EOS token')
    return llguidance.hf.from_tokenizer(hf_tokenizer, n_vocab=vocab_size)


class GrammarConstraint:
    """The set of grammar-valid next tokens, advanced token by token.

    Args:
        tokenizer: llguidance tokenizer (see :func:`llg_tokenizer`).
        grammar: the domain grammar (already specialised where it has @vocab rules).
        vocab_size: size of the model's logits.
        vocabulary: bool (V,) of the tokens the model may use at all (a pretrained base's
            output vocabulary, see :meth:`~bb_agent.model.builder.BuilderModel.
            set_vocabulary`), or None for every token.
    """

    def __init__(self, tokenizer: llguidance.LLTokenizer, grammar: Grammar | str,
                 vocab_size: int, *, vocabulary: torch.Tensor | None = None,
                 _matcher: llguidance.LLMatcher | None = None) -> None:
        self.tokenizer, self.vocab_size, self.vocabulary = tokenizer, vocab_size, vocabulary
        if _matcher is None:
            text = grammar if isinstance(grammar, str) else llguidance_text(grammar)
            _matcher = llguidance.LLMatcher(tokenizer, llguidance.LLMatcher.grammar_from_lark(
                text), log_level=0)
            if _matcher.is_error():
                raise BBError(ErrorCode.INTERNAL, f'grammar does not compile: '
                                                  f'{_matcher.get_error()}')
        self.matcher = _matcher
        # One bit per token, little-endian within each 32-bit word: (ceil(V/32),) int32.
        self._bitmask = np.zeros((vocab_size + 31) // 32, dtype=np.int32)

    def allowed(self) -> torch.Tensor:
        """Return a bool mask (V,) of the tokens the grammar allows next."""
        self.matcher.unsafe_compute_mask_ptr(self._bitmask.ctypes.data, self._bitmask.nbytes)
        # Unpack in numpy (a few µs at 32k tokens; llguidance's torch helper is
        # torch.compile'd, which costs a compile on first use and threads on every call).
        words = self._bitmask.astype('<i4', copy=False)  # a no-op on little-endian CPUs
        bits = np.unpackbits(words.view(np.uint8), bitorder='little')
        mask = torch.from_numpy(bits[:self.vocab_size].view(np.bool_))
        return mask if self.vocabulary is None else mask & self.vocabulary

    def consume(self, token: int) -> bool:
        """Advance by ``token``; False (and an error state) when the grammar rejects it."""
        return bool(self.matcher.consume_token(token)) and not self.matcher.is_error()

    def accepting(self) -> bool:
        """Return True when the text so far is a complete sentence of the grammar."""
        return self.matcher.is_accepting()

    def fork(self) -> GrammarConstraint:
        """Return an independent copy (for beams)."""
        return GrammarConstraint(self.tokenizer, '', self.vocab_size,
                                 vocabulary=self.vocabulary, _matcher=self.matcher.deep_copy())

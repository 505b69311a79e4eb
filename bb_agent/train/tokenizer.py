"""Byte-level BPE tokenizers trained locally with the ``tokenizers`` package (no hub).

Byte-level means every string has an encoding (there are no unknown tokens), which the
grammar mask needs: any text the grammar allows is reachable token by token.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ('<eos>', '<pad>', '<sep>')  # ids 0, 1, 2: end, padding, prompt/program


def train_bpe(texts: Iterable[str], vocab_size: int, *, min_frequency: int = 2):
    """Train a byte-level BPE and return it as a ``PreTrainedTokenizerFast``.

    Args:
        texts: the training corpus.
        vocab_size: target vocabulary (tokens), special and byte tokens included; the
            result is smaller when the corpus has fewer distinct merges.
        min_frequency: a pair must occur this often to be merged.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS), show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token='<eos>', pad_token='<pad>',
                                   sep_token='<sep>')


def save_tokenizer(tokenizer, folder: str | Path) -> Path:
    """Save as a Hugging Face tokenizer folder (``tokenizer.json`` + config)."""
    folder = Path(folder)
    tokenizer.save_pretrained(str(folder))
    return folder

"""Byte-level BPE tokenizers trained locally with the ``tokenizers`` package (no hub).

Byte-level means every string has an encoding (there are no unknown tokens), which the
grammar mask needs: any text the grammar allows is reachable token by token.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ('<eos>', '<pad>', '<sep>')  # ids 0, 1, 2: end, padding, prompt/program

# How text is cut into chunks before BPE merges (merges never cross a chunk):
# 'gpt2': GPT-2's regex (words, numbers and punctuation apart, so `red_can` is 3 chunks);
# 'code': identifiers with underscores and digits (`red_can`, `s1`), decimals (`0.4`), and
# punctuation runs with their trailing whitespace (`);\n`, `{\n  `) are one chunk each. On
# the robot corpus 'code' needs 23% fewer tokens a row (92 -> 71; programs 45 -> 33), which
# is 20% less base-pretraining time on the CPU and fewer decode steps per plan.
SPLIT_PATTERNS = {
    'gpt2': None,  # ByteLevel's own regex
    'code': r' ?[\p{L}_][\p{L}\p{N}_]*| ?\p{N}+(?:\.\p{N}+)?| ?[^\s\p{L}\p{N}_]+\s*|\s+',
}


def train_bpe(texts: Iterable[str], vocab_size: int, *, min_frequency: int = 2,
              split: str = 'code'):
    """Train a byte-level BPE and return it as a ``PreTrainedTokenizerFast``.

    Args:
        texts: the training corpus.
        vocab_size: target vocabulary (tokens), special and byte tokens included; the
            result is smaller when the corpus has fewer distinct merges.
        min_frequency: a pair must occur this often to be merged.
        split: pre-tokenization, a key of :data:`SPLIT_PATTERNS`.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    if split not in SPLIT_PATTERNS:
        raise ValueError(f'unknown tokenizer split {split!r}; one of {sorted(SPLIT_PATTERNS)}')
    tok = Tokenizer(models.BPE())
    pattern = SPLIT_PATTERNS[split]
    if pattern is None:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:  # our chunks first, then bytes -> byte-level symbols (no second regex)
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior='isolated'),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
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


def output_vocabulary(tokenizer, outputs: Iterable[str], words: Iterable[str]) -> list[int]:
    """Return the token ids a pretrained tokenizer needs for programs (sorted).

    The union of the tokens of ``outputs`` (training programs), of ``words`` (the grammar's
    literals and the schema's names, alone and after a space), of every printable ASCII
    character (so any program stays expressible, character by character) and the
    special tokens. A DSL needs a few hundred of a 49k vocabulary; the LM head then runs on
    those rows alone.
    """
    ids: set[int] = set(tokenizer.all_special_ids)
    for text in outputs:
        ids.update(tokenizer.encode(text, add_special_tokens=False))
    for word in words:
        for form in (word, f' {word}'):
            ids.update(tokenizer.encode(form, add_special_tokens=False))
    for code in range(32, 127):
        found = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(chr(code)))
        if len(found) == 1:
            ids.update(found)
    return sorted(ids)

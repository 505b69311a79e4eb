"""The planner: a checkpoint behind one call, ``plan(request, context) -> DecodeResult``.

Owns the backend (torch or ONNX Runtime), the grammar constraint and the prompt layout the
model was trained on (:func:`~bb_agent.core.prompting.prompt_text`, then ``<sep>``).
"""

from __future__ import annotations

from collections.abc import Callable
import threading

from bb_agent.core.dsl.grammar import restrict_symbols
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.prompting import prompt_text
from bb_agent.model.checkpoint import Checkpoint
from bb_agent.model.constraint import GrammarConstraint, llg_tokenizer
from bb_agent.model.decoding import DecodeConfig, Decoder, DecodeResult

BACKENDS = ('torch', 'onnx')


class Planner:
    """Decodes programs from a checkpoint.

    Args:
        checkpoint: from :func:`~bb_agent.model.checkpoint.load_checkpoint`.
        backend: ``torch`` (eager) or ``onnx`` (needs ``bb-agent export --onnx`` first).
        model: an already-loaded torch model to serve (evaluation sweeps reuse one).
        device: torch device (None: CUDA when available).
        onnx_dir: the ONNX export to serve (default ``CHECKPOINT/onnx``; e.g. an int8 one).
    """

    def __init__(self, checkpoint: Checkpoint, *, backend: str = 'torch', model=None,
                 device: str | None = None, onnx_dir=None) -> None:
        if backend not in BACKENDS:
            raise BBError(ErrorCode.INVALID_ARGUMENT, f'backend {backend!r} not in {BACKENDS}')
        self.checkpoint, self.tokenizer = checkpoint, checkpoint.tokenizer
        if backend == 'onnx':
            from bb_agent.model.onnx_backend import OnnxBackend
            self.model = None
            self.backend = OnnxBackend(onnx_dir or checkpoint.folder / 'onnx')
        else:
            from bb_agent.model.backends import TorchBackend
            self.model = model if model is not None else checkpoint.load_model()
            self.backend = TorchBackend(self.model, device=device)
        self.vocab = self.backend.vocab_size
        # A pretrained base's output vocabulary (bool (V,), None: every token), widened per
        # request by its symbols; built once here, copied per request.
        self.vocabulary = None
        ids = checkpoint.output_vocabulary()
        if ids is not None:
            import torch
            self.vocabulary = torch.zeros(self.vocab, dtype=torch.bool)
            self.vocabulary[ids] = True
        self._llg = llg_tokenizer(self.tokenizer, vocab_size=self.vocab)
        self._lock = threading.Lock()
        self.decoder = Decoder(self.backend, self.new_constraint,
                               eos_token=self.tokenizer.eos_token_id,
                               detokenize=self.tokenizer.decode)

    def new_constraint(self, grammar=None, vocabulary=None) -> GrammarConstraint:
        """Return a fresh constraint over ``grammar`` (default: the checkpoint's).

        ``vocabulary``: :meth:`vocabulary_mask`'s (default: the trained vocabulary alone).
        """
        return GrammarConstraint(self._llg, grammar or self.checkpoint.grammar, self.vocab,
                                 vocabulary=self.vocabulary if vocabulary is None
                                 else vocabulary)

    def vocabulary_mask(self, symbols: list[str] | None = None):
        """Return the tokens (bool (V,)) a pretrained-base model may write, or None (all).

        Its trained output vocabulary plus the tokens of ``symbols``: a world's object
        and bin ids are copied from the prompt even when training never wrote them.
        """
        if self.vocabulary is None or not symbols:
            return self.vocabulary
        mask = self.vocabulary.clone()
        for symbol in symbols:
            for form in (symbol, f' {symbol}'):
                mask[self.tokenizer.encode(form, add_special_tokens=False)] = True
        return mask

    def prompt_ids(self, request: str, context: str = '') -> list[int]:
        """Return the token ids the model is conditioned on (cut as in training)."""
        ids = self.tokenizer.encode(prompt_text(request, context))
        return ids[:self.checkpoint.prompt_budget] + [self.tokenizer.sep_token_id]

    def plan(self, request: str, context: str = '', cfg: DecodeConfig | None = None, *,
             symbols: list[str] | None = None,
             cancel: Callable[[], bool] | None = None) -> DecodeResult:
        """Decode one program (default: strict mask, greedy, 256 tokens).

        Args:
            symbols: when given, symbol values (object and bin ids, enum members) are
                limited to these: the ids of the current world plus the schema's enums
                (see :func:`~bb_agent.core.dsl.grammar.restrict_symbols`).
        """
        cfg = cfg or DecodeConfig(greedy=True)
        grammar = restrict_symbols(self.checkpoint.grammar, symbols) if symbols else None
        with self._lock:  # one decode at a time: the decoder's constraint factory is shared
            vocabulary = self.vocabulary_mask(symbols)  # once per request, not per constraint
            self.decoder.new_constraint = lambda: self.new_constraint(grammar, vocabulary)
            return self.decoder.generate(self.prompt_ids(request, context), cfg,
                                         cancel=cancel)

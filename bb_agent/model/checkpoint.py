"""Checkpoint folders: load a trained builder model, its tokenizer and its grammar.

A checkpoint folder (written by ``bb-agent train``) holds ``model.safetensors`` (base +
rail), ``config.json``, the tokenizer files, ``grammar.lark``, ``base/config.json``,
``metrics.json`` and ``data_card.json``; ``bb-agent export --onnx`` adds ``onnx/``.
The shipped default model is the checkpoint in the share folder's ``models/default``; it is
used whenever no model path is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import json
import os
from pathlib import Path

from bb_agent.core.dsl.grammar import Grammar, grammar_from_text
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.resources import ResourceNotFoundError, share_path

FORMAT = 1  # config.json "format" this loader reads
DEFAULT_MODEL = ('models', 'default')  # below the share folder


def default_model_dir() -> Path:
    """Return the shipped default checkpoint folder; typed error when it is missing."""
    try:
        return share_path(*DEFAULT_MODEL)
    except ResourceNotFoundError as exc:
        raise BBError(ErrorCode.MODEL_UNAVAILABLE, f'no default model: {exc}') from exc


def _unavailable(folder: Path, why: str) -> BBError:
    return BBError(ErrorCode.MODEL_UNAVAILABLE, f'checkpoint {folder}: {why}')


@dataclass
class Checkpoint:
    """What a checkpoint folder describes, before any weights are loaded.

    Attributes:
        folder: the checkpoint folder.
        config: ``config.json``.
        tokenizer: the Hugging Face fast tokenizer (eos, pad, sep tokens).
        grammar: the grammar the model was trained (and must be decoded) with.
    """

    folder: Path
    config: dict
    tokenizer: object
    grammar: Grammar

    @property
    def prompt_budget(self) -> int:
        """Return the most prompt tokens the model saw in training (longer ones are cut)."""
        return int(self.config.get('train', {}).get('max_len', 256)) // 2

    def output_vocabulary(self) -> list[int] | None:
        """Return the token ids the model was trained to write, or None for all of them."""
        from safetensors import safe_open
        with safe_open(str(self.folder / 'model.safetensors'), framework='pt') as f:
            if 'vocab_ids' not in f.keys():
                return None
            return f.get_tensor('vocab_ids').tolist()

    def load_model(self, *, alpha_max: float | None = None):
        """Build the torch :class:`~bb_agent.model.builder.BuilderModel` with its weights."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        from bb_agent.model.builder import BuilderModel
        from bb_agent.model.rail import RailConfig
        pretrained = self.config.get('base_model')
        try:
            rail = dict(self.config['rail'])
            rail = RailConfig(**{**rail, 'layers': tuple(rail['layers'])})
            if pretrained:  # the converted base, verified against the recorded hashes
                from bb_agent.model.pretrained import load_base
                base = load_base(pretrained['name'],
                                 weights_sha256=pretrained['weights_sha256'])
            else:
                base = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(
                    str(self.folder / 'base'), local_files_only=True))
            model = BuilderModel(base, rail)
            state = load_file(str(self.folder / 'model.safetensors'))
        except (OSError, KeyError, TypeError, ValueError, SafetensorError) as exc:
            raise _unavailable(self.folder, f'cannot build the model: {exc}') from exc
        if 'vocab_ids' in state:
            model.set_vocabulary(state['vocab_ids'].tolist())
        missing, unexpected = model.load_state_dict(state, strict=False)
        tied = {'base.lm_head.weight'} if base.config.tie_word_embeddings else set()
        if pretrained:  # the base's weights come from its own folder
            tied |= {k for k in missing if k.startswith('base.')}
        if unexpected or set(missing) - tied:
            raise _unavailable(self.folder, f'weights do not fit: missing '
                                            f'{sorted(set(missing) - tied)[:5]}, unexpected '
                                            f'{sorted(unexpected)[:5]}')
        model.base.tie_weights()
        model.set_alpha_max(self.config['alpha_max'] if alpha_max is None else alpha_max)
        return model.eval().requires_grad_(False).to(torch.float32)


def load_checkpoint(folder: str | Path | None = None) -> Checkpoint:
    """Read a checkpoint folder (None: the shipped default); typed error on any defect.

    The grammar file's hash must equal the one recorded at training time, so a model is
    never decoded under a grammar it was not trained for.
    """
    os.environ.setdefault('HF_HUB_OFFLINE', '1')  # never reach for a hub
    folder = Path(folder) if folder else default_model_dir()
    try:
        config = json.loads((folder / 'config.json').read_text())
        text = (folder / 'grammar.lark').read_text()
    except (OSError, ValueError) as exc:
        raise _unavailable(folder, f'unreadable: {exc}') from exc
    if config.get('format') != FORMAT:
        raise _unavailable(folder, f'format {config.get("format")!r}, expected {FORMAT}')
    if hashlib.sha256(text.encode()).hexdigest() != config.get('grammar_sha256'):
        raise _unavailable(folder, 'grammar.lark does not match the hash in config.json')
    from transformers import PreTrainedTokenizerFast
    try:
        tokenizer = PreTrainedTokenizerFast.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise _unavailable(folder, f'tokenizer: {exc}') from exc
    if tokenizer.eos_token_id is None or tokenizer.sep_token_id is None:
        raise _unavailable(folder, 'the tokenizer lacks <eos> or <sep>')
    return Checkpoint(folder, config, tokenizer, grammar_from_text(config['grammar'], text))

"""Model presets: the architecture of a builder model, read from ``config/models/*.yaml``.

A preset names the tokenizer size, the base transformer (a transformers config: LLaMA or
GPT-2 family) and the rail. :func:`build_model` makes a random-weight model from it
(training starts there; benchmarks use it for a model of the default size).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
import yaml

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.resources import config_path
from bb_agent.core.strict_model import StrictModel, validation_message
from bb_agent.model.rail import RailConfig


class TokenizerPreset(StrictModel):
    """Tokenizer size and pre-tokenization."""

    vocab_size: int = Field(ge=260, le=262144, description='BPE vocabulary (tokens)')
    split: Literal['gpt2', 'code'] = Field(
        'code', description='chunks BPE merges stay within (bb_agent.train.tokenizer)')


class BasePreset(StrictModel):
    """A small decoder-only base model, built from a transformers config."""

    family: Literal['llama', 'gpt2']
    hidden_size: int = Field(ge=8, le=8192)
    intermediate_size: int = Field(ge=8, le=32768)
    num_hidden_layers: int = Field(ge=1, le=128)
    num_attention_heads: int = Field(ge=1, le=128)
    num_key_value_heads: int = Field(ge=1, le=128)
    max_position_embeddings: int = Field(ge=64, le=131072, description='positions')
    tie_word_embeddings: bool = True


class RailPreset(StrictModel):
    """The builder rail (see :class:`~bb_agent.model.rail.RailConfig`)."""

    layers: list[int] = Field(min_length=1)
    width: int = Field(ge=4, le=4096)
    heads: int = Field(ge=1, le=64)
    skills: int = Field(ge=1, le=1024)
    lora_rank: int = Field(ge=1, le=256)
    alpha_max: float = Field(ge=0.0, le=1.0)
    gate_init: float = Field(ge=-20.0, le=20.0)
    dag_width: int = Field(ge=4, le=4096)
    normed: bool = Field(False, description='RMS-normed reads and stream-scale writes '
                                            '(RailConfig.normed); for pretrained bases')

    def config(self) -> RailConfig:
        """Return the rail configuration."""
        return RailConfig(**{**self.model_dump(), 'layers': tuple(self.layers)})


class ModelPreset(StrictModel):
    """A whole builder-model architecture.

    Either ``pretrained`` names a frozen pretrained base (its own tokenizer and weights,
    converted by ``make setup``; see :mod:`bb_agent.model.pretrained`), or ``tokenizer``
    and ``base`` describe a small base trained from scratch on the corpus.
    """

    pretrained: str | None = Field(None, description='a known pretrained base, e.g. '
                                                     'smollm2-135m-instruct')
    tokenizer: TokenizerPreset | None = None
    base: BasePreset | None = None
    rail: RailPreset

    def model_post_init(self, _context) -> None:
        """Exactly one of a pretrained base or a (tokenizer, base) pair."""
        if self.pretrained is not None:
            from bb_agent.model.pretrained import spec_of
            spec_of(self.pretrained)  # typed error naming the known bases
            if self.tokenizer is not None or self.base is not None:
                raise ValueError('a pretrained preset brings its own tokenizer and base')
        elif self.tokenizer is None or self.base is None:
            raise ValueError('a preset needs `pretrained`, or both `tokenizer` and `base`')

    def base_config(self, vocab_size: int, eos: int):
        """Return the transformers config of the base model."""
        from transformers import GPT2Config, LlamaConfig
        b = self.base
        if b.family == 'gpt2':
            return GPT2Config(vocab_size=vocab_size, n_embd=b.hidden_size,
                              n_inner=b.intermediate_size, n_layer=b.num_hidden_layers,
                              n_head=b.num_attention_heads, n_positions=b.max_position_embeddings,
                              bos_token_id=eos, eos_token_id=eos,
                              tie_word_embeddings=b.tie_word_embeddings)
        return LlamaConfig(vocab_size=vocab_size, hidden_size=b.hidden_size,
                           intermediate_size=b.intermediate_size,
                           num_hidden_layers=b.num_hidden_layers,
                           num_attention_heads=b.num_attention_heads,
                           num_key_value_heads=b.num_key_value_heads,
                           max_position_embeddings=b.max_position_embeddings,
                           bos_token_id=eos, eos_token_id=eos,
                           tie_word_embeddings=b.tie_word_embeddings)


def preset_names() -> list[str]:
    """Return the names of the shipped presets (``config/models/*.yaml``)."""
    return sorted(p.stem for p in config_path('models').glob('*.yaml'))


def load_preset(name: str = 'default') -> ModelPreset:
    """Load a preset: a shipped name (``config/models/<name>.yaml``) or a YAML file path.

    Typed INVALID_ARGUMENT errors name the shipped presets when ``name`` is neither.
    """
    path = Path(name)
    if path.suffix not in ('.yaml', '.yml') or not path.exists():
        if name not in preset_names():
            raise BBError(ErrorCode.INVALID_ARGUMENT,
                          f'unknown model preset {name!r}: use one of {preset_names()} or '
                          f'the path of a model YAML file (see config/models/)')
        path = config_path('models', f'{name}.yaml')
    try:
        return ModelPreset.model_validate(yaml.safe_load(path.read_text()))
    except ValidationError as exc:
        raise BBError(ErrorCode.INVALID_ARGUMENT,
                      f'model preset {name}: {validation_message(exc)}') from exc
    except (OSError, yaml.YAMLError) as exc:
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'model preset {name}: {exc}') from exc
    except BBError as exc:
        raise BBError(exc.code, f'model preset {name}: {exc.message}') from exc


def build_model(preset: ModelPreset, *, vocab_size: int | None = None, eos: int = 0,
                seed: int = 0):
    """Return a :class:`~bb_agent.model.builder.BuilderModel` of ``preset``.

    The base has random weights, or the converted pretrained ones (fp32) for a pretrained
    preset; the rail is freshly initialised from ``seed``.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from bb_agent.model.builder import BuilderModel
    torch.manual_seed(seed)
    if preset.pretrained is not None:
        from bb_agent.model.pretrained import load_base
        return BuilderModel(load_base(preset.pretrained), preset.rail.config())
    base = AutoModelForCausalLM.from_config(
        preset.base_config(vocab_size or preset.tokenizer.vocab_size, eos)).eval()
    return BuilderModel(base, preset.rail.config())

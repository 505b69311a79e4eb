"""Model presets: the architecture of a builder model, read from ``config/models/*.yaml``.

A preset names the tokenizer size, the base transformer (a transformers config: LLaMA or
GPT-2 family) and the rail. :func:`build_model` makes a random-weight model from it
(training starts there; benchmarks use it for a model of the default size).
"""

from __future__ import annotations

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

    def config(self) -> RailConfig:
        """Return the rail configuration."""
        return RailConfig(**{**self.model_dump(), 'layers': tuple(self.layers)})


class ModelPreset(StrictModel):
    """A whole builder-model architecture."""

    tokenizer: TokenizerPreset
    base: BasePreset
    rail: RailPreset

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


def load_preset(name: str = 'default') -> ModelPreset:
    """Load ``config/models/<name>.yaml``; typed error when missing or invalid."""
    path = config_path('models', f'{name}.yaml')
    try:
        return ModelPreset.model_validate(yaml.safe_load(path.read_text()))
    except ValidationError as exc:
        raise BBError(ErrorCode.INVALID_ARGUMENT,
                      f'model preset {name}: {validation_message(exc)}') from exc
    except (OSError, yaml.YAMLError) as exc:
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'model preset {name}: {exc}') from exc


def build_model(preset: ModelPreset, *, vocab_size: int | None = None, eos: int = 0,
                seed: int = 0):
    """Return a random-weight :class:`~bb_agent.model.builder.BuilderModel` of ``preset``."""
    import torch
    from transformers import AutoModelForCausalLM

    from bb_agent.model.builder import BuilderModel
    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_config(
        preset.base_config(vocab_size or preset.tokenizer.vocab_size, eos)).eval()
    return BuilderModel(base, preset.rail.config())

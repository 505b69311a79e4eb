"""Tiny models and a locally trained tokenizer for the model tests (no hub, CPU)."""

import pytest
import torch

TINY = {'hidden': 32, 'layers': 2, 'heads': 2}


def tiny_base(kind: str, vocab: int, eos: int):
    """Return a random-weight tiny GPT-2 or LLaMA causal LM (hidden 32, 2 layers)."""
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig
    if kind == 'gpt2':
        cfg = GPT2Config(vocab_size=vocab, n_embd=TINY['hidden'], n_layer=TINY['layers'],
                         n_head=TINY['heads'], n_positions=512, bos_token_id=eos,
                         eos_token_id=eos)
    else:
        cfg = LlamaConfig(vocab_size=vocab, hidden_size=TINY['hidden'], intermediate_size=64,
                          num_hidden_layers=TINY['layers'], num_attention_heads=TINY['heads'],
                          num_key_value_heads=TINY['heads'], max_position_embeddings=512,
                          bos_token_id=eos, eos_token_id=eos)
    return AutoModelForCausalLM.from_config(cfg).eval()


@pytest.fixture(scope='session')
def hf_tokenizer():
    """Return a byte-level BPE fast tokenizer (512 tokens) trained here on our grammars."""
    from bb_agent.core.dsl.grammar import load_grammar
    from bb_agent.train.tokenizer import train_bpe

    corpus = [load_grammar(g).text for g in ('robot_dsl', 'api_json', 'phone_callflow',
                                             'social')]
    return train_bpe(corpus * 3, 512, min_frequency=1)


@pytest.fixture(scope='session')
def llg(hf_tokenizer):
    """Return llguidance's tokenizer built from the HF one."""
    from bb_agent.model.constraint import llg_tokenizer
    return llg_tokenizer(hf_tokenizer, vocab_size=len(hf_tokenizer))


@pytest.fixture(scope='session')
def tiny_builder(hf_tokenizer):
    """Return a random-weight tiny GPT-2 wrapped with a builder rail (alpha_max 0.05)."""
    from bb_agent.model.builder import BuilderModel
    from bb_agent.model.rail import RailConfig
    torch.manual_seed(0)
    base = tiny_base('gpt2', len(hf_tokenizer), hf_tokenizer.eos_token_id)
    return BuilderModel(base, RailConfig(layers=(0, 1), width=16, skills=8, lora_rank=2))

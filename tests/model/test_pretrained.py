"""The pretrained-base path: conversion records, verified loading, prefix-cached training.

A tiny random LLaMA-shaped base, written as a converted base folder (manifest and hashes)
into a temporary cache, stands in for SmolLM2; one test loads the real converted base when
``make setup`` has made it.
"""

import json
from pathlib import Path

import pytest
import torch

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.model import pretrained
from bb_agent.model.builder import BuilderModel
from bb_agent.model.rail import RailConfig
from bb_agent.train.synthesize import Sizes, synthesize

TINY_BASE = 'tiny-llama'


@pytest.fixture
def tiny_pretrained(tmp_path, monkeypatch, hf_tokenizer):
    """Register a tiny 4-layer LLaMA as a converted pretrained base in a temporary cache."""
    from transformers import AutoModelForCausalLM
    monkeypatch.setenv('BB_AGENT_CACHE', str(tmp_path / 'cache'))
    spec = pretrained.BaseSpec(TINY_BASE, 'none', 'none.gguf', 'ab' * 32, 'test',
                               sep='<sep>', eos='<eos>')
    monkeypatch.setitem(pretrained.BASES, TINY_BASE, spec)
    torch.manual_seed(0)
    folder = pretrained.base_dir(TINY_BASE)
    AutoModelForCausalLM.from_config(_llama4(len(hf_tokenizer))).save_pretrained(str(folder))
    hf_tokenizer.save_pretrained(str(folder))
    manifest = {'source_sha256': spec.source_sha256,
                'weights_sha256': pretrained.file_sha256(folder / pretrained.WEIGHTS)}
    (folder / pretrained.MANIFEST).write_text(json.dumps(manifest))
    return folder


def _llama4(vocab: int):
    """Return the config of a random 4-layer LLaMA (grouped-query attention, tied head)."""
    from transformers import LlamaConfig
    return LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64,
                       num_hidden_layers=4, num_attention_heads=2, num_key_value_heads=1,
                       max_position_embeddings=512, tie_word_embeddings=True)


def _builder(vocab: int, layers=(2, 3)) -> BuilderModel:
    from transformers import AutoModelForCausalLM
    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_config(_llama4(vocab)).eval()
    return BuilderModel(base, RailConfig(layers=layers, width=16, skills=4, lora_rank=2,
                                         alpha_max=0.5))


@pytest.mark.parametrize('layers,vocab_ids', [
    ((2, 3), None),            # the whole vocabulary
    ((1, 3), [0, 3, 5, 7, 9]),  # a compact output vocabulary
    ((3,), list(range(0, 300, 3))),
])
def test_when_training_from_cached_prefix_expect_same_logits_as_full_forward(layers,
                                                                             vocab_ids):
    model = _builder(300, layers)
    model.set_vocabulary(vocab_ids)
    ids = torch.randint(0, 300, (3, 14))
    keep = torch.zeros(3, 14, dtype=torch.bool)
    keep[:, 6:13] = True
    full = model.forward_at(ids, keep).logits
    cached = model.forward_at(ids, keep, prefix=model.prefix_hidden(ids)).logits
    assert torch.allclose(full, cached, atol=1e-5)
    compact = model.forward_at(ids, keep, prefix=model.prefix_hidden(ids),
                               compact=True).logits
    cols = list(range(300)) if vocab_ids is None else vocab_ids
    assert torch.allclose(compact, full[:, cols], atol=1e-5)
    # decoding gets the whole vocabulary (the planner's constraint limits it)
    assert model(ids[:1, :5]).logits.shape[-1] == 300


def test_when_prefix_cache_is_on_expect_the_same_first_step_losses(tmp_path, hf_tokenizer):
    from bb_agent.core.dsl.grammar import load_grammar
    from bb_agent.model.constraint import GrammarConstraint, llg_tokenizer
    from bb_agent.train.dataset import load_traces
    from bb_agent.train.trainer import RailTrainer, TrainConfig
    synthesize(tmp_path / 'd', seed=3, sizes=Sizes(train=20, val=6, test=6),
               domains=('robot',))
    traces = load_traces(tmp_path / 'd' / 'robot')
    llg = llg_tokenizer(hf_tokenizer, vocab_size=len(hf_tokenizer))
    grammar = load_grammar('robot_dsl')
    rows = traces.splits['train'][:4]
    losses = []
    for cache in (False, True):
        model = _builder(len(hf_tokenizer))
        model.set_vocabulary(range(len(hf_tokenizer)))
        trainer = RailTrainer(model, hf_tokenizer, traces.splits['train'], traces.splits['val'],
                              lambda: GrammarConstraint(llg, grammar, len(hf_tokenizer)),
                              TrainConfig(cache_prefix=cache, pcgrad=False), tmp_path / 'o')
        batch = trainer.batch(rows)
        torch.manual_seed(5)  # the router's Gumbel noise
        terms, _ = trainer.objectives(batch, trainer.frozen(rows, batch))
        losses.append({k: float(v) for k, v in terms.items()})
    # the cache keeps states in fp16: equal to ~3 significant digits
    assert losses[1] == pytest.approx(losses[0], rel=2e-3, abs=1e-4)


def test_when_pretrained_preset_is_trained_expect_rail_only_checkpoint_that_decodes(
        tiny_pretrained, tmp_path):
    from bb_agent.core.dsl.grammar import load_grammar
    from bb_agent.model.checkpoint import load_checkpoint
    from bb_agent.model.planner import Planner
    from bb_agent.model.presets import load_preset
    from bb_agent.train.dataset import load_traces
    from bb_agent.train.pipeline import PipelineConfig, run_pipeline
    from bb_agent.train.trainer import TrainConfig
    preset_file = tmp_path / 'tiny_pretrained.yaml'
    preset_file.write_text(f'pretrained: {TINY_BASE}\nrail: {{layers: [2, 3], width: 16, '
                           'heads: 2, skills: 4, lora_rank: 2, alpha_max: 0.5, '
                           'gate_init: 4.0, dag_width: 8}\n')
    synthesize(tmp_path / 'd', seed=3, sizes=Sizes(train=24, val=6, test=6),
               domains=('robot',))
    traces = load_traces(tmp_path / 'd' / 'robot')
    cfg = PipelineConfig(preset=load_preset(str(preset_file)), base_steps=0,
                         rail=TrainConfig(steps=3, batch_size=4, eval_every=2,
                                          cache_prefix=True))
    out = run_pipeline(traces, load_grammar('robot_dsl'), cfg, tmp_path / 'ck',
                       progress=False)
    from safetensors.torch import load_file
    keys = load_file(str(out / 'model.safetensors')).keys()
    assert keys and not any(k.startswith('base.') for k in keys) and 'vocab_ids' in keys
    record = json.loads((out / 'config.json').read_text())['base_model']
    assert record['name'] == TINY_BASE and len(record['weights_sha256']) == 64
    ckpt = load_checkpoint(out)
    result = Planner(ckpt).plan('go home', 'objects: ; bins: ; human: none')
    assert result.outcome.value in ('ok', 'max_tokens')


@pytest.mark.parametrize('damage,needle', [
    ('weights', 'but the checkpoint was trained on'),
    ('source', 'converted from a different file'),
    ('manifest', 'is not installed'),
])
def test_when_base_differs_from_record_expect_typed_refusal(tiny_pretrained, damage, needle):
    good = json.loads((tiny_pretrained / pretrained.MANIFEST).read_text())['weights_sha256']
    if damage == 'weights':
        with (tiny_pretrained / pretrained.WEIGHTS).open('ab') as f:
            f.write(b'\0')
    elif damage == 'source':
        (tiny_pretrained / pretrained.MANIFEST).write_text(json.dumps(
            {'source_sha256': 'cd' * 32, 'weights_sha256': good}))
    else:
        (tiny_pretrained / pretrained.MANIFEST).unlink()
    with pytest.raises(BBError) as err:
        pretrained.load_base(TINY_BASE, weights_sha256=good)
    assert err.value.code == ErrorCode.MODEL_UNAVAILABLE and needle in err.value.message


@pytest.mark.parametrize('preset,needle', [
    ('small', "unknown model preset 'small': use one of"),
    ('/nonexistent/x.yaml', 'unknown model preset'),
])
def test_when_preset_is_unknown_expect_typed_error_listing_presets(preset, needle):
    from bb_agent.model.presets import load_preset
    with pytest.raises(BBError) as err:
        load_preset(preset)
    assert err.value.code == ErrorCode.INVALID_ARGUMENT and needle in err.value.message
    assert "'default'" in err.value.message and "'smollm2'" in err.value.message


def test_when_pretrained_preset_names_unknown_base_expect_known_ones_listed(tmp_path):
    from bb_agent.model.presets import load_preset
    path = tmp_path / 'p.yaml'
    path.write_text('pretrained: gpt-9\nrail: {layers: [0], width: 8, heads: 2, skills: 2, '
                    'lora_rank: 1, alpha_max: 0.1, gate_init: 0.0, dag_width: 4}\n')
    with pytest.raises(BBError) as err:
        load_preset(str(path))
    assert "unknown pretrained base 'gpt-9'" in err.value.message
    assert 'smollm2-135m-instruct' in err.value.message


@pytest.mark.skipif(pretrained.read_manifest(pretrained.base_dir()) is None,
                    reason='the SmolLM2 base is not converted here (make setup does it)')
def test_when_real_converted_base_is_loaded_expect_one_plan_under_the_mask():
    from bb_agent.core.dsl.grammar import load_grammar
    from bb_agent.core.dsl.parser import parse_program
    from bb_agent.model.backends import TorchBackend
    from bb_agent.model.constraint import GrammarConstraint, llg_tokenizer
    from bb_agent.model.decoding import DecodeConfig, Decoder
    base = pretrained.load_base(weights_sha256=pretrained.read_manifest(
        pretrained.base_dir())['weights_sha256'])
    assert base.config.num_hidden_layers == 30 and base.config.hidden_size == 576
    tok = pretrained.load_base_tokenizer()
    model = BuilderModel(base, RailConfig(layers=(29,), width=16, alpha_max=0.0))
    grammar = load_grammar('robot_dsl')
    llg = llg_tokenizer(tok, vocab_size=49152)
    decoder = Decoder(TorchBackend(model, device='cpu'),
                      lambda: GrammarConstraint(llg, grammar, 49152),
                      eos_token=tok.eos_token_id, detokenize=tok.decode)
    prompt = tok.encode('instruction: go to the home pose') + [tok.sep_token_id]
    result = decoder.generate(prompt, DecodeConfig(greedy=True, max_tokens=24))
    # alpha 0 is the frozen base alone (it does not know the DSL): every token it wrote is
    # still one the grammar allowed, and what it finished is a program
    assert result.outcome.value in ('ok', 'max_tokens') and len(result.tokens) > 0
    constraint = GrammarConstraint(llg, grammar, 49152)
    assert all(constraint.consume(t) for t in result.tokens)
    if result.text:
        parse_program(result.text)


SHIPPED_TIER = Path(__file__).resolve().parents[2] / 'models' / 'smollm2'


@pytest.mark.skipif(pretrained.read_manifest(pretrained.base_dir()) is None
                    or not (SHIPPED_TIER / 'config.json').exists(),
                    reason='no trained pretrained tier in models/smollm2 (not shipped yet; '
                           '`bb-agent train --preset smollm2 --out models/smollm2`), or the '
                           'SmolLM2 base is not converted (make setup)')
@pytest.mark.parametrize('request_text,context', [
    ('go to the home pose', 'objects: ; bins: ; human: none'),
    ('put the red can in bin a', 'objects: red_can; bins: bin_a; human: none'),
])
def test_when_shipped_pretrained_tier_plans_expect_a_checked_program(request_text, context):
    from bb_agent.core.dsl.parser import parse_program
    from bb_agent.model.checkpoint import load_checkpoint
    ckpt = load_checkpoint(SHIPPED_TIER)
    assert ckpt.config['base_model']['name'] == pretrained.DEFAULT_BASE
    result = _tier_planner(ckpt).plan(request_text, context)
    assert result.outcome.value == 'ok', result
    parse_program(result.text)


_PLANNERS: dict = {}


def _tier_planner(ckpt):
    from bb_agent.model.planner import Planner
    if 'tier' not in _PLANNERS:  # one load (~3 s, the base's hash included) for the table
        _PLANNERS['tier'] = Planner(ckpt, device='cpu')
    return _PLANNERS['tier']

"""ONNX Runtime backend: the exported base + rail graph matches torch eager.

Parity goals (issue 4): fp32 logits within 1e-4 on tiny models, identical greedy decodes.
"""

import numpy as np
import pytest
import torch

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.model.backends import TorchBackend
from bb_agent.model.builder import BuilderModel
from bb_agent.model.decoding import DecodeConfig
from bb_agent.model.onnx_backend import OnnxBackend
from bb_agent.model.onnx_export import export_onnx
from bb_agent.model.rail import RailConfig
from tests.model.conftest import tiny_base
from tests.model.test_decoding import GRAMMARS, _decoder

TOLERANCE = 1e-4  # fp32 logits
PROMPTS = [[0], [0, 5, 17, 99], [0, 300, 301, 302, 303, 304, 7]]


@pytest.fixture(scope='module', params=['gpt2', 'llama'])
def exported(request, hf_tokenizer, tmp_path_factory):
    """(torch model, ONNX backend) for a tiny random model with a strong rail (alpha 0.5)."""
    torch.manual_seed(1)
    base = tiny_base(request.param, len(hf_tokenizer), hf_tokenizer.eos_token_id)
    model = BuilderModel(base, RailConfig(layers=(0, 1), width=16, skills=8, lora_rank=2,
                                          alpha_max=0.5)).eval()
    folder = tmp_path_factory.mktemp(f'onnx-{request.param}')
    export_onnx(model, folder)
    return model, OnnxBackend(folder, providers=['CPUExecutionProvider'])


@pytest.mark.parametrize('prompt', PROMPTS)
def test_when_whole_sequence_runs_expect_onnx_logits_within_tolerance(exported, prompt):
    model, onnx = exported
    with torch.no_grad():
        expected = model(torch.tensor([prompt])).logits[0].numpy()
        base_only = model.base(torch.tensor([prompt])).logits[0].numpy()
    got = onnx.logits(prompt)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < TOLERANCE
    assert np.abs(got - base_only).max() > 100 * TOLERANCE  # the rail is in the graph


@pytest.mark.parametrize('prompt', PROMPTS)
def test_when_decoding_incrementally_expect_every_step_within_tolerance(exported, prompt):
    model, onnx = exported
    eager = TorchBackend(model, device='cpu')
    want, state_t = eager.start(prompt)
    got, state_o = onnx.start(prompt)
    for token in (3, 40, 41, 200, 9, 9, 9):
        assert torch.max(torch.abs(want - got)) < TOLERANCE
        want, state_t = eager.step(state_t, token)
        got, state_o = onnx.step(onnx.fork(state_o), token)
    assert torch.max(torch.abs(want - got)) < TOLERANCE


@pytest.mark.parametrize('grammar', ['robot_dsl', 'api_json', 'phone_callflow', 'social'])
@pytest.mark.parametrize('beams', [1, 3])
def test_when_greedy_decoding_strictly_expect_identical_outputs(exported, grammar, beams,
                                                                 hf_tokenizer, llg):
    model, onnx = exported
    cfg = DecodeConfig(greedy=True, max_tokens=40, num_beams=beams, eos_bias=30.0,
                       blank_penalty=6.0)
    results = [_decoder(backend, llg, GRAMMARS[grammar], hf_tokenizer).generate([0], cfg)
               for backend in (TorchBackend(model, device='cpu'), onnx)]
    assert results[0].tokens == results[1].tokens and results[0].tokens
    assert results[0].outcome is results[1].outcome


@pytest.mark.parametrize('damage', ['no_manifest', 'bad_graph'])
def test_when_export_folder_is_broken_expect_model_unavailable(damage, tmp_path):
    if damage == 'bad_graph':
        (tmp_path / 'onnx_manifest.json').write_text('{"graph": "model.onnx"}')
        (tmp_path / 'model.onnx').write_bytes(b'not an onnx graph')
    with pytest.raises(BBError) as err:
        OnnxBackend(tmp_path)
    assert err.value.code is ErrorCode.MODEL_UNAVAILABLE

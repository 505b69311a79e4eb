"""BuilderModel: frozen base + rail, exact base equivalence at alpha_max 0, caches, loading."""

import copy

import pytest
import torch

from bb_agent.model.builder import BuilderModel, decoder_layers
from bb_agent.model.rail import RailConfig
from tests.model.conftest import tiny_base

KINDS = ['gpt2', 'llama']
RAIL = RailConfig(layers=(0, 1), width=16, heads=2, skills=8, lora_rank=2)


def _pair(kind, alpha_max):
    torch.manual_seed(1)
    base = tiny_base(kind, 300, 0)
    reference = copy.deepcopy(base)
    model = BuilderModel(base, RailConfig(**{**RAIL.__dict__, 'alpha_max': alpha_max}))
    return model, reference


@pytest.mark.parametrize('kind', KINDS)
def test_when_alpha_max_zero_expect_logits_exactly_equal_base(kind):
    model, reference = _pair(kind, 0.0)
    ids = torch.randint(0, 300, (2, 9))
    with torch.no_grad():
        assert torch.equal(model(ids).logits, reference(ids).logits)


@pytest.mark.parametrize('kind', KINDS)
def test_when_alpha_max_positive_expect_rail_changes_logits_within_budget(kind):
    model, reference = _pair(kind, 0.5)
    with torch.no_grad():  # make the adapters non-trivial so the rail has an effect
        for block in model.blocks.values():
            block.skills.up.normal_(0, 0.5)
    ids = torch.randint(0, 300, (1, 6))
    with torch.no_grad():
        assert not torch.allclose(model(ids).logits, reference(ids).logits)
    for layer in model.layers:
        assert float(model.alpha(layer).max()) <= 0.5


@pytest.mark.parametrize('kind', KINDS)
def test_when_trained_expect_no_gradient_on_base_and_base_unchanged(kind):
    model, reference = _pair(kind, 0.3)
    model.train()
    assert not model.base.training  # the base stays in eval mode
    optimiser = torch.optim.SGD(model.rail_parameters(), lr=0.1)
    ids = torch.randint(0, 300, (2, 8))
    out = model(ids)
    torch.nn.functional.cross_entropy(out.logits[:, :-1].reshape(-1, 300),
                                      ids[:, 1:].reshape(-1)).backward()
    optimiser.step()
    assert all(p.grad is None and not p.requires_grad for p in model.base.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.rail_parameters())
    for (name, p), q in zip(model.base.named_parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q), name


@pytest.mark.parametrize('kind', KINDS)
def test_when_rail_counted_expect_reported_parameter_numbers(kind):
    model, _ = _pair(kind, 0.05)
    rail = model.rail_parameter_count()
    assert rail == sum(p.numel() for n, p in model.named_parameters() if not n.startswith('base.'))
    assert 0 < rail and model.base_parameter_count() > 0


@pytest.mark.parametrize('kind', KINDS)
def test_when_decoded_incrementally_expect_same_logits_as_full_pass(kind):
    model, _ = _pair(kind, 0.5)
    ids = torch.randint(0, 300, (1, 10))
    with torch.no_grad():
        full = model(ids).logits
        first = model(ids[:, :6])
        rest = model(ids[:, 6:], cache=first.cache)
    assert torch.allclose(full, torch.cat([first.logits, rest.logits], 1), atol=1e-5)


def test_when_dag_head_scores_steps_expect_only_earlier_steps_scored():
    model, _ = _pair('gpt2', 0.05)
    hidden = torch.randn(1, 6, 32)
    step_of = torch.tensor([[0, 0, 1, 1, 2, -1]])
    scores = model.dag(hidden, step_of, 3)
    assert scores.shape == (1, 3, 3)
    earlier = torch.ones(3, 3, dtype=torch.bool).tril(-1)  # step i may depend on j < i only
    assert torch.equal(torch.isfinite(scores[0]), earlier)


@pytest.mark.parametrize('bad', [dict(layers=()), dict(layers=(0, 0)), dict(width=15),
                                 dict(alpha_max=1.5)])
def test_when_rail_config_invalid_expect_value_error(bad):
    with pytest.raises(ValueError):
        RailConfig(**{**RAIL.__dict__, **bad})


def test_when_rail_layer_outside_base_expect_value_error():
    with pytest.raises(ValueError):
        BuilderModel(tiny_base('gpt2', 300, 0), RailConfig(layers=(5,)))


def test_when_base_saved_locally_expect_loaded_without_hub(tmp_path):
    base = tiny_base('llama', 300, 0)
    base.save_pretrained(tmp_path)
    model = BuilderModel.from_base_dir(tmp_path, RAIL)
    assert len(decoder_layers(model.base)) == 2
    with pytest.raises(OSError):
        BuilderModel.from_base_dir(tmp_path / 'missing', RAIL)


def _skill_grad(normed: bool, scale: float) -> float:
    """Skill-adapter gradient norm of one block reading base states of RMS ``scale``."""
    from bb_agent.model.rail import CompBlock
    torch.manual_seed(0)
    cfg = RailConfig(layers=(0,), width=16, heads=2, skills=4, lora_rank=2, normed=normed)
    block = CompBlock(48, cfg)
    with torch.no_grad():
        block.skills.up.normal_(0, 0.1)  # a trained adapter, not the no-op start
    base = torch.randn(2, 7, 48) * scale
    base[:, 0, 3] = 240 * scale  # one massive channel at the first position (LLaMA-style)
    rail = torch.randn(2, 7, 16)
    _new, proj, _choice, _cache = block(rail, base, None)
    proj.pow(2).mean().backward()
    return float(block.skills.down.grad.norm())


@pytest.mark.parametrize('normed, scale, live', [
    (False, 1.0, True),     # unit-scale states: the original block learns
    (False, 1000.0, False),  # states far above unit scale saturate the tanh update
    (True, 1.0, True),
    (True, 1000.0, True),    # normed reads: the same gradient at any scale
])
def test_when_base_states_are_large_expect_skills_to_get_gradient_only_with_normed_reads(
        normed, scale, live):
    grad = _skill_grad(normed, scale)
    assert (grad > 1e-4) is live, grad
    if normed:
        assert grad == pytest.approx(_skill_grad(normed, 1.0), rel=1e-3)


def test_when_rail_is_normed_expect_its_write_to_scale_with_the_base_stream():
    torch.manual_seed(1)
    model = BuilderModel(tiny_base('llama', 300, 0), RailConfig(**{**RAIL.__dict__,
                                                                   'normed': True}))
    layer = model.layers[0]
    seen = {}
    model.blocks[str(layer)].register_forward_hook(
        lambda _m, args, out: seen.update(base=args[1], proj=out[1]))
    # registered after the builder's hook, so it sees the mixed output
    decoder_layers(model.base)[layer].register_forward_hook(
        lambda _m, _args, out: seen.update(mixed=out[0] if isinstance(out, tuple) else out))
    with torch.no_grad():
        model(torch.randint(0, 300, (1, 6)))
    rms = seen['base'].pow(2).mean(-1, keepdim=True).add(1e-6).sqrt()
    alpha = model.alpha(layer)
    expected = alpha * seen['proj'] * rms + (1 - alpha) * seen['base']
    assert torch.allclose(seen['mixed'], expected, atol=1e-5)

"""Grammar-masked decoding: validity under the strict mask, soft breaker, beams, limits."""

import time

import lark
import pytest

from bb_agent.core.dsl.grammar import load_grammar, specialise
from bb_agent.core.dsl.json_grammar import endpoint_grammar
from bb_agent.core.schema import load_schema
from bb_agent.model.backends import TorchBackend
from bb_agent.model.constraint import GrammarConstraint
from bb_agent.model.decoding import DecodeConfig, DecodeOutcome, Decoder
from tests.model.faults import BrokenBackend, GrammarHostileBackend, SlowBackend, TemptedBackend


def _grammars():
    robot = load_schema('robot')
    return {'robot_dsl': specialise(load_grammar('robot_dsl'), robot.vocabulary()),
            'api_json': load_grammar('api_json'),
            'api_json:create_ticket': endpoint_grammar(load_schema('api_json'),
                                                       'create_ticket'),
            'phone_callflow': load_grammar('phone_callflow'),
            'social': load_grammar('social')}


GRAMMARS = _grammars()
SAMPLES_PER_GRAMMAR = 100  # 5 grammars -> 500 samples
# Length control lets a random model finish; it changes which outputs end, never validity.
SWEEP = dict(max_tokens=160, eos_bias=30.0, blank_penalty=6.0)


def _decoder(backend, llg, grammar, tokenizer, **kw):
    return Decoder(backend, lambda: GrammarConstraint(llg, grammar, len(tokenizer)),
                   eos_token=tokenizer.eos_token_id, detokenize=tokenizer.decode, **kw)


@pytest.mark.parametrize('name', sorted(GRAMMARS))
def test_when_random_model_decodes_strictly_expect_every_finished_output_parses(
        name, tiny_builder, hf_tokenizer, llg):
    grammar = GRAMMARS[name]
    decoder = _decoder(TorchBackend(tiny_builder, device='cpu'), llg, grammar, hf_tokenizer)
    parser = lark.Lark(grammar.text, parser='lalr')
    outcomes = {}
    for seed in range(SAMPLES_PER_GRAMMAR):
        result = decoder.generate([hf_tokenizer.eos_token_id], DecodeConfig(seed=seed, **SWEEP))
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        assert result.outcome in (DecodeOutcome.OK, DecodeOutcome.MAX_TOKENS)
        if result.outcome is DecodeOutcome.OK:
            parser.parse(result.text)  # raises if the mask ever let an invalid output end
            assert not result.left_grammar and 0 < result.confidence <= 1
    print(f'{name}: {outcomes}')
    assert outcomes.get(DecodeOutcome.OK, 0) >= 5, outcomes


@pytest.mark.parametrize('tau,switched', [(0.5, 2), (0.9999, None)])
def test_when_soft_energy_stays_high_expect_switch_to_hard_mask_after_three_steps(
        tau, switched, hf_tokenizer, llg):
    grammar, vocab = GRAMMARS['api_json:create_ticket'], len(hf_tokenizer)
    backend = TemptedBackend(vocab, GrammarConstraint(llg, grammar, vocab), pull=8.0,
                             penalty=5.0, detokenize=hf_tokenizer.decode)
    decoder = _decoder(backend, llg, grammar, hf_tokenizer)
    cfg = DecodeConfig(mode='soft', greedy=True, energy_scale=5.0, energy_tau=tau,
                       breaker_steps=3, max_tokens=12)
    result = decoder.generate([0], cfg)
    # Energy (invalid mass) is high from the first step: steps 0, 1, 2 count, then switch.
    assert result.hard_mask_from == switched
    assert not result.left_grammar


@pytest.mark.parametrize('beams', [1, 3])
def test_when_no_token_is_possible_in_strict_domain_expect_typed_outcome(beams, hf_tokenizer,
                                                                          llg):
    decoder = _decoder(BrokenBackend(len(hf_tokenizer)), llg, GRAMMARS['robot_dsl'],
                       hf_tokenizer)
    result = decoder.generate([0], DecodeConfig(num_beams=beams, max_tokens=10))
    assert result.outcome is DecodeOutcome.NO_VALID_CONTINUATION and result.tokens == []


def test_when_model_only_emits_violations_expect_strict_beam_empties_and_soft_continues(
        hf_tokenizer, llg):
    grammar = GRAMMARS['robot_dsl']
    strict = _decoder(GrammarHostileBackend(len(hf_tokenizer), GrammarConstraint(
        llg, grammar, len(hf_tokenizer))), llg, grammar, hf_tokenizer)
    result = strict.generate([0], DecodeConfig(num_beams=3, max_tokens=10))
    assert result.outcome is DecodeOutcome.NO_VALID_CONTINUATION
    soft = _decoder(GrammarHostileBackend(len(hf_tokenizer), GrammarConstraint(
        llg, grammar, len(hf_tokenizer))), llg, grammar, hf_tokenizer)
    result = soft.generate([0], DecodeConfig(mode='soft', num_beams=3, max_tokens=10))
    assert result.outcome is not DecodeOutcome.NO_VALID_CONTINUATION and result.tokens


def test_when_timeout_expires_expect_return_within_100ms_with_partial_text(tiny_builder,
                                                                          hf_tokenizer, llg):
    backend = SlowBackend(TorchBackend(tiny_builder, device='cpu'), 0.05)
    decoder = _decoder(backend, llg, GRAMMARS['robot_dsl'], hf_tokenizer)
    start = time.monotonic()
    result = decoder.generate([0], DecodeConfig(timeout_s=0.5, max_tokens=500, seed=0,
                                                blank_penalty=6.0))
    elapsed = time.monotonic() - start
    assert result.outcome is DecodeOutcome.TIMEOUT and result.tokens and result.text
    assert elapsed < 0.5 + 0.1


def test_when_cancelled_expect_generation_stops_with_partial_text(tiny_builder, hf_tokenizer,
                                                                 llg):
    decoder = _decoder(TorchBackend(tiny_builder, device='cpu'), llg, GRAMMARS['robot_dsl'],
                       hf_tokenizer)
    calls = []
    result = decoder.generate([0], DecodeConfig(max_tokens=500, seed=0),
                              cancel=lambda: calls.append(1) or len(calls) > 5)
    assert result.outcome is DecodeOutcome.CANCELED and len(result.tokens) == 5


def test_when_alpha_max_zero_expect_greedy_decode_identical_to_base(tiny_builder,
                                                                    hf_tokenizer, llg):
    grammar = GRAMMARS['api_json:create_ticket']
    cfg = DecodeConfig(greedy=True, max_tokens=40)
    tiny_builder.set_alpha_max(0.0)
    try:
        rail = _decoder(TorchBackend(tiny_builder, device='cpu'), llg, grammar, hf_tokenizer)
        base = _decoder(TorchBackend(tiny_builder.base, device='cpu'), llg, grammar,
                        hf_tokenizer)
        assert rail.generate([0], cfg).tokens == base.generate([0], cfg).tokens
    finally:
        tiny_builder.set_alpha_max(0.05)


@pytest.mark.parametrize('schedule,first,last', [('linear', 1.2, 0.7), ('cosine', 1.2, 0.7),
                                                 ('constant', 1.2, 1.2)])
def test_when_temperature_annealed_expect_schedule_from_start_to_end(schedule, first, last):
    cfg = DecodeConfig(schedule=schedule, max_tokens=11)
    temps = [cfg.temperature(i) for i in range(11)]
    assert temps[0] == pytest.approx(first) and temps[-1] == pytest.approx(last)
    assert all(a >= b for a, b in zip(temps, temps[1:], strict=False))


@pytest.mark.parametrize('bad', [dict(mode='loose'), dict(max_tokens=0), dict(timeout_s=0),
                                 dict(temperature_end=0), dict(num_beams=0)])
def test_when_decode_config_invalid_expect_value_error(bad):
    with pytest.raises(ValueError):
        DecodeConfig(**bad)


def test_when_strict_decode_is_cut_by_the_budget_expect_whole_statements_that_parse(
        tiny_builder, hf_tokenizer, llg):
    grammar = GRAMMARS['robot_dsl']
    decoder = _decoder(TorchBackend(tiny_builder, device='cpu'), llg, grammar, hf_tokenizer)
    parser = lark.Lark(grammar.text, parser='lalr')
    program = 's1 = home();\n'
    ids = hf_tokenizer.encode(program + 's2 = move_to(target=', add_special_tokens=False)
    whole = len(hf_tokenizer.encode(program, add_special_tokens=False))
    assert decoder.accepting_prefix(ids) == whole
    assert decoder.accepting_prefix(hf_tokenizer.encode('s1 = home(', add_special_tokens=False)
                                    ) == 0  # not even one statement yet
    cut = 0
    for seed in range(12):  # no length control: a random model seldom stops by itself
        result = decoder.generate([hf_tokenizer.eos_token_id],
                                  DecodeConfig(seed=seed, max_tokens=60, blank_penalty=6.0))
        if result.outcome is DecodeOutcome.MAX_TOKENS:
            cut += 1
            assert len(result.tokens) == 60 and len(result.logprobs) == 60  # all generated
            if result.text.strip():
                parser.parse(result.text)  # the kept prefix is whole statements
    assert cut >= 6

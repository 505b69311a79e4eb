"""``bb-agent learn``: examples from the run ledger, adapters-only training, frozen proof."""

import json

import pytest

from bb_agent.safety.ledger import Ledger
from bb_agent.train.learn import ADAPTER_KEYS, LearnConfig, examples_from_ledger, learn

CTX = 'objects: red_cup blue_block; bins: bin_a bin_b; human: none'
PLACE = 's1 = pick(object=red_cup);\ns2 = place(object=red_cup, target=bin_a);\n'


def _request(ledger, cid, text, *, outcome=0, approved=True, dry_run=False, domain='robot',
             operator=None, confirmed=None):
    ledger.record('request', correlation_id=cid, actor='a', session='', domain=domain,
                  text=text, request_key='', dry_run=dry_run)
    if confirmed:
        ledger.record('confirmed', correlation_id=cid, program=PLACE, request=confirmed)
    ledger.record('verdict', correlation_id=cid, approved=approved, program=PLACE,
                  repairs=[], violations=[], context=CTX)
    if operator is not None:
        ledger.record('operator_decision', correlation_id=cid, approve=operator,
                      operator='op', reason='')
    ledger.record('outcome', correlation_id=cid, outcome=outcome, code=0, message='')


@pytest.mark.parametrize('case,kwargs,learned', [
    ('executed and succeeded', {}, ('executed', 'yeet the cup')),
    ('a dry run', {'dry_run': True}, None),
    ('failed', {'outcome': 3}, None),
    ('refused by the checker', {'approved': False}, None),
    ('another domain', {'domain': 'api_json'}, None),
    ('an operator rejected it', {'operator': False}, None),
    ('an operator approved it', {'operator': True}, ('approved', 'yeet the cup')),
    ('a "yes" to the gate', {'confirmed': 'put the cup away'},
     ('confirmed', 'put the cup away')),
])
def test_when_the_ledger_is_read_expect_only_good_requests_learned(tmp_path, case, kwargs,
                                                                   learned):
    ledger = Ledger(tmp_path / 'ledger.jsonl')
    _request(ledger, 'c1', 'yeet the cup' if not kwargs.get('confirmed') else 'yes',
             **kwargs)
    found = examples_from_ledger(tmp_path / 'ledger.jsonl')
    if learned is None:
        assert found == [], case
    else:
        assert [(e.source, e.request, e.context, e.program) for e in found] == [
            (*learned, CTX, PLACE)], case


def test_when_adapters_learn_expect_only_adapter_and_router_weights_changed(tmp_path):
    from safetensors.torch import load_file

    from bb_agent.model.checkpoint import default_model_dir
    from bb_agent.safety.registry import model_id
    from bb_agent.train.learn import Example
    examples = [Example(f'yeet the red cup into bin A{p}', CTX, PLACE, 'executed')
                for p in ('', ' please', ' now')]
    out = tmp_path / 'candidate'
    report = learn(default_model_dir(), examples, out, LearnConfig(steps=8, birth_cap=1,
                                                                   birth_loss=0.0))
    # The shipped model's gated update is saturated: its adapters get no gradient (see the
    # README), so the loss cannot move here; what is tested is what may change.
    assert report.frozen_unchanged and report.loss_after <= report.loss_before + 1e-6
    assert report.born == 1 and report.changed
    assert all(k.endswith(ADAPTER_KEYS) for k in report.changed), report.changed
    before = load_file(str(default_model_dir() / 'model.safetensors'))
    after = load_file(str(out / 'model.safetensors'))
    assert {k for k in before if not k.endswith(ADAPTER_KEYS)} == {
        k for k in after if not k.endswith(ADAPTER_KEYS)}
    for key in before:
        if not key.endswith(ADAPTER_KEYS):
            assert bool((before[key] == after[key]).all()), key
    config = json.loads((out / 'config.json').read_text())
    assert config['learned']['born'] == 1 and config['rail']['skills'] == 33
    assert model_id(out) != model_id(default_model_dir())
    from bb_agent.model.checkpoint import load_checkpoint
    load_checkpoint(out).load_model()  # the candidate loads: shapes fit the config


def test_when_the_ledger_has_nothing_to_learn_expect_a_typed_error(tmp_path):
    from bb_agent.core.outcomes import BBError
    from bb_agent.model.checkpoint import default_model_dir
    with pytest.raises(BBError, match='no learnable examples'):
        learn(default_model_dir(), [], tmp_path / 'c')

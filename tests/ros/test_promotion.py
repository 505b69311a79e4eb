"""Promotion over DDS: the gate, hot-swap without restart, rollback, auto-rollback, ledger.

One stack (sim robot, builder, agent) in this module's domain. The builder starts on a
deliberately broken checkpoint (the shipped model with noise on its base weights: a fault
injection). The tests run in order, as an operator would:

1. a dry run decides PROMOTE for the shipped model and switches nothing;
2. the shipped model, promoted while the fault switch makes every plan of a promoted model
   fail the intent gate live (it passed the gate offline), is rolled back by itself;
3. promoted again without the fault, it is served at once (no restart);
4. the broken model, as a candidate against it, is REJECTED with its failing gates named,
   and a promotion judged against any model but the active one is refused;
5. ``rollback`` returns to the broken model, and a second one is refused (nothing left);
6. every step is in the run ledger, which verifies, and a tampered copy does not.

The gate runs on 2 rows per set (``limit``) and a wide KL bound: the broken and the shipped
model are far apart, and this module tests the wiring; the gate's rules are tested alone in
``tests/safety/test_gate.py``.
"""

import json
import shutil
import time

import pytest

from bb_agent.model.checkpoint import default_model_dir
from bb_agent.safety.registry import model_id

pytestmark = pytest.mark.ros
PROMOTE_TIMEOUT_S = 600.0  # a gate on a loaded 2-core machine


def _noisy_copy(src, dst, scale: float, base: bool) -> None:
    """Copy a checkpoint with noise on its base weights (base) or its skill adapters."""
    from safetensors.torch import load_file, save_file
    import torch
    shutil.copytree(src, dst)
    state = load_file(str(dst / 'model.safetensors'))
    gen = torch.Generator().manual_seed(0)
    for key, value in state.items():
        hit = key.startswith('base.') and value.dim() == 2 if base else '.skills.up' in key
        if hit:
            state[key] = value + torch.randn(value.shape, generator=gen) * scale * (
                float(value.std()) if base else 1.0)
    save_file(state, str(dst / 'model.safetensors'))


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    """Return the folders: broken (the builder's start), good (shipped), variant (good too)."""
    root = tmp_path_factory.mktemp('models')
    _noisy_copy(default_model_dir(), root / 'broken', 1.5, base=True)
    _noisy_copy(default_model_dir(), root / 'variant', 1e-3, base=False)
    return {'broken': root / 'broken', 'good': default_model_dir(), 'variant': root / 'variant'}


@pytest.fixture(scope='module')
def stack(repo_root, models, tmp_path_factory, approval_key):
    import os

    from tests.ros.stack import RosClient, Stack
    tmp = tmp_path_factory.mktemp('promotion')
    gate = tmp / 'gate.yaml'
    gate.write_text('version: 1\ndata: {limit: 2, reference_max: 4}\n'
                    'thresholds: {kl_max: 100.0}\n')
    ledger = tmp / 'ledger.jsonl'
    env = {**os.environ}
    s = Stack(repo_root, {
        'sim_robot': ('sim_robot_node', {}),
        'builder': ('builder_node', {'model_path': str(models['broken']),
                                     'registry_dir': str(tmp / 'registry'),
                                     'gate_config': str(gate), 'watch_window': 6,
                                     'watch_min': 4}),
        'agent': ('agent_node', {'ledger_path': str(ledger)}),
    }, env)
    client = RosClient('promotion_test')
    from std_msgs.msg import String

    from bb_agent.nodes.qos import LATCHED
    client.active = client.collect(String, 'model/active', LATCHED)
    client.events = client.collect(String, 'model/events')
    client.ledger = ledger
    assert client.wait_until(lambda: client.active, 30), 'no model/active'
    yield client
    client.close()
    s.stop()


def _promote(c, candidate, *, dry_run=False, baseline=''):
    from bb_msgs.srv import PromoteCheckpoint
    cli = c.node.create_client(PromoteCheckpoint, 'promote')
    return c.call(cli, PromoteCheckpoint.Request(candidate_path=str(candidate),
                                                 baseline_path=str(baseline),
                                                 dry_run=dry_run), PROMOTE_TIMEOUT_S)


def _active_id(c) -> str:
    return json.loads(c.active[-1].data)['id']


def _propose(c, goal='go home', cid=''):
    from bb_msgs.srv import ProposePlan
    cli = c.node.create_client(ProposePlan, 'propose')
    deadline = time.monotonic() + 20
    while True:  # the builder needs a first world state from the sim
        answer = c.call(cli, ProposePlan.Request(goal=goal, domain='robot',
                                                 correlation_id=cid), 60)
        if answer.error_code != 401 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def _events(c) -> list[str]:
    return [json.loads(m.data)['event'] for m in c.events]


def test_when_a_better_model_is_dry_run_expect_promote_decided_and_nothing_switched(
        stack, models):
    from bb_msgs.srv import PromoteCheckpoint
    before = _active_id(stack)
    answer = _promote(stack, models['good'], dry_run=True)
    assert answer.outcome == answer.OUTCOME_SUCCEEDED, answer.error_msg
    assert answer.decision == PromoteCheckpoint.Response.DECISION_PROMOTE, [
        (m.name, m.value, m.baseline, m.passed) for m in answer.metrics]
    assert {m.name for m in answer.metrics} >= {'vs_worst_delta', 'kl', 'unrequested',
                                                'grammar_hash', 'faithful_safety'}
    assert open(answer.report_path).read().startswith('# Promotion gate: PROMOTE')
    assert _active_id(stack) == before == model_id(models['broken'])


def _fault(c, on: bool) -> None:
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters
    setter = c.node.create_client(SetParameters, 'builder/set_parameters')
    done = c.call(setter, SetParameters.Request(parameters=[Parameter(
        name='fault_promoted_mismatch', value=ParameterValue(
            type=ParameterType.PARAMETER_BOOL, bool_value=on))]))
    assert done.results[0].successful, done.results[0].reason


GOALS = ('go home', 'put the red cup in bin A', 'go home', 'wait 1 second', 'go home')


def test_when_a_promoted_model_regresses_live_expect_an_automatic_rollback(stack, models):
    for goal in GOALS[:4]:
        _propose(stack, goal)  # the active model's recent proposals: the baseline
    _fault(stack, True)
    answer = _promote(stack, models['good'])
    assert answer.decision == answer.DECISION_PROMOTE, answer.error_msg
    assert stack.wait_until(lambda: _active_id(stack) == model_id(models['good']), 10)
    for goal in GOALS:
        _propose(stack, goal)  # gated by the fault, and watched
    assert stack.wait_until(lambda: 'auto_rollback' in _events(stack), 60), _events(stack)
    assert stack.wait_until(lambda: _active_id(stack) == model_id(models['broken']), 30)
    _fault(stack, False)


def test_when_a_promoted_models_plans_are_stopped_live_expect_an_automatic_rollback(
        stack, models):
    from std_msgs.msg import String

    from bb_agent.nodes.qos import RECENT
    from bb_msgs.action import HandleRequest
    answer = _promote(stack, models['good'])
    assert answer.decision == answer.DECISION_PROMOTE, answer.error_msg
    assert stack.wait_until(lambda: _active_id(stack) == model_id(models['good']), 10)
    cids = [f'stopped-{i}' for i in range(4)]
    for cid in cids:
        plan = _propose(stack, 'go home', cid)
        assert plan.source == plan.SOURCE_MODEL, plan.error_msg
    # The fault: the agent's ledger events say the monitor stopped each of those plans
    # (what the agent writes when an execution ends STOPPED with SAFETY_STOP).
    pub = stack.node.create_publisher(String, 'ledger/events', RECENT)
    for cid in cids:
        pub.publish(String(data=json.dumps({
            'event': 'outcome', 'correlation_id': cid, 'code': 400,
            'outcome': HandleRequest.Result.OUTCOME_STOPPED, 'message': 'stopped'})))
    assert stack.wait_until(lambda: _events(stack).count('auto_rollback') == 2, 60), \
        _events(stack)
    reason = [json.loads(m.data) for m in stack.events][-1]['reason']
    assert 'motion_stop' in reason, reason
    assert stack.wait_until(lambda: _active_id(stack) == model_id(models['broken']), 30)
    stack.node.destroy_publisher(pub)


def test_when_a_better_model_is_promoted_expect_it_served_without_a_restart(stack, models):
    answer = _promote(stack, models['good'])
    assert answer.decision == answer.DECISION_PROMOTE, answer.error_msg
    assert stack.wait_until(lambda: _active_id(stack) == model_id(models['good']), 10)
    plan = _propose(stack, 'go home')  # the same builder process answers on the new model
    assert plan.outcome == plan.OUTCOME_SUCCEEDED and plan.source == plan.SOURCE_MODEL, \
        plan.error_msg


def test_when_a_worse_model_is_a_candidate_expect_reject_naming_the_failing_gates(
        stack, models):
    answer = _promote(stack, models['broken'])
    assert answer.outcome == answer.OUTCOME_SUCCEEDED, answer.error_msg
    assert answer.decision == answer.DECISION_REJECT
    failed = {m.name for m in answer.metrics if not m.passed}
    assert failed & {'faithful_test_iid', 'faithful_safety', 'vs_worst_delta'}, failed
    report = open(answer.report_path).read()
    assert 'failed gates: ' in report and '**no**' in report
    assert _active_id(stack) == model_id(models['good'])  # unchanged
    # judged against another model than the active one: refused, whatever that gate says
    refused = _promote(stack, models['variant'], baseline=models['broken'])
    assert refused.outcome == refused.OUTCOME_INVALID_INPUT and 'dry run' in \
        refused.error_msg
    assert _active_id(stack) == model_id(models['good'])


def test_when_rollback_is_called_expect_the_previous_model_then_a_refusal(stack, models):
    from std_srvs.srv import Trigger
    cli = stack.node.create_client(Trigger, 'rollback')
    first = stack.call(cli, Trigger.Request(), 120)
    assert first.success, first.message
    assert stack.wait_until(lambda: _active_id(stack) == model_id(models['broken']), 10)
    second = stack.call(cli, Trigger.Request(), 60)
    assert not second.success and 'nothing to roll back' in second.message


def test_when_the_ledger_is_read_expect_every_step_and_a_chain_that_catches_tampering(
        stack, models, tmp_path):
    from bb_agent.safety.ledger import verify
    want = ['model_dry_run_promote', 'model_promote', 'model_auto_rollback',
            'model_promote', 'model_auto_rollback', 'model_promote', 'model_reject',
            'model_rollback']

    def events():
        if not stack.ledger.exists():
            return []
        return [json.loads(line)['event'] for line in stack.ledger.read_text().splitlines()]
    assert stack.wait_until(lambda: [e for e in events() if e.startswith('model_')] == want,
                            10), events()
    records = [json.loads(line) for line in stack.ledger.read_text().splitlines()]
    # each record carries the model in force (model/active): the good one after promotion
    assert any(r['stamp'].get('model_id') == model_id(models['good']) for r in records)
    assert verify(stack.ledger).ok
    tampered = tmp_path / 'ledger.jsonl'
    lines = stack.ledger.read_text().splitlines()
    lines[1] = lines[1].replace('"model_', '"modex_', 1)  # one edited field
    tampered.write_text('\n'.join(lines) + '\n')
    report = verify(tampered)
    assert not report.ok and ':2' in report.bad

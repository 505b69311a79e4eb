"""The evaluation battery, ONNX export and the shipped default model."""

import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

from bb_agent.core.check.checker import check_plan
from bb_agent.core.dsl.parser import parse_program
from bb_agent.core.prompting import world_context
from bb_agent.core.schema import load_schema
from bb_agent.core.world import world_from_dict

BB_AGENT = str(Path(sys.executable).with_name('bb-agent'))


def _run(*args, timeout=900):
    result = subprocess.run([BB_AGENT, *map(str, args)], capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp('tiny') / 'ckpt'
    _run('train', '--preset', 'tiny', '--out', out, '--no-progress')
    return out


def test_when_recipe_is_trained_without_data_expect_checkpoint_with_curves(tiny_checkpoint):
    for name in ('model.safetensors', 'config.json', 'tokenizer.json', 'grammar.lark',
                 'metrics.json', 'data_card.json', 'curves.png', 'base/config.json'):
        assert (tiny_checkpoint / name).exists(), name
    config = json.loads((tiny_checkpoint / 'config.json').read_text())
    assert config['schema_sha256'] == load_schema('robot').sha256


def test_when_battery_runs_on_tiny_checkpoint_expect_every_metric(tiny_checkpoint, tmp_path):
    out = _run('eval', tiny_checkpoint, '--out', tmp_path, '--limit', 3, '--sweep-limit', 2,
               '--free-limit', 2, '--stack-steps', 2, '--max-tokens', 24)
    # the terminal gets a table (builder and base-only side by side) and the files' places
    assert 'builder exact  base-only exact' in out and 'test_compositional' in out
    predictions = [json.loads(line) for line in (tmp_path / 'predictions.jsonl').open()]
    assert len(predictions) == 3 * 3  # three test splits, --limit 3 each
    assert {'split', 'input', 'gold', 'prediction', 'exact', 'base_only'} <= set(predictions[0])
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['compositional_split'] == 'test_compositional'
    assert set(metrics['splits']) == {'test_iid', 'test_compositional', 'test_skin'}
    for split in metrics['splits'].values():
        for who in ('builder', 'base_only', 'unmasked'):
            for key in ('syntax_valid', 'exact_match', 'checker_approved', 'unsafe_rate'):
                assert 0.0 <= split[who][key] <= 1.0, (who, key)
        assert split['builder']['ged_mean'] >= 0.0  # skin shift: distance to the gold DAGs
    sweep = metrics['takeover']['points']
    assert [p['alpha'] for p in sweep][0] == 0.0 and len(sweep) >= 5
    assert all(0.0 <= p['win_rate_vs_base'] <= 1.0 for p in sweep)
    assert [p['dropped_fraction'] for p in metrics['ablation']['points']] == [0.25, 0.5, 1.0]
    stacking = metrics['stacking']
    assert stacking['sublinear'] and stacking['params_added_per_skill'] > 0
    assert stacking['growth_exponent'] < 1.0
    report = (tmp_path / 'report.md').read_text()
    assert 'Takeover sweep' in report and 'Skill ablation' in report
    for png in ('splits.png', 'takeover.png', 'ablation.png', 'curves.png'):
        assert (tmp_path / png).stat().st_size > 1000, png


def test_when_checkpoint_is_exported_expect_onnx_planner_to_match_torch(tiny_checkpoint):
    from bb_agent.model.checkpoint import load_checkpoint
    from bb_agent.model.decoding import DecodeConfig
    from bb_agent.model.planner import Planner
    _run('export', tiny_checkpoint, '--onnx')
    ckpt = load_checkpoint(tiny_checkpoint)
    cfg = DecodeConfig(greedy=True, max_tokens=20)
    request = 'pick up the red cup'
    onnx = Planner(ckpt, backend='onnx').plan(request, cfg=cfg)
    eager = Planner(ckpt).plan(request, cfg=cfg)
    assert onnx.tokens == eager.tokens and onnx.outcome == eager.outcome


@pytest.mark.parametrize('defect,expected', [
    ('grammar', 'does not match the hash'),
    ('config', 'unreadable'),
    ('weights', 'cannot build the model'),
])
def test_when_checkpoint_is_damaged_expect_model_unavailable(tiny_checkpoint, tmp_path,
                                                              defect, expected):
    import shutil

    from bb_agent.core.outcomes import BBError, ErrorCode
    from bb_agent.model.checkpoint import load_checkpoint
    broken = tmp_path / 'ckpt'
    shutil.copytree(tiny_checkpoint, broken, ignore=shutil.ignore_patterns('data', 'onnx'))
    target = {'grammar': 'grammar.lark', 'config': 'config.json',
              'weights': 'model.safetensors'}[defect]
    (broken / target).write_text('start: "x"\n' if defect == 'grammar' else 'garbage')
    with pytest.raises(BBError) as err:
        load_checkpoint(broken).load_model()
    assert err.value.code is ErrorCode.MODEL_UNAVAILABLE and expected in err.value.message


def test_when_synthesised_in_processes_with_different_hash_seeds_expect_same_bytes(tmp_path):
    code = ('import sys; from bb_agent.train.synthesize import Sizes, synthesize; '
            'synthesize(sys.argv[1], seed=3, domains=("robot",), '
            'sizes=Sizes(train=20, val=5, test=5))')
    for seed in ('1', '2'):
        env = {**os.environ, 'PYTHONHASHSEED': seed}
        subprocess.run([sys.executable, '-c', code, str(tmp_path / seed)], check=True, env=env)
    for name in ('train.jsonl', 'test_skin.jsonl', 'data_card.json'):
        assert (tmp_path / '1/robot' / name).read_bytes() == \
            (tmp_path / '2/robot' / name).read_bytes(), name


WORLD = {'objects': [
    {'id': 'red_cup', 'kind': 'cup', 'position': [0.45, 0.1, 0.03], 'size': [0.06] * 3,
     'attributes': {'color': 'red'}},
    {'id': 'blue_block', 'kind': 'block', 'position': [0.5, -0.1, 0.03],
     'size': [0.06] * 3, 'attributes': {'color': 'blue'}},
    {'id': 'bin_a', 'kind': 'bin', 'position': [0.3, 0.4, 0.05], 'size': [0.2, 0.2, 0.1]},
    {'id': 'tray', 'kind': 'bin', 'position': [0.3, -0.4, 0.05], 'size': [0.2, 0.2, 0.1]}],
    'facts': ['gripper_empty', 'gripper_ok', 'suction_ready']}


@pytest.mark.parametrize('request_text', [
    'Put the red cup in bin A.',
    'Look at the table, then go home.',
    'Push the blue block left by 5 cm.',
])
def test_when_default_model_plans_expect_a_valid_program_under_the_strict_mask(request_text):
    from bb_agent.core.check.violations import Code
    from bb_agent.core.prompting import world_symbols
    from bb_agent.model.checkpoint import load_checkpoint
    from bb_agent.model.decoding import DecodeOutcome
    from bb_agent.model.planner import Planner
    planner = _default_planner(load_checkpoint, Planner)
    world, schema = world_from_dict(WORLD), load_schema('robot')
    result = planner.plan(request_text, world_context(world),
                          symbols=world_symbols(world, schema.enum_values()))
    assert result.outcome is DecodeOutcome.OK, result
    parse_program(result.text)  # strict mask: always a sentence of the grammar
    verdict = check_plan(result.text, schema, world)
    # Symbols are limited to the world's ids: the checker never sees an unknown object.
    # (Whether the plan is the right one is the evaluation battery's measure.)
    assert not any(v.code is Code.E_UNKNOWN_OBJECT for v in verdict.violations), verdict


_PLANNER = {}


def _default_planner(load_checkpoint, planner_cls):
    if 'default' not in _PLANNER:
        _PLANNER['default'] = planner_cls(load_checkpoint(None), device='cpu')
    return _PLANNER['default']


@pytest.mark.parametrize('pred,gold,distance', [
    ({'nodes': ['pick', 'place'], 'edges': [[1, 0]]},
     {'nodes': ['pick', 'place'], 'edges': [[1, 0]]}, 0.0),
    ({'nodes': ['pick', 'home'], 'edges': [[1, 0]]},
     {'nodes': ['pick', 'place'], 'edges': [[1, 0]]}, 1.0),  # one node relabelled
    ({'nodes': ['pick'], 'edges': []},
     {'nodes': ['pick', 'place'], 'edges': [[1, 0]]}, 2.0),  # a node and its edge missing
    (None, {'nodes': ['pick', 'place'], 'edges': [[1, 0]]}, 3.0),  # nothing parsed
])
def test_when_plan_graphs_differ_expect_unit_cost_edit_distance(pred, gold, distance):
    from bb_agent.train.evaluate import dag_to_nx, graph_edit_distance
    got = graph_edit_distance(dag_to_nx(pred) if pred else None, dag_to_nx(gold))
    assert got == distance

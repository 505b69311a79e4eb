"""``make demo``'s scenario as assertions: the whole stack with the shipped default model."""

import json

import pytest

from bb_agent.clients.demo import SCENARIO, run_demo

pytestmark = pytest.mark.ros


@pytest.fixture(scope='module')
def demo(tmp_path_factory, approval_key):
    report = tmp_path_factory.mktemp('report')
    ok, results = run_demo(report)
    return ok, results, report


@pytest.mark.parametrize('index', range(len(SCENARIO)))
def test_when_demo_step_runs_expect_its_outcome(demo, index):
    _ok, results, _report = demo
    step = results[index]
    assert step['outcome'] == SCENARIO[index].expect, step


def test_when_unsafe_request_is_rejected_expect_reasons_and_no_motion(demo):
    step = demo[1][1]
    assert step['violations'] and step['nodes']['total'] == 0


def test_when_ambiguous_request_is_deferred_expect_a_question(demo):
    assert demo[1][2]['question'].endswith('?')


def test_when_skill_keeps_failing_expect_retries_and_safe_pose(demo):
    step = demo[1][3]
    assert step['nodes']['retries'] >= 1 and step['nodes']['safe_pose']


def test_when_human_enters_expect_stop_with_the_monitors_reason(demo):
    step = demo[1][4]
    assert step['outcome'] == 'STOPPED' and 'human' in step['stop_reasons'], step


def test_when_demo_finishes_expect_report_with_plan_graphs_and_vs_timeline(demo):
    ok, _results, report = demo
    assert ok
    assert (report / 'vs_timeline.png').stat().st_size > 1000
    assert (report / 'plan_1.png').exists() and (report / 'trace.md').exists()
    assert len(json.loads((report / 'scenario.json').read_text())) == len(SCENARIO)

"""Training's stopping rule, progress output and the train command's argument checks."""

import io
from pathlib import Path
import subprocess
import sys

import pytest

from bb_agent.train.progress import Progress
from bb_agent.train.stopping import Stopping, warmup_then_scaled
from bb_agent.train.synthesize import Sizes, synthesize

BB_AGENT = str(Path(sys.executable).with_name('bb-agent'))


@pytest.mark.parametrize('values,lower,patience,stops_at,improving', [
    ([3.0, 2.0, 1.5, 1.2, 1.0], True, 2, None, True),         # a falling loss never stops
    ([3.0, 2.0, 1.99, 1.995, 1.999], True, 3, 5, False),     # < 1% better is a plateau
    ([0.5, 0.6, 0.6004, 0.6001, 0.5999], False, 3, 5, False),  # accuracy within the margin
    ([0.5, 0.6, 0.7, 0.8], False, 1, None, True),
    ([3.0, 3.0, 3.0], True, 0, None, False),                 # patience 0: steps decide
])
def test_when_validation_is_observed_expect_plateau_stops_only_without_progress(
        values, lower, patience, stops_at, improving):
    rule = Stopping(patience=patience, margin=0.01 if lower else 0.005, lower=lower)
    stopped = None
    for i, value in enumerate(values, 1):
        rule.observe(i * 100, value)
        if rule.should_stop() and stopped is None:
            stopped = i
    assert stopped == stops_at
    report = rule.report(len(values) * 100, 2.5)
    assert report['stopped_by'] == ('plateau' if stops_at else 'steps')
    assert report['still_improving'] is improving and report['steps_per_s'] == 2.5


@pytest.mark.parametrize('values,decays,stops_at,cuts', [
    # a wobbling loss: each plateau cuts the rate first; only a plateau after 2 cuts stops
    ([1.0, 0.5, 0.6, 0.6, 0.4, 0.45, 0.45, 0.3, 0.3, 0.31], 2, 10, [4, 7]),
    ([1.0, 0.5, 0.6, 0.6], 0, 4, []),                        # no cuts: the first plateau stops
    ([1.0, 0.5, 0.6, 0.6, 0.2, 0.1, 0.05], 1, None, [4]),    # a cut that helps keeps going
])
def test_when_a_plateau_comes_expect_rate_cuts_before_the_phase_stops(
        values, decays, stops_at, cuts):
    rule = Stopping(patience=2, decays=decays, factor=0.5)
    stopped = None
    for i, value in enumerate(values, 1):
        rule.observe(i, value)
        if rule.should_stop() and stopped is None:
            stopped = i
    assert stopped == stops_at and rule.cuts == cuts
    assert rule.lr_scale == 0.5 ** len(cuts) and rule.report(len(values), 1.0)['lr_cuts'] == cuts


def test_when_a_phase_ends_expect_its_best_validated_weights_back():
    torch = pytest.importorskip('torch')
    weight = torch.nn.Parameter(torch.zeros(3))
    rule = Stopping(patience=5)
    for step, (value, loss) in enumerate([(1.0, 0.9), (2.0, 0.4), (3.0, 0.7)], 1):
        with torch.no_grad():
            weight.fill_(value)
        rule.observe(step, loss)
        rule.keep([weight])
    assert rule.restore([weight]) and weight.tolist() == [2.0, 2.0, 2.0]  # loss 0.4's
    assert not Stopping().restore([weight])  # nothing kept: nothing changes


def test_when_warming_up_expect_the_rate_to_rise_then_follow_the_cuts():
    rule = Stopping(patience=1, decays=1, factor=0.1)
    factor = warmup_then_scaled(rule, 4)
    assert [factor(s) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    rule.observe(1, 1.0), rule.observe(2, 1.0), rule.should_stop()
    assert factor(100) == pytest.approx(0.1)


def test_when_validation_is_measured_expect_one_news_line_in_the_log():
    log = io.StringIO()
    rule = Stopping(patience=1, decays=1)
    bar = Progress(100, 'base', stream=log, every_s=1e9)
    for step, value in ((250, 0.5), (500, 0.6)):
        rule.observe(step, value)
        rule.should_stop()
        bar.note(rule.news())
    assert log.getvalue().splitlines() == [
        '[base] step 250: validation 0.5000 (best 0.5000)',
        '[base] step 500: validation 0.6000 (best 0.5000, rate x0.3 after 1 plateau(s))']


def test_when_deadline_passes_expect_time_budget_reason():
    rule = Stopping(deadline=0.0)
    assert rule.should_stop() and rule.report(7, 1.0)['stopped_by'] == 'time_budget'


def test_when_progress_goes_to_a_log_expect_plain_periodic_lines_not_carriage_returns():
    log = io.StringIO()  # not a TTY
    bar = Progress(1000, 'rail', stream=log, every_s=0.0)
    for _ in range(3):
        bar.update(1, lm='0.500')
    bar.close()
    text = log.getvalue()
    assert '\r' not in text and text.count('\n') == 4
    assert text.splitlines()[-1].startswith('[rail] 3/1000 steps,') and 'lm=0.500' in text


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp('d')
    synthesize(out, seed=1, sizes=Sizes(train=20, val=6, test=6), domains=('robot',))
    return out / 'robot'


@pytest.mark.parametrize('args,needle', [
    (('--preset', 'small'), "unknown model preset 'small': use one of ['default', 'smollm2'"),
    (('--grammar', 'robot'), "--grammar 'robot' is neither a file nor a built-in grammar"),
    (('--grammar', 'no/such.lark'), 'cannot read grammar file no/such.lark'),
    (('--domain', 'garden'), "unknown --domain 'garden'; one of ['api_json', 'phone'"),
    (('--base-steps', '0'), '--base-steps 0 leaves a random base'),
    (('--base-steps', '-1'), 'argument --base-steps: must be >= 0, got -1'),
])
def test_when_train_arguments_are_wrong_expect_typed_message_not_traceback(data, tmp_path,
                                                                          args, needle):
    result = subprocess.run([BB_AGENT, 'train', '--data', str(data), '--out',
                             str(tmp_path / 'o'), *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert needle in result.stderr and 'Traceback' not in result.stderr


def test_when_trained_on_own_data_expect_plateau_rule_and_what_it_reached(data, tmp_path):
    result = subprocess.run([BB_AGENT, 'train', '--preset', 'tiny', '--data', str(data),
                             '--out', str(tmp_path / 'o'), '--base-steps', '30', '--steps',
                             '6', '--threads', '1', '--no-progress'],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert 'stop plateau, budget 150 min, 1 torch threads' in out
    assert 'base: 30 steps at' in out and 'rail: 6 steps at' in out and 'stopped by' in out
    import json
    metrics = json.loads((tmp_path / 'o' / 'metrics.json').read_text())
    assert metrics['rail_training']['stopped_by'] in ('steps', 'plateau')
    assert metrics['base_training']['steps'] == 30 and metrics['torch_threads'] == 1
    assert metrics['base_training']['lr_cuts'] == []  # reported; 30 steps see no plateau

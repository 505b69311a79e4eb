"""The executor engine: order, parallelism, guards, retries, breaker, fallback, STOP."""

import threading
import time

import pytest

from bb_agent.core.check.check_args import check_arguments
from bb_agent.core.check.plan_graph import build_graph
from bb_agent.core.dsl.parser import parse_program
from bb_agent.core.execution import (
    CircuitBreaker,
    Engine,
    ExecOutcome,
    NodeState,
    RetryPolicy,
    SkillResult,
)
from bb_agent.core.outcomes import ErrorCode
from bb_agent.core.resources import config_path
from bb_agent.core.schema import load_schema
from bb_agent.core.world import load_world

SCHEMA = load_schema('robot')
WORLD = load_world(config_path('worlds', 'tabletop.json'))
FAST = RetryPolicy(backoff_s=(0.01, 0.02, 0.04, 0.08), breaker_failures=3,
                   breaker_cooldown_s=60.0)


class Robot:
    """A recording adapter; ``fail`` maps skill -> failed attempts before success."""

    def __init__(self, fail=None, delay=0.01, slow=None):
        self.calls, self.fail, self.delay = [], dict(fail or {}), delay
        self.slow = dict(slow or {})  # skill -> seconds
        self.lock, self.stops = threading.Lock(), 0

    def __call__(self, node_id, skill, args, timeout, cancel):
        with self.lock:
            self.calls.append((node_id, skill, args))
            failing = self.fail.get(skill, 0)
            if failing:
                self.fail[skill] = failing - 1
        if cancel.wait(self.slow.get(skill, self.delay)):
            return SkillResult(False, ErrorCode.SKILL_FAILED, 'canceled')
        return SkillResult(not failing, ErrorCode.NONE if not failing else
                           ErrorCode.SKILL_FAILED, 'boom' if failing else '')

    def stop(self):
        self.stops += 1


def run(program, robot, *, branch=True, stop=None, breaker=None):
    graph = build_graph(parse_program(program), max_nodes=100)
    _, effective = check_arguments(graph, SCHEMA, WORLD)
    statuses = []
    engine = Engine(graph, SCHEMA, effective, robot, lambda node: branch, policy=FAST,
                    breaker=breaker, on_status=lambda r: statuses.append((r.node_id, r.state)),
                    stop=stop, stop_robot=robot.stop)
    return engine.run(), statuses


SEQ = 's1 = pick(object=red_cup);\ns2 = place(object=red_cup, target=bin_a);\n'


def test_when_plan_succeeds_expect_topological_order_and_symbol_names():
    robot = Robot()
    result, _ = run(SEQ, robot)
    assert result.outcome is ExecOutcome.SUCCEEDED and robot.stops == 0
    assert [c[0] for c in robot.calls] == ['s1', 's2']
    assert robot.calls[1][2]['target'] == 'bin_a' and robot.calls[0][2]['speed'] == 0.2


def test_when_parallel_block_runs_expect_overlapping_dispatch():
    robot = Robot(delay=0.3)
    start = time.monotonic()
    result, _ = run('parallel {\n  s1 = say(text="hi");\n  s2 = scan(region=all);\n}\n', robot)
    assert result.outcome is ExecOutcome.SUCCEEDED
    assert time.monotonic() - start < 0.55  # two 0.3 s skills, concurrently


@pytest.mark.parametrize('branch,expected_skill', [(True, 'say'), (False, 'scan')])
def test_when_condition_is_evaluated_on_live_state_expect_other_side_skipped(branch,
                                                                             expected_skill):
    robot = Robot()
    prog = 'if gripper_empty {\n  s1 = say(text="a");\n} else {\n  s2 = scan(region=all);\n}\n'
    result, statuses = run(prog, robot, branch=branch)
    assert result.outcome is ExecOutcome.SUCCEEDED
    assert [c[1] for c in robot.calls] == [expected_skill]
    skipped = {n for n, s in statuses if s is NodeState.SKIPPED}
    assert skipped == ({'s2'} if branch else {'s1'})


def test_when_attempt_fails_once_expect_only_that_node_retried_after_backoff():
    robot = Robot(fail={'place': 1})
    result, statuses = run(SEQ, robot)
    assert result.outcome is ExecOutcome.SUCCEEDED  # place: 2 retries in the schema
    assert [c[0] for c in robot.calls] == ['s1', 's2', 's2']
    assert ('s2', NodeState.RETRYING) in statuses


def test_when_node_fails_after_retries_expect_failed_outcome_stop_and_safe_pose():
    robot = Robot(fail={'place': 99})
    result, statuses = run(SEQ + 's3 = say(text="done");\n', robot)
    assert result.outcome is ExecOutcome.FAILED and result.error_code is ErrorCode.SKILL_FAILED
    assert result.fallback == 'home' and result.fallback_ok and robot.stops == 1
    assert robot.calls[-1][1] == 'home' and ('s3', NodeState.SKIPPED) in statuses


def test_when_a_skill_keeps_failing_expect_breaker_to_refuse_it_for_the_cooldown():
    breaker = CircuitBreaker(3, 60.0)
    robot = Robot(fail={'say': 99})
    for _ in range(3):  # say has no retries: one failed attempt per run
        run('s1 = say(text="a");\n', robot, breaker=breaker)
    result, _ = run('s1 = say(text="a");\n', robot, breaker=breaker)
    assert result.nodes['s1'].error_code is ErrorCode.CIRCUIT_OPEN
    assert not breaker.allow('say') and breaker.allow('scan')


def test_when_stop_is_set_mid_plan_expect_preemption_within_50_ms():
    stop = threading.Event()
    robot = Robot(slow={'wait': 5.0})
    threading.Timer(0.2, stop.set).start()
    start = time.monotonic()
    result, _ = run('s1 = wait(duration=5 s);\n', robot, stop=stop)
    assert result.outcome is ExecOutcome.STOPPED and result.error_code is ErrorCode.SAFETY_STOP
    assert time.monotonic() - start < 0.2 + 0.05 + 0.1  # + the fallback dispatch (10 ms)


def test_when_stops_preempt_a_skill_repeatedly_expect_its_breaker_to_stay_closed():
    breaker = CircuitBreaker(3, 60.0)
    for _ in range(4):  # four STOP-preempted move_to attempts: none is the skill's failure
        stop = threading.Event()
        threading.Timer(0.05, stop.set).start()
        result, _ = run('s1 = move_to(target=bin_a);\n', Robot(slow={'move_to': 2.0}),
                        stop=stop, breaker=breaker)
        assert result.outcome is ExecOutcome.STOPPED
    assert breaker.allow('move_to')


@pytest.mark.parametrize('refuse,expect_dispatched', [(False, True), (True, False)])
def test_when_the_dispatch_time_check_refuses_a_step_expect_nothing_dispatched(
        refuse, expect_dispatched):
    graph = build_graph(parse_program('s1 = move_to(target=bin_a);\n'), max_nodes=10)
    _, effective = check_arguments(graph, SCHEMA, WORLD)
    robot = Robot()

    def precheck(node_id, skill, args):
        if refuse:
            return SkillResult(False, ErrorCode.SAFETY_STOP, f'{node_id} refused at dispatch')
        return None

    result = Engine(graph, SCHEMA, effective, robot, lambda node: True, policy=FAST,
                    precheck=precheck).run()
    assert (('s1', 'move_to') in [(n, s) for n, s, _ in robot.calls]) is expect_dispatched
    if refuse:  # the safe pose is judged too: refused, so the arm holds still
        assert result.outcome is ExecOutcome.FAILED and 'refused at dispatch' in result.message
        assert not robot.calls and result.fallback_ok is False


def test_when_a_plan_ends_expect_each_node_elapsed_measured_to_its_own_end():
    robot = Robot(slow={'scan': 0.2, 'wait': 0.4})
    result, _ = run('s1 = scan(region=table);\ns2 = wait(duration=1 s);\n', robot)
    time.sleep(0.3)  # a summary published later must not stretch s1
    s1, s2 = result.nodes['s1'], result.nodes['s2']
    assert 0.15 < s1.elapsed_s < 0.35 and 0.35 < s2.elapsed_s < 0.6, (s1, s2)

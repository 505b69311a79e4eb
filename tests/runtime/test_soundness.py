"""Soundness of the plan checker against the sim robot and the monitor (no ROS).

Random plans in random worlds: every approved plan runs in the sim with the monitor's
logic stepping along, and must never make it latch. The long run is ``bench/soundness.py``.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from bb_agent.core.schema import load_schema
from bb_agent.safety.soundness import trial


@pytest.fixture(scope='module')
def schema():
    return load_schema('robot')


@given(st.integers(0, 2 ** 32 - 1))
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_when_checker_approves_a_random_plan_expect_the_monitor_never_latches(schema, seed):
    result = trial(seed, schema, run_rejected=False)
    if result.approved:
        assert not result.latched, (seed, result.program, result.reasons)
        assert result.outcome == 'SUCCEEDED', (seed, result.program, result.outcome)


@pytest.mark.parametrize('program,world_human,latches', [
    # the classes of issue 14, run rather than only checked: rejected plans that the
    # monitor indeed stops (the checker's reason is the monitor's)
    ('s1 = move_to(target={x=0.5, y=-0.05, z=0.3}, speed=0.1 m/s);', (0.55, -0.05, 0.3), True),
    ('s1 = move_to(target={x=0.55, y=0.45, z=0.3}, speed=0.1 m/s);\n'
     's2 = move_to(target={x=0.55, y=-0.45, z=0.3}, speed=0.1 m/s);', (0.75, 0.0, 0.3), True),
])
def test_when_a_rejected_plan_runs_anyway_expect_the_monitor_to_stop_it(schema, program,
                                                                         world_human, latches):
    from bb_agent.core.check.check_args import check_arguments
    from bb_agent.core.check.checker import check_plan
    from bb_agent.core.resources import config_path
    from bb_agent.core.world import WorldObject, load_world
    from bb_agent.safety.soundness import run_in_sim
    base = load_world(config_path('worlds', 'tabletop.json'))
    world = base.model_copy(update={'objects': base.objects + (WorldObject(
        id='human_1', kind='human', position=world_human),)})
    verdict = check_plan(program, schema, world)
    assert not verdict.approved
    _, effective = check_arguments(verdict.graph, schema, world)
    run = run_in_sim(verdict.graph, effective, world, schema)
    latched, reasons = run.latched, run.reasons
    assert latched is latches, reasons


@pytest.mark.parametrize('ee,program,approved,latches', [
    # behind the base the yaw joint is past its limit (V_s 3.2): only motions lowering V_s
    ((-0.15, 0.02, 0.3), 's1 = home(speed=0.1 m/s);', True, False),
    ((-0.15, 0.02, 0.3), 's1 = move_to(target={x=-0.18, y=0.0, z=0.3}, speed=0.1 m/s);',
     False, None),
    # at the edge of reach (elbow near its limit, V_s 1.56)
    ((0.88, 0.1, 0.4), 's1 = home(speed=0.1 m/s);', True, False),
])
def test_when_stop_latched_at_a_dead_end_pose_expect_a_recovery_that_only_lowers_vs(
        schema, ee, program, approved, latches):
    from bb_agent.core.check.check_args import check_arguments
    from bb_agent.core.check.checker import check_plan
    from bb_agent.core.resources import config_path
    from bb_agent.core.world import RobotSummary, load_world
    from bb_agent.safety.soundness import run_in_sim
    world = load_world(config_path('worlds', 'tabletop.json')).model_copy(
        update={'robot': RobotSummary(ee_position=ee)})
    verdict = check_plan(program, schema, world)
    assert verdict.approved is approved, verdict.violations
    if approved:
        _, effective = check_arguments(verdict.graph, schema, world)
        run = run_in_sim(verdict.graph, effective, world, schema)
        assert run.latched is latches and run.outcome == 'SUCCEEDED', (run.reasons,
                                                                        run.outcome)

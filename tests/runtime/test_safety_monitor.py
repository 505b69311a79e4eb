"""The V_s monitor: terms, levels, the STOP latch, fail-closed inputs and reset rules."""

import math

import pytest

from bb_agent.core.schema import load_schema
from bb_agent.safety.monitor import Level, LiveState, MonitorConfig, SafetyMonitor

SCHEMA = load_schema('robot')
CFG = MonitorConfig(threshold=1.0, warn_fraction=0.7, rise_tol=0.5, stale_s=0.2)
LIMITS = ((-2.6, 2.6), (-0.2, 2.2), (0.05, 2.8))


def state(t=0.0, *, speed=0.0, force=0.0, ee=(0.3, 0.0, 0.4), joints=(0.0, 1.0, 1.0),
          hazards=(), step=''):
    return LiveState(t, ee, speed, force, joints, LIMITS, hazards, step)


@pytest.mark.parametrize('live,level,why', [
    (state(), Level.OK, ''),
    (state(speed=0.6), Level.WARN, 'warn'),  # 0.5 * 1.2^2 = 0.72 > 0.7
    (state(force=80.0), Level.STOP, 'threshold'),  # 0.3 * 2^2 = 1.2
    (state(ee=(0.5, 0.0, 0.4), hazards=((0.7, 0.0, 0.4),)), Level.STOP, 'human'),
    (state(joints=(0.0, 2.195, 1.0)), Level.WARN, 'warn'),  # 0.8 * (0.145 / 0.15)^2 = 0.75
    (state(speed=float('nan')), Level.STOP, 'not finite'),
    (None, Level.STOP, 'waiting for the first'),
])
def test_when_state_is_evaluated_expect_level_and_reason(live, level, why):
    monitor = SafetyMonitor(SCHEMA, CFG)
    status = monitor.tick(live, 0.05)
    assert status.level is level, (status.v_s, status.reasons, status.terms)
    assert why in ' '.join(status.reasons)


def test_when_state_goes_stale_expect_stop_latched_until_a_fresh_reset():
    monitor = SafetyMonitor(SCHEMA, CFG)
    assert monitor.tick(state(0.0), 0.1).level is Level.OK
    stale = monitor.tick(state(0.0), 0.5)
    assert stale.latched and 'stale' in stale.reasons[0] and math.isinf(stale.v_s)
    assert monitor.reset() == (False, monitor.reset()[1]) and not monitor.reset()[0]
    assert monitor.tick(state(0.6), 0.62).latched  # fresh again, but STOP stays latched
    assert monitor.reset()[0] and monitor.tick(state(0.7), 0.72).level is Level.OK


def test_when_vs_rises_within_one_step_beyond_tolerance_expect_stop():
    monitor = SafetyMonitor(SCHEMA, CFG)
    monitor.tick(state(0.0, step='s1'), 0.0)
    status = monitor.tick(state(0.02, speed=0.58, step='s1'), 0.02)  # 0.67 rise, below 1.0
    assert status.latched and 'rose' in ' '.join(status.reasons)


def test_when_vs_is_over_threshold_expect_reset_refused():
    monitor = SafetyMonitor(SCHEMA, CFG)
    monitor.tick(state(0.0, force=80.0), 0.0)
    ok, why = monitor.reset()
    assert not ok and 'not below' in why

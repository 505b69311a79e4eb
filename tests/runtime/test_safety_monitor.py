"""The V_s monitor: terms, levels, the STOP latch, fail-closed inputs and reset rules."""

import math

import pytest

from bb_agent.core.schema import load_schema
from bb_agent.safety.monitor import Level, LiveState, MonitorConfig, SafetyMonitor

SCHEMA = load_schema('robot')
CFG = MonitorConfig(warn_fraction=0.7, stale_s=0.2, reset_hold_s=0.0)
HOLD = MonitorConfig(warn_fraction=0.7, stale_s=0.2, reset_hold_s=1.0)


def state(t=0.0, *, speed=0.0, force=0.0, ee=(0.3, 0.0, 0.4), joints=(0.0, 1.0, 1.0),
          hazards=(), obstacles=(), step=''):
    return LiveState(t, ee, speed, force, joints, hazards, obstacles, step)


@pytest.mark.parametrize('live,level,why', [
    (state(), Level.OK, ''),
    (state(speed=0.6), Level.WARN, 'warn'),  # 0.5 * 1.2^2 = 0.72 > 0.7
    (state(force=80.0), Level.STOP, 'threshold'),  # 0.3 * 2^2 = 1.2
    (state(ee=(0.5, 0.0, 0.4), hazards=((0.7, 0.0, 0.4),)), Level.STOP, 'human'),
    # a person anywhere lowers the speed limit: 0.5 * (0.25 / 0.15)^2 = 1.39
    (state(speed=0.25, hazards=((3.0, 3.0, 0.0),)), Level.STOP, 'speed'),
    (state(ee=(0.5, 0.0, 0.4), obstacles=((0.55, 0.0, 0.4),)), Level.STOP, 'human'),
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
    assert not monitor.tick(state(0.0), 0.5).latched  # confirming: one tick proves nothing
    stale = monitor.tick(state(0.0), 0.56)
    assert stale.latched and 'stale' in stale.reasons[0] and math.isinf(stale.v_s)
    assert monitor.reset() == (False, monitor.reset()[1]) and not monitor.reset()[0]
    assert monitor.tick(state(0.6), 0.62).latched  # fresh again, but STOP stays latched
    assert monitor.reset()[0] and monitor.tick(state(0.7), 0.72).level is Level.OK


def test_when_hazard_terms_rise_within_one_step_beyond_tolerance_expect_stop():
    monitor = SafetyMonitor(SCHEMA, CFG)
    person = ((0.3, 1.0, 0.4),)
    monitor.tick(state(0.0, hazards=person, step='s1'), 0.0)  # human term 0.12
    # the person term 0.60 and a 20 N grip 0.08: a rise of 0.56, V_s 0.68 (below 1.0)
    status = monitor.tick(state(0.02, ee=(0.3, 0.55, 0.4), force=20.0, hazards=person,
                                step='s1'), 0.02)
    assert status.latched and 'rose' in ' '.join(status.reasons), status


def test_when_only_the_commanded_speed_rises_within_a_step_expect_no_stop():
    # At the speed limit the speed term is 0.5, the rise tolerance: a checked plan at the
    # limit must not trip the rise rule (the speed limit bounds that term already).
    monitor = SafetyMonitor(SCHEMA, CFG)
    monitor.tick(state(0.0, step='s1'), 0.0)
    status = monitor.tick(state(0.02, speed=0.5, step='s1'), 0.02)
    assert not status.latched, status.reasons


@pytest.mark.parametrize('samples,expect_ok', [
    ([(t / 10, False) for t in range(12)], True),  # 1.1 s of fresh, safe states
    ([(t / 10, False) for t in range(5)], False),  # only 0.4 s
    # one harmless-looking state among unsafe ones (a forged WorldState) proves nothing
    ([(t / 10, t != 11) for t in range(12)], False),
    ([(t / 10, t == 10) for t in range(12)], False),
])
def test_when_reset_is_asked_expect_it_needs_a_sustained_safe_state(samples, expect_ok):
    monitor = SafetyMonitor(SCHEMA, HOLD)
    gripper = ((0.3, 0.0, 0.42),)  # a person's hand at the gripper: V_s far over 1
    monitor.tick(state(0.0, hazards=gripper), 0.0)
    assert monitor.latched
    for t, unsafe in samples:
        monitor.tick(state(1.0 + t, hazards=gripper if unsafe else ()), 1.0 + t)
    ok, why = monitor.reset()
    assert ok is expect_ok, why
    assert why


def test_when_vs_is_over_threshold_from_the_robots_own_state_expect_a_recovery_reset():
    monitor = SafetyMonitor(SCHEMA, CFG)
    monitor.tick(state(0.0, force=80.0), 0.0)  # V_s 1.2 from the grip alone
    ok, why = monitor.reset()
    assert ok and 'recovery' in why
    # easing the grip lowers V_s (still above 1: recovering); squeezing harder latches again
    assert monitor.tick(state(0.02, force=75.0, step='s1'), 0.02).level is Level.WARN
    assert monitor.tick(state(0.04, force=78.0, step='s1'), 0.04).latched


@pytest.mark.parametrize('path,latches', [
    ([(-0.15, 0.02, 0.3), (-0.1, 0.02, 0.31), (0.3, 0.0, 0.4)], False),  # lowers V_s: home
    ([(-0.15, 0.02, 0.3), (-0.18, 0.0, 0.3)], True),  # deeper past the yaw limit
])
def test_when_stop_is_reset_for_recovery_expect_only_motions_that_lower_vs(path, latches):
    monitor = SafetyMonitor(SCHEMA, CFG)
    monitor.tick(state(0.0, ee=path[0], joints=()), 0.0)
    assert monitor.latched
    ok, why = monitor.reset()
    assert ok and 'recovery' in why
    for i, ee in enumerate(path[1:], 1):
        status = monitor.tick(state(i * 0.02, ee=ee, joints=(), step='s1'), i * 0.02)
    assert status.latched is latches, status.reasons
    if not latches:
        assert monitor.tick(state(1.0, ee=path[-1], joints=()), 1.0).level is Level.OK


def test_when_a_person_is_near_expect_no_recovery_reset():
    monitor = SafetyMonitor(SCHEMA, CFG)
    monitor.tick(state(0.0, hazards=((0.3, 0.0, 0.5),)), 0.0)
    ok, why = monitor.reset()
    assert not ok and 'person' in why


@pytest.mark.parametrize('ticks,latches', [
    # a starved monitor wakes: two back-to-back ticks see an old state, then the queued
    # fresh states are read; no STOP
    ([(0.0, 0.0), (0.35, 0.0), (0.352, 0.0), (0.36, 0.34), (0.37, 0.36)], False),
    # a silent source: stale from 0.2 s, confirmed 50 ms later; STOP by 0.25 s
    ([(t / 100, 0.0) for t in range(0, 27)], True),
])
def test_when_staleness_is_judged_expect_a_confirmed_run_not_one_tick(ticks, latches):
    monitor = SafetyMonitor(SCHEMA, CFG)
    for now, stamp in ticks:
        status = monitor.tick(state(stamp), now)
    assert status.latched is latches, status.reasons


def test_when_stop_is_requested_expect_latch_now_and_reset_only_after_the_hold():
    monitor = SafetyMonitor(SCHEMA, HOLD)
    for k in range(5):
        monitor.tick(state(0.1 * k), 0.1 * k)
    status = monitor.request_stop('STOP requested (safety/stop)')
    assert status.latched and status.level is Level.STOP
    assert 'STOP requested' in ' '.join(status.reasons)
    assert monitor.tick(state(0.5), 0.5).latched  # a safe state does not clear it
    assert not monitor.reset()[0]  # the hold counts from the request, not from before it
    for k in range(6, 18):
        monitor.tick(state(0.1 * k), 0.1 * k)
    assert monitor.reset()[0] and monitor.tick(state(1.8), 1.8).level is Level.OK

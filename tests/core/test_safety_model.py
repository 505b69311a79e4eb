"""The one robot safety model and the executor's admission, class by class (issue 14).

Each row is one defect class found by the red team, with the behaviour the checker, the
executor's gate or the monitor must now show.
"""

import math

import pytest

from bb_agent.core.check.admission import (
    Admission,
    Refusal,
    operator_token,
    precheck_step,
    stamped_token,
)
from bb_agent.core.check.check_args import check_arguments
from bb_agent.core.check.checker import check_plan
from bb_agent.core.dsl.parser import parse_program
from bb_agent.core.execution import plain
from bb_agent.core.outcomes import ErrorCode
from bb_agent.core.resources import config_path
from bb_agent.core.safety_model import vs
from bb_agent.core.safety_model.paths import ArmState, predict_step, segment_terms
from bb_agent.core.schema import load_schema
from bb_agent.core.world import World, WorldObject, load_world
from bb_agent.safety.monitor import LiveState, MonitorConfig, SafetyMonitor

SCHEMA = load_schema('robot')
SAFETY = SCHEMA.safety
TABLE = load_world(config_path('worlds', 'tabletop.json'))
KEY = b'k' * 32


def with_objects(*objs) -> World:
    return TABLE.model_copy(update={'objects': TABLE.objects + tuple(objs)})


def person(x, y, z=0.3, oid='human_1'):
    return WorldObject(id=oid, kind='human', position=(x, y, z), size=(0.5, 0.5, 1.7))


def codes(program, world=TABLE):
    return {v.code.name for v in check_plan(program, SCHEMA, world).violations if v.blocking}


@pytest.mark.parametrize('program,world,expected', [
    # 2: the speed term divides by the near-human limit while a person is present
    ('s1 = move_to(target={x=0.5, y=-0.05, z=0.3}, speed=0.15 m/s);',
     with_objects(person(0.5, -0.45)), {'E_VS_PREDICTED'}),
    ('s1 = home(speed=0.2 m/s);', with_objects(person(0.5, -0.45)),
     {'E_SPEED_LIMIT', 'E_VS_PREDICTED'}),
    # "Go home." near a person: the speed nobody wrote takes the near-human limit
    ('s1 = home();', with_objects(person(0.5, -0.45)), set()),
    # 3: at the speed limit with nobody near, approved (the rise rule ignores speed)
    ('s1 = move_to(target=green_ball, speed=0.5 m/s);', TABLE, set()),
    # 4: a person just outside the box, and obstacles, are hazards
    ('s1 = move_to(target={x=0.5, y=0.55, z=0.3}, speed=0.5 m/s);',
     with_objects(person(0.5, 0.65)), {'E_SPEED_LIMIT', 'E_VS_PREDICTED', 'E_VS_RISE'}),
    ('s1 = move_to(target=obstacle_1);', with_objects(WorldObject(
        id='obstacle_1', kind='obstacle', position=(0.6, -0.1, 0.1))),
     {'E_VS_PREDICTED', 'E_VS_RISE'}),
    # 5: the swept segment, not the end points
    ('s1 = move_to(target={x=0.55, y=0.45, z=0.3}, speed=0.1 m/s);\n'
     's2 = move_to(target={x=0.55, y=-0.45, z=0.3}, speed=0.1 m/s);',
     with_objects(person(0.75, 0.0)), {'E_VS_PREDICTED', 'E_VS_RISE'}),
    # 6: a guard that asserts a person checks its branch under that fact
    ('if human_near { s1 = move_to(target=green_ball, speed=0.5 m/s); }', TABLE,
     {'E_SPEED_LIMIT', 'E_VS_PREDICTED'}),
    # 7: forbidden sequences through an if and through steps that move nothing
    ('s1 = pick(object=red_cup); s2 = release(object=red_cup);\n'
     'if gripper_empty { s3 = push(object=red_cup, direction=left, distance=5 cm); }', TABLE,
     {'E_FORBIDDEN_SEQUENCE'}),
    ('s1 = pick(object=red_cup); s2 = release(object=red_cup); s3 = say(text="ok");\n'
     's4 = push(object=red_cup, direction=left, distance=5 cm);', TABLE,
     {'E_FORBIDDEN_SEQUENCE'}),
    # 8: time arguments count towards the budget
    ('repeat 10 { repeat 10 { s1 = wait(duration=60 s); } }', TABLE, {'E_BUDGET'}),
    # 9: a run-time reference cannot be range-checked before execution
    ('s1 = scan(region=table);\n'
     's2 = push(object=red_cup, direction=left, distance=$s1.count);', TABLE,
     {'E_UNCHECKABLE'}),
    # 14: repeat 0 bodies, release beside a motion, where a pushed object ends
    ('repeat 0 { s1 = move_to(target={x=5, y=0, z=0}); }', TABLE, {'E_REPEAT_BOUND'}),
    ('s1 = pick(object=red_cup);\n'
     'parallel { s2 = release(object=red_cup); s3 = move_to(target=bin_a, speed=0.5 m/s); }',
     TABLE, {'E_RESOURCE_CONFLICT'}),
    ('s1 = push(object=bin_a, direction=left, distance=30 cm);', TABLE, {'E_WORKSPACE'}),
    # joints: behind the base the yaw joint wraps past its limit on the way
    ('s1 = move_to(target={x=-0.15, y=0.02, z=0.3}, speed=0.1 m/s);', TABLE,
     {'E_VS_PREDICTED', 'E_VS_RISE'}),
])
def test_when_a_plan_of_an_unsafe_class_is_checked_expect_its_violations(program, world,
                                                                         expected):
    assert codes(program, world) == expected


@pytest.mark.parametrize('text', [
    's1 = home();\n# note\rs2 = move_to(target={x=5, y=0, z=0});\n',  # CR ends a comment
    's1 = home();\r\n# note\r\ns2 = move_to(target={x=5, y=0, z=0});\r\n',
])
def test_when_a_comment_ends_in_a_carriage_return_expect_api_and_file_reading_to_agree(
        text, tmp_path):
    path = tmp_path / 'plan.bb'
    path.write_bytes(text.encode())
    from_file = path.read_text()  # what bb-agent check sees (text mode)
    assert parse_program(text) == parse_program(from_file)
    assert codes(text) == codes(from_file) and codes(text)


def test_when_a_comment_is_long_expect_all_of_it_to_stay_a_comment():
    assert codes('# ' + 'x' * 200 + ' s9 = move_to(target={x=5, y=0, z=0});\ns1 = home();') \
        == set()


@pytest.mark.parametrize('pose,expected', [
    ('{x=45 cm, y=-10 cm, z=30 cm}', [0.45, -0.1, 0.3]),
    ('{x=450 mm, y=-0.1, z=30 cm, yaw=90 deg}', [0.45, -0.1, 0.3]),
])
def test_when_a_pose_has_units_expect_the_executor_to_dispatch_the_checked_metres(pose,
                                                                                expected):
    verdict = check_plan(f's1 = move_to(target={pose});', SCHEMA, TABLE)
    assert verdict.approved
    _, effective = check_arguments(verdict.graph, SCHEMA, TABLE)
    dispatched = plain(effective['s1']['target'])
    assert all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(dispatched, expected,
                                                                  strict=True))


@pytest.mark.parametrize('a,b,hazard', [
    ((0.55, 0.45, 0.3), (0.55, -0.45, 0.3), (0.75, 0.0, 0.3)),
    ((0.2, -0.3, 0.2), (0.6, 0.3, 0.5), (0.4, 0.05, 0.3)),
])
def test_when_a_segment_is_bounded_expect_no_sample_of_the_monitor_above_it(a, b, hazard):
    hazards = vs.Hazards((hazard,), (), True)
    bound = segment_terms(a, b, hazards, SAFETY)
    for i in range(201):
        t = i / 200
        p = tuple(x + t * (y - x) for x, y in zip(a, b, strict=True))
        live = vs.vs_terms(position=p, speed=0.0, force=0.0, hazards=hazards, safety=SAFETY)
        for term in ('human', 'edge', 'joint'):
            assert live[term] <= bound[term] + 1e-9, (term, t)


def test_when_a_grasp_ends_expect_the_held_force_to_carry_into_later_steps():
    pick, move = SCHEMA.skills['pick'], SCHEMA.skills['move_to']
    start = ArmState.of(TABLE)
    grasp = predict_step(pick, {'object': 'red_cup', 'force': 40.0, 'speed': 0.2}, start,
                         TABLE, vs.hazards_of(TABLE), SAFETY)
    assert grasp.after.held == 'red_cup' and grasp.after.force == 40.0
    carry = predict_step(move, {'target': 'bin_a', 'speed': 0.5}, grasp.after, TABLE,
                         vs.hazards_of(TABLE), SAFETY)
    assert carry.terms['force'] == pytest.approx(vs.W_FORCE)  # (40 / 40)^2


# --- the executor's gate ---------------------------------------------------------------
PROGRAM = 's1 = move_to(target=bin_b, speed=0.3 m/s);\n'


def admit(gate, *, token=None, world_hash=None, live=TABLE, now=1000.0, program=PROGRAM,
          operator=('', '')):
    verdict = check_plan(program, SCHEMA, TABLE)
    token = token if token is not None else stamped_token(
        verdict.canonical, SCHEMA.sha256, TABLE.sha256, KEY, 1000.0)
    return gate.admit(program=program, schema=SCHEMA, token=token,
                      world_hash=world_hash or TABLE.sha256, operator_id=operator[0],
                      operator_tok=operator[1], live=live, now_s=now)


@pytest.mark.parametrize('case,kwargs,code,why', [
    ('fresh', {}, None, ''),
    ('expired', {'now': 1031.0}, ErrorCode.TOKEN_INVALID, 'old'),
    ('unstamped', {'token': 'f' * 64}, ErrorCode.TOKEN_INVALID, 'not minted'),
    ('forged hmac', {'token': '1000000.' + 'f' * 64}, ErrorCode.TOKEN_INVALID, 'verify'),
    ('other world hash', {'world_hash': '0' * 64}, ErrorCode.TOKEN_INVALID, 'verify'),
    ('person on the live world', {'live': with_objects(person(0.3, -0.55, 0.1))},
     ErrorCode.PLAN_REJECTED, 'live world'),
])
def test_when_a_plan_asks_to_run_expect_the_gate_to_admit_or_refuse_with_a_reason(
        case, kwargs, code, why):
    got = admit(Admission(KEY, token_ttl_s=30.0), **kwargs)
    if code is None:
        assert not isinstance(got, Refusal), got
    else:
        assert isinstance(got, Refusal) and got.code is code and why in got.message, got


def test_when_a_token_is_used_twice_expect_the_second_refused():
    gate = Admission(KEY)
    assert not isinstance(admit(gate), Refusal)
    again = admit(gate)
    assert isinstance(again, Refusal) and 'already used' in again.message


@pytest.mark.parametrize('operator,ok', [
    (('', ''), False),
    (('ana', 'f' * 64), False),
    (('ana', None), True),  # minted for this plan
])
def test_when_a_plan_needs_an_operator_expect_an_approval_bound_to_it(operator, ok):
    live = with_objects(person(0.55, -0.55))
    program = 's1 = pick(object=red_cup, speed=0.1 m/s);\ns2 = hand_over(object=red_cup);\n'
    verdict = check_plan(program, SCHEMA, live)
    assert verdict.approved, verdict.violations
    if operator[1] is None:
        operator = (operator[0], operator_token(verdict.canonical, operator[0], KEY))
    token = stamped_token(verdict.canonical, SCHEMA.sha256, live.sha256, KEY, 1000.0)
    got = Admission(KEY).admit(program=program, schema=SCHEMA, token=token,
                               world_hash=live.sha256, operator_id=operator[0],
                               operator_tok=operator[1], live=live, now_s=1000.0)
    assert isinstance(got, Refusal) is not ok, got
    if not ok:
        assert got.code is ErrorCode.OPERATOR_REJECTED


@pytest.mark.parametrize('live,heartbeat_age,code', [
    (TABLE, 0.01, None),
    (TABLE, 0.5, ErrorCode.SAFETY_STOP),  # the monitor is silent: nothing moves
    (None, 0.01, ErrorCode.STATE_STALE),
    (with_objects(person(0.3, -0.45, 0.1)), 0.01, ErrorCode.SAFETY_STOP),  # person at bin_b
])
def test_when_a_step_is_about_to_dispatch_expect_it_judged_on_live_state(live, heartbeat_age,
                                                                         code):
    got = precheck_step('s1', 'move_to', {'target': 'bin_b', 'speed': 0.1}, SCHEMA, live,
                        heartbeat_age, 0.25)
    assert (got.code if got else None) is code, got


def test_when_reset_follows_one_forged_safe_sample_expect_it_refused():
    monitor = SafetyMonitor(SCHEMA, MonitorConfig(reset_hold_s=1.0))
    hand = ((0.3, 0.0, 0.42),)
    for i in range(50):
        monitor.tick(LiveState(i * 0.02, (0.3, 0.0, 0.4), 0.0, 0.0, humans=hand), i * 0.02)
    monitor.tick(LiveState(1.0, (0.3, 0.0, 0.4), 0.0, 0.0), 1.0)  # the forged one
    ok, why = monitor.reset()
    assert not ok and 'in a row' in why

"""Property tests of the plan checker against an independent brute-force simulator.

The simulator below is written from the DSL's documented semantics, separately from the
checker: it walks the program text's AST, enumerates every branch outcome explicitly, and
keeps its own copy of the skills' preconditions and effects and of the geometry.
"""

from dataclasses import replace
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from bb_agent.core.check.checker import check_plan
from bb_agent.core.check.violations import Code
from bb_agent.core.dsl import program as p
from bb_agent.core.schema import load_schema
from bb_agent.core.world import World, WorldObject

# --- an independent model of the world and of seven skills -----------------------------
POSITIONS = {'cup': (0.40, 0.10, 0.05), 'block': (0.30, -0.20, 0.03),
             'far_box': (0.85, 0.55, 0.05), 'bin': (0.30, 0.40, 0.05)}
OBJECTS = ('cup', 'block', 'far_box')
TARGETS = ('bin', 'far_box')
BOX = ((-0.20, 0.90), (-0.60, 0.60), (0.00, 0.80))  # robot.yaml workspace, metres
REACH = 0.85  # robot.yaml reach from the base at the origin, metres


def reachable(obj):
    return math.sqrt(sum(c * c for c in POSITIONS[obj])) <= REACH


def in_workspace(obj):
    return all(lo <= c <= hi for c, (lo, hi) in zip(POSITIONS[obj], BOX, strict=True))


def geometric_ok(obj):
    return obj in POSITIONS and reachable(obj) and in_workspace(obj)


def pre_ok(skill, args, facts):
    o, t = args.get('object'), args.get('target')
    if skill == 'pick':
        return {'gripper_ok', 'gripper_empty'} <= facts and geometric_ok(o)
    if skill == 'suction_pick':
        return {'suction_ready', 'gripper_empty'} <= facts and geometric_ok(o)
    if skill == 'place':
        return f'holding({o})' in facts and geometric_ok(t)
    if skill == 'release':
        return f'holding({o})' in facts
    return True  # scan, say, home


def effects(skill, args, facts):
    o, t = args.get('object'), args.get('target')
    if skill in ('pick', 'suction_pick'):
        return (facts - {'gripper_empty'}) | {f'holding({o})'}
    if skill == 'place':
        return (facts - {f'holding({o})'}) | {'gripper_empty', f'at({o},{t})'}
    if skill == 'release':
        return (facts - {f'holding({o})'}) | {'gripper_empty'}
    if skill == 'scan':
        return facts | {'scanned'}
    return facts


def literal(cond):
    """(fact, polarity) of a generated condition: a predicate or a negated predicate."""
    if isinstance(cond, p.Not):
        fact, pol = literal(cond.cond)
        return fact, not pol
    name = cond.name if not cond.args else f'{cond.name}({cond.args[0].name})'
    return name, True


def brute_force(body, facts, ok=True):
    """All (facts, ok) outcomes of running ``body`` over every branch outcome."""
    states = [(facts, ok)]
    for stmt in body:
        nxt = []
        for f, good in states:
            if isinstance(stmt, p.Step):
                args = {n: (v.name if isinstance(v, p.Symbol) else v) for n, v in stmt.call.args}
                holds = pre_ok(stmt.call.skill, args, f)
                nxt.append((effects(stmt.call.skill, args, f) if holds or not stmt.optional
                            else f, good and holds))
            elif isinstance(stmt, p.If):
                fact, pol = literal(stmt.cond)
                then_f = f | {fact} if pol else f - {fact}
                else_f = f - {fact} if pol else f | {fact}
                nxt += brute_force(stmt.then, then_f, good)
                nxt += brute_force(stmt.orelse, else_f, good) if stmt.orelse else [(else_f, good)]
            else:  # Repeat
                outs = [(f, good)]
                for _ in range(stmt.count):
                    outs = [r for ff, gg in outs for r in brute_force(stmt.body, ff, gg)]
                nxt += outs
        states = nxt
    return states


# --- generators ---------------------------------------------------------------------------
FACTS = ['gripper_empty', 'gripper_ok', 'suction_ready', 'scanned', 'holding(cup)',
         'holding(block)']
CALLS = st.one_of(
    st.builds(lambda s, o: p.Call(s, (('object', p.Symbol(o)),)),
              st.sampled_from(['pick', 'suction_pick', 'release']), st.sampled_from(OBJECTS)),
    st.builds(lambda o, t: p.Call('place', (('object', p.Symbol(o)), ('target', p.Symbol(t)))),
              st.sampled_from(OBJECTS), st.sampled_from(TARGETS)),
    st.just(p.Call('scan', (('region', p.Symbol('all')),))),
    st.just(p.Call('say', (('text', 'ok'),))),
    st.just(p.Call('home')))
CONDS = st.builds(
    lambda name, obj, neg: (p.Not if neg else (lambda c: c))(
        p.Predicate(name, (p.Symbol(obj),) if name == 'holding' else ())),
    st.sampled_from(['holding', 'gripper_empty', 'scanned']), st.sampled_from(OBJECTS[:2]),
    st.booleans())


def _statements(inner):
    block = st.lists(inner, min_size=1, max_size=3).map(tuple)
    return st.one_of(st.builds(p.If, CONDS, block, st.one_of(st.just(()), block)),
                     st.builds(p.Repeat, st.integers(1, 2), block))


STATEMENTS = st.recursive(st.builds(lambda c, o: p.Step('s0', c, optional=o), CALLS,
                                    st.booleans()), _statements, max_leaves=6)


def number_steps(body, counter):
    out = []
    for stmt in body:
        if isinstance(stmt, p.Step):
            counter[0] += 1
            out.append(replace(stmt, id=f's{counter[0]}'))
        elif isinstance(stmt, p.If):
            out.append(replace(stmt, then=number_steps(stmt.then, counter),
                               orelse=number_steps(stmt.orelse, counter)))
        else:
            out.append(replace(stmt, body=number_steps(stmt.body, counter)))
    return tuple(out)


PLANS = st.lists(STATEMENTS, min_size=1, max_size=4).map(
    lambda b: p.Program(number_steps(tuple(b), [0])))
WORLDS = st.sets(st.sampled_from(FACTS)).map(lambda facts: World(
    objects=tuple(WorldObject(id=i, kind='bin' if i == 'bin' else 'box', position=pos)
                  for i, pos in POSITIONS.items()), facts=frozenset(facts)))


@pytest.fixture(scope='module')
def schema():
    return load_schema('robot')


@given(PLANS, WORLDS)
@settings(max_examples=400, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_when_well_typed_plan_checked_expect_approved_iff_brute_force_preconditions_hold(
        schema, prog, world):
    # Nested repeats can outgrow the default budget; duration is not under test here.
    verdict = check_plan(prog, schema, world, budget_s=1e6)
    # The generator stays clear of every other stage: only preconditions may fail (a path
    # to an unreachable object also strains the joints, which the safety model reports).
    assert {v.code for v in verdict.violations} <= {Code.E_PRECONDITION, Code.E_VS_PREDICTED,
                                                    Code.E_VS_RISE}, verdict.violations
    expected = all(ok for _, ok in brute_force(prog.body, set(world.facts)))
    assert verdict.approved == expected


def _first_step(prog):
    return next(i for i, s in enumerate(prog.body) if isinstance(s, p.Step))


@given(PLANS, WORLDS, st.sampled_from(['cycle', 'unknown_skill', 'speed', 'force', 'timeout']))
@settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_when_plan_has_cycle_unknown_skill_or_out_of_range_arg_expect_never_approved(
        schema, prog, world, defect):
    steps = list(p.iter_steps(prog.body))
    head = p.Step('s900', p.Call('pick', (('object', p.Symbol('cup')),)))
    if defect == 'cycle':  # the first statement waits for the last step: a cycle
        head = replace(head, after=(steps[-1].id,))
    elif defect == 'unknown_skill':
        head = replace(head, call=p.Call('fly', ()))
    elif defect == 'speed':
        head = replace(head, call=p.Call('pick', (('object', p.Symbol('cup')),
                                                   ('speed', p.Quantity(1.5, 'm/s')))))
    elif defect == 'force':
        head = replace(head, call=p.Call('pick', (('object', p.Symbol('cup')),
                                                   ('force', p.Quantity(-3, 'N')))))
    else:
        head = replace(head, timeout=p.Quantity(0, 's'))
    verdict = check_plan(p.Program((head, *prog.body)), schema, world)
    assert not verdict.approved
    assert verdict.token == ''

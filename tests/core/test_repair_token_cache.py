"""Plan repair, approval tokens and the verdict cache."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from bb_agent.core.check.checker import approval_token, check_plan, verify_token
from bb_agent.core.check.repair import repair_plan
from bb_agent.core.check.verdict_cache import VerdictCache, cache_key
from bb_agent.core.dsl import program as p
from bb_agent.core.outcomes import Severity
from bb_agent.core.resources import config_path
from bb_agent.core.schema import load_schema
from bb_agent.core.world import load_world
from tests.core.test_checker_properties import PLANS, WORLDS


@pytest.fixture(scope='module')
def schema():
    return load_schema('robot')


@pytest.fixture(scope='module')
def world():
    return load_world(config_path('worlds', 'tabletop.json'))


@pytest.mark.parametrize('source,context,kinds,approved', [
    ('s1 = pick(object=red_cup) after s4;\ns2 = place(object=red_cup, target=bin_a);', {},
     ['edge'], True),
    ('parallel { s1 = pick(object=red_cup); s2 = home(); }', {}, ['edge'], True),
    ('s1 = pick(object=red_cup);\ns2 = place(object=red_cup);', {'target': p.Symbol('bin_b')},
     ['completion'], True),
    ('s1 = scan();', {}, ['completion'], True),
    ('s1 = release(object=red_cup) @optional;\ns2 = home();', {}, ['simplification'], True),
    ('s1 = place(object=red_cup, target=bin_a);', {}, [], False),
    ('s1 = pick(object=red_cup, force=70 N);', {}, [], False),
])
def test_when_plan_repaired_expect_recorded_changes_and_recheck(schema, world, source, context,
                                                               kinds, approved):
    result = repair_plan(source, schema, world, context=context)
    assert [r.kind for r in result.repairs] == kinds
    assert all(r.reason for r in result.repairs)
    assert result.verdict.approved is approved
    # The repaired program is what the verdict is about: checking it afresh agrees.
    assert check_plan(result.verdict.canonical, schema, world).approved is approved


def test_when_gripper_faulty_expect_declared_substitute(schema, world):
    faulty = world.model_copy(update={'facts': frozenset({'gripper_empty', 'suction_ready'})})
    result = repair_plan('s1 = pick(object=red_cup);', schema, faulty)
    assert [r.kind for r in result.repairs] == ['substitution']
    assert result.verdict.approved and 'suction_pick(object=red_cup)' in result.verdict.canonical


@given(PLANS, WORLDS, st.sampled_from([('speed', p.Quantity(0.9, 'm/s')),
                                       ('force', p.Quantity(55, 'N'))]))
@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_when_plan_violates_safety_rule_expect_repair_never_approves(schema, prog, world, unsafe):
    head = p.Step('s900', p.Call('pick', (('object', p.Symbol('cup')), unsafe)))
    result = repair_plan(p.Program((head, *prog.body)), schema, world)
    assert not result.verdict.approved
    assert any(v.severity is Severity.CRITICAL for v in result.verdict.violations)
    assert result.repairs == ()


@pytest.mark.parametrize('change', ['plan', 'world', 'schema', 'forged', 'empty', 'key'])
def test_when_anything_bound_by_the_token_changes_expect_verification_fails(schema, world,
                                                                           change):
    text = 's1 = pick(object=red_cup);\ns2 = place(object=red_cup, target=bin_a);\n'
    key = b'checker-secret'
    verdict = check_plan(text, schema, world, token_key=key)
    assert verdict.approved and verify_token(verdict.token, text, schema, world, key)
    token, other_text, other_world, other_schema, other_key = verdict.token, text, world, \
        schema, key
    if change == 'plan':
        other_text = text.replace('bin_a', 'bin_b')
    elif change == 'world':
        other_world = world.model_copy(update={'facts': frozenset({'gripper_empty'})})
    elif change == 'schema':
        other_schema = schema.model_copy(update={'budget_s': 99.0})
    elif change == 'forged':
        token = approval_token(verdict.canonical, schema.sha256, world.sha256, None)
    elif change == 'empty':
        token = ''
    else:
        other_key = b'another-secret'
    assert not verify_token(token, other_text, other_schema, other_world, other_key)


def test_when_program_holds_unwritable_number_expect_rejected_not_crash(schema, world):
    prog = p.Program((p.Step('s1', p.Call('wait', (('duration', p.Quantity(1e12, 's')),))),))
    verdict = check_plan(prog, schema, world)
    assert not verdict.approved and verdict.violations[0].code.name == 'E_PARSE'


def test_when_program_reformatted_expect_token_still_verifies(schema, world):
    verdict = check_plan('s1 = pick(object=red_cup);', schema, world)
    assert verify_token(verdict.token, '# same plan\ns1=pick( object = red_cup ) ;', schema, world)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_when_cache_full_expect_least_recently_used_evicted(schema, world):
    cache = VerdictCache(maxsize=2, ttl_s=10, clock=FakeClock())
    verdicts = {k: check_plan(f's1 = wait(duration={k} s);', schema, world) for k in (1, 2, 3)}
    keys = {k: cache_key(v.canonical, v.schema_hash, v.world_hash) for k, v in verdicts.items()}
    cache.put(keys[1], verdicts[1])
    cache.put(keys[2], verdicts[2])
    assert cache.get(keys[1]) is verdicts[1]  # 1 is now the most recent
    cache.put(keys[3], verdicts[3])
    assert cache.get(keys[2]) is None and cache.get(keys[1]) is verdicts[1]
    assert (cache.hits, cache.misses, len(cache)) == (2, 1, 2)


def test_when_entry_older_than_ttl_expect_miss(schema, world):
    clock = FakeClock()
    cache = VerdictCache(maxsize=4, ttl_s=5, clock=clock)
    verdict = check_plan('s1 = home();', schema, world)
    key = cache_key(verdict.canonical, verdict.schema_hash, verdict.world_hash)
    cache.put(key, verdict)
    clock.now = 4.9
    assert cache.get(key) is verdict
    clock.now = 5.1
    assert cache.get(key) is None and len(cache) == 0


@pytest.mark.parametrize('maxsize,ttl', [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_when_cache_configured_badly_expect_value_error(maxsize, ttl):
    with pytest.raises(ValueError):
        VerdictCache(maxsize=maxsize, ttl_s=ttl)

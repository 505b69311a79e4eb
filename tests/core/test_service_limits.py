"""Typed answers of the check service and the world schema's limits (issue 15, 5 and 12)."""

import time

import pytest

from bb_agent.core.check.check_service import CheckService, rejection_code
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.resources import config_path
from bb_agent.core.world import MAX_OBJECTS, load_world, world_from_dict

TABLE = load_world(config_path('worlds', 'tabletop.json'))


@pytest.mark.parametrize('program,code', [
    ('s1 = home();', ErrorCode.NONE),
    ('s1 = home(', ErrorCode.PARSE_ERROR),  # a parse error is 200, not a rejection
    ('s1 = fly();', ErrorCode.PLAN_REJECTED),
])
def test_when_a_plan_is_checked_expect_the_typed_error_code(program, code):
    outcome = CheckService(b'k' * 32).check(program, 'robot', TABLE)
    assert rejection_code(outcome.verdict) is code


@pytest.mark.parametrize('n,ok', [(MAX_OBJECTS, True), (MAX_OBJECTS + 1, False)])
def test_when_a_large_world_is_sent_expect_linear_validation_and_a_size_limit(n, ok):
    objects = [{'id': f'o{i}', 'kind': 'box', 'position': [0.1, 0.0, 0.0]} for i in range(n)]
    start = time.perf_counter()
    if ok:
        assert len(world_from_dict({'objects': objects}).objects) == n
    else:
        with pytest.raises(BBError) as err:
            world_from_dict({'objects': objects})
        assert err.value.code is ErrorCode.INVALID_REQUEST and 'at most' in str(err.value)
    assert time.perf_counter() - start < 2.0  # was 15 s for 20,000 (quadratic)


def test_when_world_ids_repeat_expect_every_duplicate_named():
    objects = [{'id': i, 'kind': 'box', 'position': [0, 0, 0]} for i in ('a', 'b', 'a', 'b')]
    with pytest.raises(BBError, match=r"duplicate object ids \['a', 'b'\]"):
        world_from_dict({'objects': objects})

"""The api_json checker: only calls the schema declares, exactly as declared, are approved."""

import json

import pytest

from bb_agent.core.check.check_service import CheckService

KEY = b'k' * 32


@pytest.fixture(scope='module')
def service():
    return CheckService(KEY)


@pytest.mark.parametrize('program,code', [
    ('{"endpoint": "get_order_status", "args": {"order_id": 42}}', None),
    ('{"endpoint": "create_ticket", "args": {"title": "jam", "customer_id": 7}}', None),
    ('{"endpoint": "drop_database", "args": {}}', 'E_UNKNOWN_SKILL'),            # not declared
    ('{"endpoint": "get_order_status", "args": {"order_id": 42, "admin": true}}',
     'E_UNKNOWN_ARG'),
    ('{"endpoint": "get_order_status", "args": {}}', 'E_MISSING_ARG'),
    ('{"endpoint": "get_order_status", "args": {"order_id": "42"}}', 'E_ARG_TYPE'),
    ('{"endpoint": "get_order_status", "args": {"order_id": true}}', 'E_ARG_TYPE'),  # bool≠int
    ('{"endpoint": "get_order_status", "args": {"order_id": 4.5}}', 'E_ARG_TYPE'),
    ('{"endpoint": "get_order_status", "args": {"order_id": 0}}', 'E_ARG_RANGE'),
    ('{"endpoint": "get_order_status", "args": {"order_id": 1e999}}', 'E_ARG_RANGE'),  # inf
    ('{"endpoint": "create_ticket", "args": {"title": "t", "customer_id": 7, '
     '"priority": "urgent"}}', 'E_ARG_RANGE'),                                   # not an enum
    ('{"endpoint": "create_ticket", "args": {"title": "' + 'x' * 5000 + '", '
     '"customer_id": 7}}', 'E_ARG_RANGE'),
    # ambiguous JSON: parsers disagree on which duplicate wins
    ('{"endpoint": "get_order_status", "endpoint": "cancel_order", "args": '
     '{"order_id": 42, "reason": "x"}}', 'E_PARSE'),
    ('{"endpoint": "get_order_status", "args": {"order_id": 42}, "then": "cancel_order"}',
     'E_PARSE'),
    ('[{"endpoint": "get_order_status", "args": {"order_id": 42}}]', 'E_PARSE'),
    ('{"endpoint": "get_order_status", "args": [42]}', 'E_ARG_TYPE'),
    ('"get_order_status"', 'E_PARSE'),
])
def test_when_an_api_call_is_checked_expect_only_declared_calls_approved(
        service, program, code):
    verdict = service.check(program, 'api_json', None).verdict
    codes = [v.code.value for v in verdict.violations]
    if code is None:
        assert verdict.approved and verdict.token and not codes
    else:
        assert not verdict.approved and not verdict.token and code in codes, codes


def test_when_approved_expect_the_canonical_call_with_defaults_filled():
    verdict = CheckService(KEY).check(
        '{"endpoint": "create_ticket", "args": {"customer_id": 7, "title": "jam"}}',
        'api_json', None).verdict
    assert json.loads(verdict.canonical) == {
        'endpoint': 'create_ticket', 'args': {'title': 'jam', 'priority': 'normal',
                                              'customer_id': 7}}

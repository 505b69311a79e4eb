"""Who may use the HTTP API: tokens, scopes, origins, content types, rate limits."""

import pytest

from bb_agent.core.api_access import (
    Denied,
    RateLimiter,
    TokenEntry,
    TokenStore,
    content_type_denied,
    hash_token,
    origin_denied,
)
from bb_agent.core.gateway import GatewayLimits, parse_request
from bb_agent.core.outcomes import BBError, ErrorCode

STORE = TokenStore((TokenEntry(name='planner', sha256=hash_token('p'), scopes=('plan',)),
                    TokenEntry(name='robot', sha256=hash_token('r'), scopes=('execute',))))


@pytest.mark.parametrize('header,scope,status', [
    (None, 'plan', 401),
    ('Basic cA==', 'plan', 401),
    ('Bearer nope', 'plan', 401),
    ('Bearer p', 'plan', None),
    ('Bearer p', 'execute', 403),  # a plan-only token may not move the robot
    ('Bearer r', 'execute', None),
    ('bearer r', 'plan', None),  # execute includes dry runs
])
def test_when_a_token_is_presented_expect_its_scopes_to_decide(header, scope, status):
    got = STORE.authorize(header, scope)
    assert (got.status if isinstance(got, Denied) else None) == status, got


def test_when_no_tokens_are_configured_expect_every_request_refused():
    got = TokenStore().authorize('Bearer anything', 'plan')
    assert isinstance(got, Denied) and got.status == 401 and 'no API tokens' in got.message


@pytest.mark.parametrize('origin,allowed,status', [
    (None, (), None), ('http://evil.example', (), 403),
    ('http://console.local', ('http://console.local',), None)])
def test_when_a_browser_origin_calls_expect_only_allowed_ones(origin, allowed, status):
    got = origin_denied(origin, allowed)
    assert (got.status if got else None) == status


@pytest.mark.parametrize('content_type,status', [
    ('application/json', None), ('application/json; charset=utf-8', None),
    ('text/plain', 415), (None, 415), ('application/x-www-form-urlencoded', 415)])
def test_when_a_body_type_is_declared_expect_json_only(content_type, status):
    got = content_type_denied(content_type)
    assert (got.status if got else None) == status


def test_when_a_token_exceeds_its_rate_expect_a_wait_then_service_again():
    limiter = RateLimiter(rate=2.0, burst=2)
    assert limiter.take('a', 0.0) == 0 and limiter.take('a', 0.0) == 0
    wait = limiter.take('a', 0.0)
    assert 0 < wait <= 0.5
    assert limiter.take('b', 0.0) == 0  # per token
    assert limiter.take('a', 0.6) == 0  # refilled


@pytest.mark.parametrize('body,code', [
    (b'[' * 8000, ErrorCode.INVALID_JSON),  # was a RecursionError
    (b'{"text": "\\ud800 go"}', ErrorCode.INVALID_ARGUMENT),  # was a UnicodeEncodeError
    (b'{"text": "go home", "actor_id": "\\udfff"}', ErrorCode.INVALID_ARGUMENT),
])
def test_when_a_hostile_body_arrives_expect_a_typed_refusal(body, code):
    with pytest.raises(BBError) as err:
        parse_request(body, GatewayLimits())
    assert err.value.code is code and err.value.message

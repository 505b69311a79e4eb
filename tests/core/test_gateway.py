"""The HTTP bridge's validation, admission and status mapping (pure)."""

import json

import pytest

from bb_agent.core.gateway import (
    Admission,
    GatewayLimits,
    GatewayRequest,
    error_body,
    http_status,
    parse_request,
)
from bb_agent.core.outcomes import BBError, ErrorCode, Outcome

LIMITS = GatewayLimits(max_body_bytes=200, max_text_chars=40, max_in_flight=2)


def body(**fields) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize('raw,code', [
    (b'', ErrorCode.EMPTY_INPUT),
    (b'   ', ErrorCode.EMPTY_INPUT),
    (b'{"text": ', ErrorCode.INVALID_JSON),
    (b'\xff\xfe', ErrorCode.INVALID_JSON),
    (b'["go home"]', ErrorCode.INVALID_JSON),
    (body(text=''), ErrorCode.EMPTY_INPUT),
    (body(text=3), ErrorCode.EMPTY_INPUT),
    (body(text='x' * 41), ErrorCode.INVALID_ARGUMENT),
    (b'{"text": "' + b'x' * 300 + b'"}', ErrorCode.INVALID_REQUEST),
    (body(text='go home', domain='mars'), ErrorCode.UNKNOWN_DOMAIN),
    (body(text='go home', actor_id='a b'), ErrorCode.INVALID_ARGUMENT),
    (body(text='go home', request_key='k' * 65), ErrorCode.INVALID_ARGUMENT),
    (body(text='go home', dry_run='yes'), ErrorCode.INVALID_ARGUMENT),
    (body(text='go home', sudo=True), ErrorCode.INVALID_ARGUMENT),
])
def test_when_body_is_bad_expect_typed_error_naming_the_problem(raw, code):
    with pytest.raises(BBError) as info:
        parse_request(raw, LIMITS)
    assert info.value.code is code and info.value.message


@pytest.mark.parametrize('raw,expect', [
    (body(text=' go home '), GatewayRequest('go home', 'robot', 'http')),
    (body(text='call Ana', domain='phone', actor_id='op@site', session_id='s:1',
          request_key='k-1', dry_run=True),
     GatewayRequest('call Ana', 'phone', 'op@site', 's:1', 'k-1', True)),
])
def test_when_body_is_good_expect_request_with_defaults(raw, expect):
    assert parse_request(raw, LIMITS) == expect


def test_when_slots_are_taken_expect_refusal_until_one_is_given_back():
    gate = Admission(2)
    assert gate.enter() and gate.enter() and not gate.enter()
    gate.leave()
    assert gate.enter()


@pytest.mark.parametrize('outcome,status', [
    (Outcome.SUCCEEDED, 200), (Outcome.REJECTED, 200), (Outcome.DEFERRED, 200),
    (Outcome.STOPPED, 200), (Outcome.INVALID_INPUT, 400), (Outcome.UNAVAILABLE, 503),
    (Outcome.TIMEOUT, 504),
])
def test_when_agent_answers_expect_http_status(outcome, status):
    assert http_status(outcome) == status


def test_when_request_is_too_large_expect_413_with_typed_body():
    status, payload = error_body(BBError(ErrorCode.INVALID_REQUEST, 'too big'))
    assert status == 413 and payload['error_code'] == 100 and payload['error_msg'] == 'too big'

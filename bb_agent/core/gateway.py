"""The HTTP bridge's pure half: request parsing, admission limits and status mapping.

An HTTP client posts ``{"text": ..., "domain": ..., "actor_id": ..., "session_id": ...,
"request_key": ..., "dry_run": ...}`` to ``/v1/requests``; the bridge node turns it into a
``HandleRequest`` goal. Everything that can be refused is refused here, before ROS sees it,
with a typed error (code, message) and an HTTP status. Limits follow the operator
playbook's admission rule: a fixed number of requests in flight, the rest answered 429
at once rather than queued.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import re
import threading

from bb_agent.core.outcomes import BBError, ErrorCode, Outcome
from bb_agent.core.schema import DOMAINS

ID_PATTERN = re.compile(r'^[A-Za-z0-9_.:@-]{1,64}$')  # actor, session and request-key ids


@dataclass(frozen=True)
class GatewayLimits:
    """Admission limits of the bridge (its node parameters)."""

    max_body_bytes: int = 16_384
    max_text_chars: int = 2_000
    max_in_flight: int = 4  # requests executing at once; more get 429


@dataclass(frozen=True)
class GatewayRequest:
    """A validated request, ready to become a HandleRequest goal."""

    text: str
    domain: str
    actor_id: str
    session_id: str = ''
    request_key: str = ''
    dry_run: bool = False


def parse_request(body: bytes, limits: GatewayLimits, *, default_domain: str = 'robot',
                  default_actor: str = 'http') -> GatewayRequest:
    """Validate an HTTP body into a :class:`GatewayRequest`.

    Raises:
        BBError: INVALID_REQUEST (too large), EMPTY_INPUT, INVALID_JSON, INVALID_ARGUMENT
            or UNKNOWN_DOMAIN, with a message that names the field.
    """
    if len(body) > limits.max_body_bytes:
        raise BBError(ErrorCode.INVALID_REQUEST,
                      f'body is {len(body)} bytes; the limit is {limits.max_body_bytes}')
    if not body.strip():
        raise BBError(ErrorCode.EMPTY_INPUT, 'empty body; want a JSON object with "text"')
    try:
        data = json.loads(body.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BBError(ErrorCode.INVALID_JSON, f'body is not UTF-8 JSON: {exc}') from exc
    except RecursionError:  # e.g. 8,000 nested [
        raise BBError(ErrorCode.INVALID_JSON, 'body nests too deeply') from None
    if not isinstance(data, dict):
        raise BBError(ErrorCode.INVALID_JSON, 'body must be a JSON object')
    unknown = sorted(set(data) - {'text', 'domain', 'actor_id', 'session_id', 'request_key',
                                  'dry_run'})
    if unknown:
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'unknown fields: {", ".join(unknown)}')
    text = data.get('text')
    if not isinstance(text, str) or not text.strip():
        raise BBError(ErrorCode.EMPTY_INPUT, '"text" must be a non-empty string')
    for field in ('text', 'actor_id', 'session_id', 'request_key'):
        value = data.get(field)
        if isinstance(value, str):
            try:
                value.encode('utf-8')  # a lone surrogate ("\ud800") cannot reach ROS
            except UnicodeEncodeError:
                raise BBError(ErrorCode.INVALID_ARGUMENT, f'"{field}" is not valid Unicode '
                              '(a lone surrogate)') from None
    if len(text) > limits.max_text_chars:
        raise BBError(ErrorCode.INVALID_ARGUMENT,
                      f'"text" has {len(text)} characters; the limit is {limits.max_text_chars}')
    domain = data.get('domain', default_domain)
    if domain not in DOMAINS:
        raise BBError(ErrorCode.UNKNOWN_DOMAIN, f'domain {domain!r} is not one of {DOMAINS}')
    ids = {}
    for field, default in (('actor_id', default_actor), ('session_id', ''),
                           ('request_key', '')):
        value = data.get(field, default)
        if not isinstance(value, str) or (value and not ID_PATTERN.match(value)):
            raise BBError(ErrorCode.INVALID_ARGUMENT,
                          f'"{field}" must be 1-64 of A-Z a-z 0-9 _ . : @ -')
        ids[field] = value
    dry_run = data.get('dry_run', False)
    if not isinstance(dry_run, bool):
        raise BBError(ErrorCode.INVALID_ARGUMENT, '"dry_run" must be true or false')
    return GatewayRequest(text=text.strip(), domain=domain, dry_run=dry_run, **ids)


class Admission:
    """At most ``limit`` requests in flight; the rest are refused at once (no queue)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.lock, self.in_flight = limit, threading.Lock(), 0

    def enter(self) -> bool:
        """Take a slot; False when all are taken."""
        with self.lock:
            if self.in_flight >= self.limit:
                return False
            self.in_flight += 1
            return True

    def leave(self) -> None:
        """Give a slot back."""
        with self.lock:
            self.in_flight = max(0, self.in_flight - 1)


# How an agent outcome reads over HTTP: the request was handled (200; the outcome field
# says how) unless the input was bad, the stack was unavailable, or it ran out of time.
_STATUS = {Outcome.INVALID_INPUT: 400, Outcome.UNAVAILABLE: 503, Outcome.TIMEOUT: 504}
_ERROR_STATUS = {ErrorCode.INVALID_REQUEST: 413}


def http_status(outcome: Outcome) -> int:
    """Return the HTTP status of a HandleRequest outcome."""
    return _STATUS.get(outcome, 200)


def error_body(exc: BBError) -> tuple[int, dict]:
    """Return (HTTP status, JSON body) for a refused request."""
    return _ERROR_STATUS.get(exc.code, 400), {
        'outcome': 'INVALID_INPUT', 'error_code': int(exc.code), 'error_msg': exc.message}

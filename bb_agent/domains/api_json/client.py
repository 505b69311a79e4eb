"""The api_json domain's adapter: one checked call, made over HTTP to the configured service.

The call is the checker's canonical form (``{"endpoint", "args"}``, defaults filled in);
the endpoint's ``http`` route in the schema says the method and the path. Path arguments
are URL-quoted into the path; the others go in the query string (GET, DELETE) or as the
JSON body (POST, PUT, PATCH). Redirects are never followed (a redirect could send the call,
and its bearer token, elsewhere), responses are capped, and every failure is a typed
outcome: the service down, a timeout, a refusal (4xx), a server error (5xx), a reply that
is not JSON. Only idempotent methods are retried; a POST may have taken effect.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from bb_agent.core.outcomes import ErrorCode
from bb_agent.core.schema import DomainSchema

IDEMPOTENT = frozenset({'GET', 'PUT', 'DELETE'})
BODY_METHODS = frozenset({'POST', 'PUT', 'PATCH'})


@dataclass(frozen=True)
class ApiResult:
    """What one call came to: the HTTP status, the JSON reply or a typed error."""

    ok: bool
    status: int  # HTTP status; 0 when no answer came
    body: object = None  # the decoded JSON reply
    error: ErrorCode = ErrorCode.NONE
    message: str = ''
    attempts: int = 1


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        raise urllib.error.HTTPError(req.full_url, code, f'redirect to {newurl} refused',
                                     headers, fp)


@dataclass(frozen=True)
class ApiClient:
    """Makes api_json calls against ``base_url`` (e.g. ``http://127.0.0.1:8080/v1``).

    Args:
        base_url: the service root; paths of the routes are appended to it.
        token: bearer token sent as ``Authorization`` ('' sends none).
        timeout_s: per attempt (connect and read).
        max_bytes: a longer reply is refused.
        backoff_s: waits before the 2nd, 3rd... attempt of an idempotent call.
    """

    base_url: str
    token: str = ''
    timeout_s: float = 5.0
    max_bytes: int = 1 << 20
    backoff_s: tuple[float, ...] = (0.2, 0.5, 1.0)

    def request_for(self, call: dict, schema: DomainSchema) -> urllib.request.Request:
        """Return the HTTP request of a canonical call (its route from the schema)."""
        route = schema.skills[call['endpoint']].http
        args = dict(call['args'])
        path = route.path
        for name in [n for n in args if '{' + n + '}' in path]:
            path = path.replace('{' + name + '}', urllib.parse.quote(str(args.pop(name)),
                                                                     safe=''))
        url = self.base_url.rstrip('/') + path
        data = None
        headers = {'Accept': 'application/json'}
        if route.method in BODY_METHODS:
            data = json.dumps(args).encode()
            headers['Content-Type'] = 'application/json'
        elif args:
            url += '?' + urllib.parse.urlencode(
                {k: json.dumps(v) if isinstance(v, bool) else v for k, v in args.items()})
        if self.token:
            headers['Authorization'] = f'Bearer {self.token}'
        return urllib.request.Request(url, data=data, headers=headers, method=route.method)

    def call(self, canonical: str, schema: DomainSchema) -> ApiResult:
        """Make the call ``canonical`` (the checker's form); retry idempotent ones."""
        call = json.loads(canonical)
        method = schema.skills[call['endpoint']].http.method
        tries = 1 + (schema.skills[call['endpoint']].retries if method in IDEMPOTENT else 0)
        result = None
        for attempt in range(1, tries + 1):
            result = self._once(self.request_for(call, schema), attempt)
            if result.ok or result.error not in (ErrorCode.DEPENDENCY_UNAVAILABLE,
                                                 ErrorCode.DEPENDENCY_TIMEOUT):
                return result
            if attempt < tries:
                time.sleep(self.backoff_s[min(attempt - 1, len(self.backoff_s) - 1)])
        return result

    def _once(self, request: urllib.request.Request, attempt: int) -> ApiResult:
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=self.timeout_s) as reply:
                return self._decode(reply.status, reply.read(self.max_bytes + 1), attempt)
        except urllib.error.HTTPError as exc:
            raw = exc.read(self.max_bytes + 1) if exc.fp is not None else b''
            got = self._decode(exc.code, raw, attempt)
            code = ErrorCode.DEPENDENCY_UNAVAILABLE if exc.code >= 500 else \
                ErrorCode.SKILL_FAILED  # the service refused this call
            return ApiResult(False, exc.code, got.body, code,
                             f'{request.get_method()} {request.selector}: HTTP {exc.code} '
                             f'{exc.reason}', attempt)
        except TimeoutError:
            return self._timeout(attempt)
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, 'reason', exc)
            if isinstance(reason, TimeoutError):  # a connect timeout comes wrapped
                return self._timeout(attempt)
            return ApiResult(False, 0, None, ErrorCode.DEPENDENCY_UNAVAILABLE,
                             f'the API service is not reachable: {reason}', attempt)

    def _timeout(self, attempt: int) -> ApiResult:
        return ApiResult(False, 0, None, ErrorCode.DEPENDENCY_TIMEOUT,
                         f'the API service did not answer within {self.timeout_s:g} s', attempt)

    def _decode(self, status: int, raw: bytes, attempt: int) -> ApiResult:
        if len(raw) > self.max_bytes:
            return ApiResult(False, status, None, ErrorCode.SKILL_FAILED,
                             f'reply longer than {self.max_bytes} bytes', attempt)
        try:
            body = json.loads(raw.decode('utf-8')) if raw.strip() else None
        except (UnicodeDecodeError, ValueError):
            return ApiResult(False, status, None, ErrorCode.SKILL_FAILED,
                             'the reply is not JSON', attempt)
        return ApiResult(True, status, body, attempts=attempt)

"""The api_json adapter against a real HTTP server on loopback (http.server in a thread)."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import threading
import time

import pytest

from bb_agent.core.outcomes import ErrorCode
from bb_agent.core.schema import load_schema
from bb_agent.domains.api_json.client import ApiClient

SCHEMA = load_schema('api_json')


class Service(BaseHTTPRequestHandler):
    """A ticket/order service; ``mode`` picks a fault for the next requests."""

    mode = 'ok'
    seen: list = []

    def log_message(self, *args):  # quiet
        pass

    def _reply(self, status, body=b'', ctype='application/json', headers=()):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        Service.seen.append((self.command, self.path, self.headers.get('Authorization'),
                             json.loads(body) if body else None))
        mode = Service.mode
        if mode == 'slow':
            time.sleep(1.0)
        if mode == '503':
            return self._reply(503, b'{"error": "busy"}')
        if mode == 'redirect':
            return self._reply(302, headers=[('Location', 'http://example.com/steal')])
        if mode == 'html':
            return self._reply(200, b'<html>hi</html>', 'text/html')
        if mode == 'huge':
            return self._reply(200, b'"' + b'x' * 3000 + b'"')
        if self.path.startswith('/orders/404'):
            return self._reply(404, b'{"error": "no such order"}')
        if self.command == 'GET' and self.path.startswith('/orders/'):
            return self._reply(200, json.dumps({'status': 'shipped'}).encode())
        if self.command == 'POST' and self.path == '/tickets':
            return self._reply(201, json.dumps({'ticket_id': 17}).encode())
        return self._reply(404, b'{}')

    do_GET = do_POST = _handle  # noqa: N815 (http.server's naming)


@pytest.fixture(scope='module')
def server():
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Service)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_address[1]}'
    srv.shutdown()


def call(endpoint, **args):
    return json.dumps({'endpoint': endpoint, 'args': args})


@pytest.mark.parametrize('mode,program,ok,status,error,attempts,body', [
    ('ok', call('get_order_status', order_id=42), True, 200, ErrorCode.NONE, 1,
     {'status': 'shipped'}),
    ('ok', call('create_ticket', title='jam', priority='high', customer_id=7), True, 201,
     ErrorCode.NONE, 1, {'ticket_id': 17}),
    ('ok', call('get_order_status', order_id=404), False, 404, ErrorCode.SKILL_FAILED, 1,
     {'error': 'no such order'}),                        # a refusal is not retried
    ('503', call('get_order_status', order_id=42), False, 503,
     ErrorCode.DEPENDENCY_UNAVAILABLE, 3, {'error': 'busy'}),   # GET: 1 + retries 2
    ('503', call('create_ticket', title='t', priority='low', customer_id=7), False, 503,
     ErrorCode.DEPENDENCY_UNAVAILABLE, 1, {'error': 'busy'}),   # POST may have happened
    ('redirect', call('get_order_status', order_id=42), False, 302, ErrorCode.SKILL_FAILED,
     1, None),                                           # never follows a redirect
    ('html', call('get_order_status', order_id=42), False, 200, ErrorCode.SKILL_FAILED, 1,
     None),
    ('huge', call('get_order_status', order_id=42), False, 200, ErrorCode.SKILL_FAILED, 1,
     None),
])
def test_when_the_service_answers_expect_a_typed_result(server, mode, program, ok, status,
                                                       error, attempts, body):
    Service.mode, Service.seen = mode, []
    result = ApiClient(server, token='s3cret', max_bytes=2048, backoff_s=(0.01,)).call(
        program, SCHEMA)
    assert (result.ok, result.status, result.error, result.attempts) == \
        (ok, status, error, attempts), result.message
    assert result.body == body and len(Service.seen) == attempts
    assert all(auth == 'Bearer s3cret' for _, _, auth, _ in Service.seen)
    assert ok or result.message


def test_when_a_call_is_made_expect_route_path_quoting_and_body_from_the_schema(server):
    Service.mode, Service.seen = 'ok', []
    client = ApiClient(server)
    client.call(call('get_order_status', order_id=42), SCHEMA)
    client.call(call('create_ticket', title='a/b?c', priority='normal', customer_id=9), SCHEMA)
    assert Service.seen == [('GET', '/orders/42', None, None),
                            ('POST', '/tickets', None,
                             {'title': 'a/b?c', 'priority': 'normal', 'customer_id': 9})]


@pytest.mark.parametrize('where,error', [
    ('http://127.0.0.1:1', ErrorCode.DEPENDENCY_UNAVAILABLE),  # nothing listens
    ('slow', ErrorCode.DEPENDENCY_TIMEOUT),
])
def test_when_the_service_is_down_or_slow_expect_typed_errors_after_retries(
        server, where, error):
    Service.mode, Service.seen = ('slow' if where == 'slow' else 'ok'), []
    base = server if where == 'slow' else where
    result = ApiClient(base, timeout_s=0.2, backoff_s=(0.01,)).call(
        call('get_order_status', order_id=42), SCHEMA)
    assert not result.ok and result.error == error and result.attempts == 3, result

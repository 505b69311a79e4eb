"""http_bridge_node: the HTTP/JSON entry point; each request becomes one ``handle_request``.

``POST /v1/requests`` with ``{"text": ..., "domain": ..., "actor_id": ..., "session_id":
..., "request_key": ..., "dry_run": ...}`` answers with the agent's result as JSON (the
same fields as ``bb-agent ask``). ``GET /v1/health`` says whether the agent is reachable.
Bad bodies get 400/413 with a typed error, more than ``max_in_flight`` requests at once get
429, an unreachable agent 503, no result in ``request_timeout_s`` 504. Validation and
limits: :mod:`bb_agent.core.gateway`. Binds loopback unless ``host`` says otherwise.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import sys
import threading

import rclpy
from rclpy.action import ActionClient
from rclpy.node import Node

from bb_agent.core.gateway import (
    Admission,
    GatewayLimits,
    error_body,
    http_status,
    parse_request,
)
from bb_agent.core.outcomes import BBError, Outcome
from bb_agent.nodes.ask import send_goal
from bb_agent.nodes.lifecycle import clean_exit, run_node
from bb_agent.nodes.logs import log_json
from bb_agent.nodes.params import Param, declare
from bb_msgs.action import HandleRequest

PARAMS = (
    Param('host', '127.0.0.1', 'address to listen on (loopback unless set)'),
    Param('port', 8765, 'TCP port (0 = any free port, logged at start)', 0, 65535),
    Param('default_domain', 'robot', 'domain of a request that names none'),
    Param('max_body_bytes', 16384, 'largest request body (bytes)', 64, 1048576),
    Param('max_text_chars', 2000, 'longest request text (characters)', 1, 100000),
    Param('max_in_flight', 4, 'requests handled at once; more are answered 429', 1, 256),
    Param('request_timeout_s', 360.0, 'no agent result in this long answers 504 (s)',
          1.0, 3600.0),
)


class HttpBridgeNode(Node):
    """See the module docstring."""

    def __init__(self, **node_kwargs) -> None:
        super().__init__('http_bridge', **node_kwargs)
        self.p = declare(self, PARAMS)
        self.limits = GatewayLimits(self.p['max_body_bytes'], self.p['max_text_chars'],
                                    self.p['max_in_flight'])
        self.admission = Admission(self.limits.max_in_flight)
        self.client = ActionClient(self, HandleRequest, 'handle_request')
        self.server = ThreadingHTTPServer((self.p['host'], self.p['port']), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.get_logger().info(f'listening on http://{self.p["host"]}:{self.port}/v1/requests')

    def answer(self, body: bytes) -> tuple[int, dict]:
        """Answer one POST body: (HTTP status, JSON body)."""
        try:
            req = parse_request(body, self.limits, default_domain=self.p['default_domain'])
        except BBError as exc:
            return error_body(exc)
        if not self.admission.enter():
            return 429, {'outcome': 'UNAVAILABLE', 'error_code': 0,
                         'error_msg': f'{self.limits.max_in_flight} requests in flight; '
                                      'retry later'}
        try:
            goal = HandleRequest.Goal(text=req.text, domain=req.domain, actor_id=req.actor_id,
                                      session_id=req.session_id, request_key=req.request_key,
                                      dry_run=req.dry_run)
            result = send_goal(self.client, goal, self.p['request_timeout_s'],
                               wait_server_s=2.0)
        finally:
            self.admission.leave()
        log_json(self, 'http_request', actor=req.actor_id, domain=req.domain,
                 outcome=result['outcome'], correlation_id=result.get('correlation_id', ''))
        return http_status(Outcome.__members__.get(result['outcome'], Outcome.FAILED)), result

    def close(self) -> None:
        """Stop serving HTTP (nothing to stop when the port could not be bound)."""
        server = getattr(self, 'server', None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def destroy_node(self):
        """Close the HTTP server with the node."""
        self.close()
        return super().destroy_node()


def _handler(bridge: HttpBridgeNode):
    class Handler(BaseHTTPRequestHandler):
        server_version = 'bb_agent-http-bridge/1'

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802 (http.server's naming)
            if self.path != '/v1/requests':
                return self._send(404, {'error_msg': f'no endpoint {self.path}'})
            try:
                length = int(self.headers.get('Content-Length') or 0)
            except ValueError:
                length = -1
            if length < 0 or length > bridge.limits.max_body_bytes:
                self.close_connection = True  # the body is not read: drop the connection
                return self._send(*error_body(BBError(
                    100, f'Content-Length must be 0-{bridge.limits.max_body_bytes}')))
            self._send(*bridge.answer(self.rfile.read(length)))

        def do_GET(self):  # noqa: N802
            if self.path != '/v1/health':
                return self._send(404, {'error_msg': f'no endpoint {self.path}'})
            up = bridge.client.server_is_ready()
            self._send(200 if up else 503, {'agent': 'reachable' if up else 'unreachable'})

        def log_message(self, fmt, *args):  # access log through ROS, not stderr
            bridge.get_logger().debug(fmt % args)

    return Handler


@clean_exit
def main(args=None) -> int:
    """Entry point of ``http_bridge_node``."""
    rclpy.init(args=args)
    try:
        node = HttpBridgeNode()
    except OSError as exc:  # the port is taken, or the host is not ours
        print(f'http_bridge: cannot listen: {exc}', file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 1
    return run_node(node)

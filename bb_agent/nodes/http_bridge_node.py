"""http_bridge_node: the HTTP/JSON API; each request becomes one ``handle_request``.

FastAPI on uvicorn (in a thread of this node), loopback unless ``host`` says otherwise.
``POST /v1/requests`` with ``{"text": ..., "domain": ..., "actor_id": ..., "session_id":
..., "request_key": ..., "dry_run": ...}`` answers with the agent's result as JSON (the
same fields as ``bb-agent ask``); ``GET /v1/health`` says whether the agent is reachable;
``GET /openapi.json`` is the OpenAPI document; ``GET /console`` is the web operator console
(:mod:`bb_agent.nodes.console_api`, operator scope).

A request must carry ``Authorization: Bearer <token>`` for a token in ``tokens_file``
(stored hashed, with scopes: ``plan`` for dry runs, ``execute`` for requests that move the
robot), be ``application/json``, and come from no browser origin or an allowed one
(:mod:`bb_agent.core.api_access`). Typed refusals: 400 bad body, 401 no or unknown token,
403 wrong scope or origin, 413 too large, 415 not JSON, 429 over the token's rate or the
in-flight limit (with ``Retry-After``), 503 agent unreachable, 504 no result in time.
Validation: :mod:`bb_agent.core.gateway`.
"""

from __future__ import annotations

import socket
import sys
import time

import rclpy
from rclpy.action import ActionClient
from rclpy.node import Node

from bb_agent.core.api_access import (
    Denied,
    RateLimiter,
    TokenStore,
    content_type_denied,
    origin_denied,
)
from bb_agent.core.gateway import (
    Admission,
    GatewayLimits,
    GatewayRequest,
    error_body,
    http_status,
    parse_request,
)
from bb_agent.core.outcomes import BBError, ErrorCode, Outcome
from bb_agent.nodes.goal_client import send_goal
from bb_agent.nodes.lifecycle import clean_exit, ros_init, run_node
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
    Param('tokens_file', '', 'YAML of hashed bearer tokens with scopes ("" = none: every '
                             'request is refused)'),
    Param('allowed_origins', '', 'comma-separated browser origins allowed to call the API'),
    Param('rate_per_s', 5.0, 'requests per second per token (token bucket)', 0.01, 10000.0),
    Param('burst', 20, 'requests a token may send at once (token bucket size)', 1, 100000),
    Param('max_connections', 1024, 'open connections served; more are answered 503', 8,
          100000),
)
BACKLOG = 2048  # listen backlog: 200 concurrent clients must queue, not be reset


class HttpBridgeNode(Node):
    """See the module docstring."""

    def __init__(self, **node_kwargs) -> None:
        super().__init__('http_bridge', **node_kwargs)
        self.p = declare(self, PARAMS)
        self.limits = GatewayLimits(self.p['max_body_bytes'], self.p['max_text_chars'],
                                    self.p['max_in_flight'])
        self.admission = Admission(self.limits.max_in_flight)
        self.tokens = TokenStore.load(self.p['tokens_file'])
        self.origins = tuple(o.strip() for o in self.p['allowed_origins'].split(',')
                             if o.strip())
        self.rate = RateLimiter(self.p['rate_per_s'], self.p['burst'])
        self.client = ActionClient(self, HandleRequest, 'handle_request')
        # Bind here, so a taken port fails the constructor (a clear exit), not a thread.
        self.sock = socket.socket(socket.AF_INET6 if ':' in self.p['host'] else
                                  socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.p['host'], self.p['port']))
        self.sock.listen(BACKLOG)
        self.port = self.sock.getsockname()[1]
        # The console page posts from the bridge's own origin (a browser sends Origin).
        own = {f'http://{self.p["host"]}:{self.port}'} | (
            {f'http://localhost:{self.port}', f'http://127.0.0.1:{self.port}'}
            if self.p['host'] in ('127.0.0.1', 'localhost', '::1') else set())
        self.origins = (*self.origins, *sorted(own - set(self.origins)))
        from bb_agent.nodes.console_state import ConsoleState
        self.console = ConsoleState(self)
        from bb_agent.nodes.http_api import make_app, serve
        self.server = serve(make_app(self), self.sock, self.p['max_connections'])
        if not self.tokens.entries:
            self.get_logger().warn('no API tokens configured (tokens_file): every request '
                                   'is refused with 401')
        self.get_logger().info(f'listening on http://{self.p["host"]}:{self.port}/v1/requests')

    def admit(self, headers) -> Denied | str:
        """Return the token name a POST may use, or why not (origin, type, token, rate).

        The token needs the ``plan`` scope here; a request that is not a dry run needs
        ``execute`` too, checked once its body says so.
        """
        denied = origin_denied(headers.get('origin'), self.origins) or \
            content_type_denied(headers.get('content-type'))
        if denied is not None:
            return denied
        entry = self.tokens.authorize(headers.get('authorization'), 'plan')
        if isinstance(entry, Denied):
            return entry
        wait = self.rate.take(entry.name, time.monotonic())
        if wait:
            return Denied(429, ErrorCode.INVALID_REQUEST, f'token {entry.name!r} is over '
                          f'{self.p["rate_per_s"]:g} requests/s', retry_after_s=wait)
        return entry.name

    def parse(self, body: bytes) -> GatewayRequest | tuple[int, dict]:
        """Validate a body (or return the typed refusal)."""
        try:
            return parse_request(body, self.limits, default_domain=self.p['default_domain'])
        except BBError as exc:
            return error_body(exc)

    def answer(self, req: GatewayRequest, who: str) -> tuple[int, dict, float]:
        """Run one request through the agent: (HTTP status, JSON body, Retry-After s)."""
        if not self.admission.enter():
            return 429, {'outcome': 'UNAVAILABLE', 'error_code': 0,
                         'error_msg': f'{self.limits.max_in_flight} requests in flight; '
                                      'retry later'}, 1.0
        try:
            goal = HandleRequest.Goal(text=req.text, domain=req.domain, actor_id=req.actor_id,
                                      session_id=req.session_id, request_key=req.request_key,
                                      dry_run=req.dry_run)
            result = send_goal(self.client, goal, self.p['request_timeout_s'],
                               wait_server_s=2.0)
        finally:
            self.admission.leave()
        log_json(self, 'http_request', token=who, actor=req.actor_id, domain=req.domain,
                 outcome=result['outcome'], correlation_id=result.get('correlation_id', ''))
        return http_status(Outcome.__members__.get(result['outcome'], Outcome.FAILED)), \
            result, 0.0

    def close(self) -> None:
        """Stop serving HTTP (nothing to stop when the port could not be bound)."""
        server = getattr(self, 'server', None)
        if server is not None:
            server.stop()
        sock = getattr(self, 'sock', None)
        if sock is not None:
            sock.close()

    def destroy_node(self):
        """Close the HTTP server with the node."""
        self.close()
        return super().destroy_node()


@clean_exit
def main(args=None) -> int:
    """Entry point of ``http_bridge_node``."""
    ros_init(args)
    try:
        node = HttpBridgeNode()
    except (OSError, BBError) as exc:  # the port is taken, the host not ours, bad tokens
        what = 'cannot listen' if isinstance(exc, OSError) else 'cannot load its API tokens'
        print(f'http_bridge: {what}: {exc}', file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 1
    return run_node(node)


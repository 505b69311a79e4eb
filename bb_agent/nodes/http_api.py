"""The HTTP bridge's FastAPI application and its uvicorn server (a thread of the node).

Thin: every decision is the bridge node's (:class:`~bb_agent.nodes.http_bridge_node.
HttpBridgeNode`), whose rules are pure modules (:mod:`bb_agent.core.gateway`,
:mod:`bb_agent.core.api_access`). Handlers run the blocking agent call in a worker thread,
so uvicorn's event loop keeps accepting (and refusing) connections meanwhile.
"""

from __future__ import annotations

import math
import threading

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from bb_agent.core.api_access import Denied

REQUEST_SCHEMA = {  # documented in the OpenAPI file; the body is parsed by core.gateway
    'type': 'object', 'required': ['text'], 'additionalProperties': False,
    'properties': {'text': {'type': 'string', 'maxLength': 2000},
                   'domain': {'type': 'string', 'enum': ['robot', 'api_json', 'phone',
                                                         'social']},
                   'actor_id': {'type': 'string', 'pattern': '^[A-Za-z0-9_.:@-]{1,64}$'},
                   'session_id': {'type': 'string'}, 'request_key': {'type': 'string'},
                   'dry_run': {'type': 'boolean', 'default': False}}}


def _reply(status: int, body: dict, retry_after_s: float = 0.0) -> JSONResponse:
    headers = {'Retry-After': str(max(1, math.ceil(retry_after_s)))} if status == 429 else {}
    return JSONResponse(body, status_code=status, headers=headers)


def _denied(d: Denied) -> JSONResponse:
    outcome = 'UNAVAILABLE' if d.status == 429 else 'REJECTED'
    return _reply(d.status, {'outcome': outcome, 'error_code': int(d.code),
                             'error_msg': d.message}, d.retry_after_s)


async def _body(request: Request, limit: int) -> bytes | JSONResponse:
    declared = request.headers.get('content-length')
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return _reply(413 if declared.isdigit() else 400, {
            'outcome': 'INVALID_INPUT', 'error_code': 100,
            'error_msg': f'Content-Length must be 0-{limit}'})
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return _reply(413, {'outcome': 'INVALID_INPUT', 'error_code': 100,
                                'error_msg': f'body over {limit} bytes'})
        chunks.append(chunk)
    return b''.join(chunks)


def make_app(bridge) -> FastAPI:
    """Return the API of ``bridge`` (an HttpBridgeNode)."""
    app = FastAPI(title='bb_agent HTTP API', version='1', docs_url=None, redoc_url=None,
                  description='Requests to the bb_agent robot stack; bearer tokens with '
                              'scopes plan (dry runs) and execute (requests that move).')

    @app.post('/v1/requests', openapi_extra={'requestBody': {'required': True, 'content': {
        'application/json': {'schema': REQUEST_SCHEMA}}}})
    async def requests(request: Request):
        who = bridge.admit(request.headers)
        if isinstance(who, Denied):
            return _denied(who)
        body = await _body(request, bridge.limits.max_body_bytes)
        if isinstance(body, JSONResponse):
            return body
        req = bridge.parse(body)
        if isinstance(req, tuple):
            return _reply(*req)
        if not req.dry_run:  # it would move the robot: the execute scope
            entry = bridge.tokens.authorize(request.headers.get('authorization'), 'execute')
            if isinstance(entry, Denied):
                return _denied(entry)
        return _reply(*await run_in_threadpool(bridge.answer, req, who))

    @app.get('/v1/health')
    async def health():
        up = bridge.client.server_is_ready()
        return _reply(200 if up else 503, {'agent': 'reachable' if up else 'unreachable'})

    from bb_agent.nodes.console_api import add_console
    add_console(app, bridge)
    return app


HEADER_TIMEOUT_S = 10.0  # a new connection must finish its request headers this fast


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the first request's headers.

    A slow-loris client opens connections and never finishes a request; uvicorn alone keeps
    them open forever (a coroutine each, up to ``max_connections``). This closes a
    connection whose first request has not started within ``HEADER_TIMEOUT_S``.
    """

    def connection_made(self, transport) -> None:  # noqa: D102 - asyncio's protocol API
        super().connection_made(transport)
        self._deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._headers_late)

    def _headers_late(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc) -> None:  # noqa: D102
        self._deadline.cancel()
        super().connection_lost(exc)


class Server:
    """uvicorn serving ``app`` on an already bound socket, in a daemon thread."""

    def __init__(self, app: FastAPI, sock, max_connections: int) -> None:
        config = uvicorn.Config(app, log_level='warning', access_log=False, lifespan='off',
                                http=HeaderDeadlineProtocol,
                                timeout_keep_alive=5, limit_concurrency=max_connections,
                                backlog=2048, h11_max_incomplete_event_size=16 * 1024)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={'sockets': [sock]},
                                       name='http-api', daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Ask uvicorn to finish and wait briefly for it."""
        self.server.should_exit = True
        self.thread.join(2.0)


def serve(app: FastAPI, sock, max_connections: int) -> Server:
    """Start serving ``app`` on ``sock``; return the running server."""
    return Server(app, sock, max_connections)

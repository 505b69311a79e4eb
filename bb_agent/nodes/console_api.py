"""The web operator console's routes on the HTTP bridge (an operator door).

``GET /console`` serves the page (no data in it); everything it shows or does needs a
bearer token with the ``operator`` scope, from the bridge's own origin (or an allowed one):

- ``GET /v1/console/state``: V_s and STOP with reasons, the world, the plan's node states,
  pending approvals, the ledger's recent records (:class:`~bb_agent.nodes.console_state.
  ConsoleState`);
- ``POST /v1/console/stop``: latch STOP (the safety monitor's ``safety/stop``);
- ``POST /v1/console/decision`` ``{"correlation_id", "approve", "reason"}``: approve or
  reject a pending request, as the token's name;
- the chat box posts to ``/v1/requests`` like any client (its token needs ``execute`` to
  move the robot).
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse

from bb_agent.core.api_access import Denied, content_type_denied, origin_denied
from bb_agent.core.outcomes import ErrorCode
from bb_agent.nodes.console_page import PAGE

MAX_BODY = 4096  # bytes of a console POST


def _refuse(d: Denied) -> JSONResponse:
    return JSONResponse({'outcome': 'REJECTED', 'error_code': int(d.code),
                         'error_msg': d.message}, status_code=d.status)


def _bad(message: str) -> JSONResponse:
    return JSONResponse({'outcome': 'INVALID_INPUT', 'error_code': int(ErrorCode.INVALID_JSON),
                         'error_msg': message}, status_code=400)


def _operator(bridge, request: Request, posting: bool) -> str | Denied:
    """Return the operator's token name, or why the request is refused."""
    denied = origin_denied(request.headers.get('origin'), bridge.origins) or \
        (content_type_denied(request.headers.get('content-type')) if posting else None)
    if denied is not None:
        return denied
    entry = bridge.tokens.authorize(request.headers.get('authorization'), 'operator')
    return entry if isinstance(entry, Denied) else entry.name


async def _json_body(request: Request) -> dict | JSONResponse:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return JSONResponse({'outcome': 'INVALID_INPUT', 'error_code': 100,
                             'error_msg': f'body over {MAX_BODY} bytes'}, status_code=413)
    try:
        body = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as exc:
        return _bad(f'not JSON: {exc}')
    return body if isinstance(body, dict) else _bad('the body must be a JSON object')


def add_console(app: FastAPI, bridge) -> None:
    """Add the console's page and routes to ``app``; ``bridge.console`` holds the state."""

    @app.get('/console', response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return HTMLResponse(PAGE, headers={'Content-Security-Policy': (
            "default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
            'X-Frame-Options': 'DENY'})

    @app.get('/v1/console/state')
    async def state(request: Request):
        who = _operator(bridge, request, posting=False)
        if isinstance(who, Denied):
            return _refuse(who)
        return JSONResponse(bridge.console.snapshot())

    @app.post('/v1/console/stop')
    async def stop(request: Request):
        who = _operator(bridge, request, posting=True)
        if isinstance(who, Denied):
            return _refuse(who)
        done, message = await run_in_threadpool(bridge.console.stop, who)
        return JSONResponse({'outcome': 'SUCCEEDED' if done else 'UNAVAILABLE',
                             'error_msg': message}, status_code=200 if done else 503)

    @app.post('/v1/console/decision')
    async def decision(request: Request):
        who = _operator(bridge, request, posting=True)
        if isinstance(who, Denied):
            return _refuse(who)
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return body
        cid, approve = body.get('correlation_id'), body.get('approve')
        reason = body.get('reason', '')
        if not isinstance(cid, str) or not cid or not isinstance(approve, bool) or \
                not isinstance(reason, str) or len(reason) > 500:
            return _bad('expected {"correlation_id": str, "approve": bool, "reason": str}')
        done, message = await run_in_threadpool(bridge.console.decide, cid, approve, who,
                                                reason)
        return JSONResponse({'outcome': 'SUCCEEDED' if done else 'REJECTED',
                             'error_msg': message}, status_code=200 if done else 409)

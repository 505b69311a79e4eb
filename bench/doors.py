"""Latency per door, end to end through the whole stack, against real peers on loopback.

One bring-up (``bb-agent up``'s supervisor) with the HTTP bridge, the API door (against
:func:`bench.peers.orders_service`) and, when prosody and slixmpp are installed, the chat
door (against :class:`bench.peers.Prosody`). Measured per door, p50/p99 in ms:

- ``http_dry_run``: the baseline, ``POST /v1/requests`` "go home" as a dry run (plan and
  check, nothing moves), in the same process and stack as the others;
- ``api_call``: ``POST /v1/requests`` ``{"domain": "api_json"}`` "where is order 42?":
  plan, check, and the HTTP call made by ``api_executor``;
- ``chat_reply``: an XMPP message "bob says thanks" to the bridge's account until its reply
  arrives (social domain);
- ``console_state``: ``GET /v1/console/state`` (what the console polls twice a second).

Ratios are against ``http_dry_run`` of the same run (these machines are noisy).
"""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path
import shutil
import tempfile
import time

from bench.peers import Prosody, XmppUser, free_port, orders_service
from bench.timing import machine, percentile

HEADERS = {'Content-Type': 'application/json', 'Authorization': 'Bearer bench'}


def _summary(ms: list[float], baseline: list[float] | None = None) -> dict:
    out = {'n': len(ms), 'p50': round(percentile(ms, 0.5), 1),
           'p99': round(percentile(ms, 0.99), 1)}
    if baseline:
        out['p50_over_http_dry_run'] = round(out['p50'] / percentile(baseline, 0.5), 2)
    return out


def _http(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
    conn.request(method, path, json.dumps(body).encode() if body is not None else None,
                 HEADERS)
    answer = conn.getresponse()
    status, data = answer.status, json.loads(answer.read())
    conn.close()
    return status, data


def _timed(fn, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
    return times


def run(*, repeats: int = 50) -> dict:
    """Run each door ``repeats`` times (``console_state`` 4x as often); return the JSON."""
    from bb_agent.clients.supervisor import Supervisor
    from bb_agent.core.api_access import hash_token
    folder = tempfile.mkdtemp(prefix='bb_doors.')
    tokens = os.path.join(folder, 'tokens.yaml')
    with open(tokens, 'w') as f:
        f.write(f'tokens:\n  - {{name: bench, sha256: {hash_token("bench")}, '
                'scopes: [plan, execute, operator]}\n')
    os.environ.setdefault('BB_AGENT_APPROVAL_KEY_FILE', os.path.join(folder, 'approval.key'))
    chat = shutil.which('prosody') is not None and _has('slixmpp')
    port = free_port()
    xmpp = Prosody(Path(folder) / 'xmpp',
                   {'bridge': 'bridge-pw', 'user': 'user-pw'}) if chat else None
    with orders_service() as orders:
        overrides = {'http_bridge': {'port': port, 'tokens_file': tokens,
                                     'rate_per_s': 10000.0, 'burst': 100000},
                     'api_executor': {'base_url': orders}}
        if xmpp is not None:
            xmpp.start()
            secret = os.path.join(folder, 'chat.pw')
            with open(secret, 'w') as f:
                f.write('bridge-pw')
            overrides['chat_bridge'] = {'jid': 'bridge@localhost', 'password_file': secret,
                                        'server_port': xmpp.port, 'allow_plaintext': True,
                                        'rate_per_s': 1000.0, 'burst': 10000}
        stack = Supervisor(quiet=True, overrides=overrides)
        stack.start()
        try:
            if not stack.wait_ready(180):
                raise RuntimeError('the stack did not come up')
            time.sleep(2.0)  # the bridges' DDS discovery and the chat login settle
            dry = {'text': 'go home', 'dry_run': True, 'actor_id': 'bench'}
            api = {'text': 'where is order 42?', 'domain': 'api_json', 'actor_id': 'bench'}
            first = _http(port, 'POST', '/v1/requests', api)[1]
            if first.get('outcome') != 'SUCCEEDED':
                raise RuntimeError(f'the API door did not succeed: {first}')
            base = _timed(lambda: _http(port, 'POST', '/v1/requests', dry), repeats)
            out = {'http_dry_run': _summary(base),
                   'api_call': _summary(_timed(
                       lambda: _http(port, 'POST', '/v1/requests', api), repeats), base),
                   'console_state': _summary(_timed(
                       lambda: _http(port, 'GET', '/v1/console/state'), 4 * repeats), base)}
            if xmpp is not None:
                user = XmppUser('user@localhost/bench', 'user-pw', xmpp.port)
                user.ask('bob says thanks')  # the first reply after login
                out['chat_reply'] = _summary(_timed(lambda: user.ask('bob says thanks'),
                                                    repeats), base)
                user.close()
            else:
                out['chat_reply'] = None  # prosody or slixmpp missing: make setup-bridges
        finally:
            stack.stop()
            if xmpp is not None:
                xmpp.stop()
    return {'machine': machine(), 'repeats': repeats, 'latency_ms': out}


def _has(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None

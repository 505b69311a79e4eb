"""HTTP API load: 200 concurrent clients, 10,000 requests; every one must get a typed answer.

Brings up the whole stack (``bb-agent up``'s supervisor) with an API token, then 200 client
threads post dry-run requests until 10,000 are sent. Counts the answers by status (200 from
the agent, 429 from admission or the rate limit, ...) and the *lost* ones (a reset, a
timeout, a body that is not our JSON). Reports p50/p99 latency per status class.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import http.client
import json
import os
import tempfile
import time

from bench.peers import free_port
from bench.timing import machine, percentile

CLIENTS, REQUESTS = 200, 10_000
BODY = json.dumps({'text': 'go home', 'dry_run': True, 'actor_id': 'bench'}).encode()


def run(*, repeats: int = 300) -> dict:
    """Run the load; ``repeats`` 1 sends 400 requests from 40 clients (the key check)."""
    from bb_agent.clients.supervisor import Supervisor
    from bb_agent.core.api_access import hash_token
    clients, total = (CLIENTS, REQUESTS) if repeats > 1 else (40, 400)
    folder = tempfile.mkdtemp()
    tokens = os.path.join(folder, 'tokens.yaml')
    with open(tokens, 'w') as f:
        f.write(f'tokens:\n  - {{name: bench, sha256: {hash_token("bench")}, '
                'scopes: [plan]}\n')
    os.environ.setdefault('BB_AGENT_APPROVAL_KEY_FILE', os.path.join(folder, 'approval.key'))
    port = free_port()
    stack = Supervisor(quiet=True, overrides={
        'http_bridge': {'port': port, 'tokens_file': tokens, 'rate_per_s': 10000.0,
                        'burst': 100000}})
    stack.start()
    try:
        assert stack.wait_ready(180), 'stack did not come up'
        headers = {'Content-Type': 'application/json', 'Authorization': 'Bearer bench'}

        def one(_i):
            start = time.perf_counter()
            try:
                conn = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
                conn.request('POST', '/v1/requests', BODY, headers)
                answer = conn.getresponse()
                status, body = answer.status, answer.read()
                conn.close()
                typed = isinstance(json.loads(body), dict)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                return 'lost', 1e3 * (time.perf_counter() - start), type(exc).__name__
            return (status if typed else 'lost'), 1e3 * (time.perf_counter() - start), ''

        began = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(one, range(total)))
        wall = time.perf_counter() - began
    finally:
        stack.stop()
    by_status: dict = {}
    for status, ms, _ in results:
        by_status.setdefault(str(status), []).append(ms)
    all_ms = [ms for _, ms, _ in results]
    return {'clients': clients, 'requests': total,
            'lost': len(by_status.get('lost', [])),
            'lost_reasons': sorted({why for s, _, why in results if s == 'lost'})[:5],
            'by_status': {s: len(v) for s, v in sorted(by_status.items())},
            'latency_ms': {'p50': round(percentile(all_ms, 0.5), 1),
                           'p99': round(percentile(all_ms, 0.99), 1)},
            'latency_ms_by_status': {s: {'p50': round(percentile(v, 0.5), 1),
                                         'p99': round(percentile(v, 0.99), 1)}
                                     for s, v in sorted(by_status.items())},
            'requests_per_s': round(total / wall, 1), 'machine': machine()}

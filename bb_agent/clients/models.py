"""``bb-agent promote CANDIDATE`` and ``bb-agent rollback``: the builder's model services."""

from __future__ import annotations

import math
from pathlib import Path

from bb_agent.nodes.spun import SpunNode, wait_future

DECISIONS = {0: 'REJECT', 1: 'PROMOTE', 2: 'HOLD'}  # PromoteCheckpoint DECISION_*
OUTCOMES = {0: 'SUCCEEDED', 3: 'FAILED', 6: 'INVALID_INPUT'}


def _call(srv_type, name: str, request, timeout: float):
    ros = SpunNode('bb_agent_models')
    try:
        client = ros.node.create_client(srv_type, name)
        if not client.wait_for_service(timeout_sec=min(10.0, timeout)):
            return None
        return wait_future(client.call_async(request), timeout, alive=client.service_is_ready)
    finally:
        ros.close()


def promote(candidate: str, *, baseline: str = '', dry_run: bool = False,
            timeout: float = 1800.0) -> dict:
    """Ask the builder's gate about ``candidate``; return the answer as a dict."""
    from bb_msgs.srv import PromoteCheckpoint
    request = PromoteCheckpoint.Request(
        candidate_path=str(Path(candidate).resolve()),
        baseline_path=str(Path(baseline).resolve()) if baseline else '', dry_run=dry_run)
    resp = _call(PromoteCheckpoint, 'promote', request, timeout)
    if resp is None:
        return {'outcome': 'UNAVAILABLE', 'error_msg': 'no builder answered `promote` within '
                                                       f'{timeout:g} s (is the stack up?)'}
    return {'outcome': OUTCOMES.get(resp.outcome, str(resp.outcome)),
            'decision': DECISIONS.get(resp.decision, str(resp.decision)),
            'error_code': resp.error_code, 'error_msg': resp.error_msg,
            'report': resp.report_path,
            'metrics': [{'name': m.name, 'candidate': _num(m.value),
                         'active': _num(m.baseline), 'threshold': m.threshold,
                         'passed': m.passed} for m in resp.metrics]}


def rollback(*, timeout: float = 120.0) -> dict:
    """Ask the builder to return to the model active before; return the answer."""
    from std_srvs.srv import Trigger
    resp = _call(Trigger, 'rollback', Trigger.Request(), timeout)
    if resp is None:
        return {'success': False, 'message': 'no builder answered `rollback`'}
    return {'success': resp.success, 'message': resp.message}


def _num(value: float) -> float | None:
    return value if math.isfinite(value) and abs(value) < 1e300 else None

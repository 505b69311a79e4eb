"""Send one HandleRequest goal and wait for its typed result (the HTTP bridge, bb-agent ask).

Never raises for the agent's answer: no server, a refused goal, a server that went away
and no result in time come back as UNAVAILABLE / TIMEOUT dicts, like any other outcome.
"""

from __future__ import annotations

from bb_agent.nodes.spun import wait_future

STAGES = ('received', 'proposing', 'checking', 'repairing', 'awaiting approval', 'executing',
          'done', 'conforming')
OUTCOMES = {0: 'SUCCEEDED', 1: 'REJECTED', 2: 'DEFERRED', 3: 'FAILED', 4: 'CANCELED',
            5: 'TIMEOUT', 6: 'INVALID_INPUT', 7: 'UNAVAILABLE', 8: 'STOPPED'}


def result_dict(result) -> dict:
    """Return the readable parts of a HandleRequest result."""
    return {'outcome': OUTCOMES.get(result.outcome, str(result.outcome)),
            'error_code': result.error_code, 'error_msg': result.error_msg,
            'correlation_id': result.correlation_id, 'program': result.plan.program,
            'approved': result.verdict.approved,
            'violations': [f'{v.code} {v.node_id}: {v.message}'
                           for v in result.verdict.violations],
            'deferred': result.deferred, 'question': result.clarification_question,
            'nodes': {'total': result.summary.nodes_total,
                      'succeeded': result.summary.nodes_succeeded,
                      'failed': result.summary.nodes_failed,
                      'retries': result.summary.retries,
                      'safe_pose': result.summary.safe_pose_commanded}}


def send_goal(client, goal, timeout: float, on_stage=None, wait_server_s: float = 30.0
              ) -> dict:
    """Send a HandleRequest ``goal`` on ``client`` (its node spun elsewhere); return the result.

    Never raises for the agent's answer: no server, a refused goal and no result within
    ``timeout`` seconds come back as UNAVAILABLE / TIMEOUT dicts, like any other outcome.
    """
    if not client.wait_for_server(timeout_sec=wait_server_s):
        return {'outcome': 'UNAVAILABLE', 'error_msg': 'no agent (handle_request) found'}

    def feedback(fb):
        f = fb.feedback
        if on_stage is not None:
            on_stage(f'  [{STAGES[f.stage] if f.stage < len(STAGES) else f.stage}] '
                     f'{f.message}')

    handle = wait_future(client.send_goal_async(goal, feedback_callback=feedback), 30.0)
    if handle is None or not handle.accepted:
        return {'outcome': 'UNAVAILABLE', 'error_msg': 'the agent refused the request'}
    answer = wait_future(handle.get_result_async(), timeout, alive=client.server_is_ready)
    if answer is None and not client.server_is_ready():
        return {'outcome': 'UNAVAILABLE', 'error_code': 600,
                'error_msg': 'the agent (handle_request) went away during the request; the '
                             'stack stopped or a node died (see its log)'}
    if answer is None:
        return {'outcome': 'TIMEOUT', 'error_msg': f'no result in {timeout:g} s'}
    return result_dict(answer.result)

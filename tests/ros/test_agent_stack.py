"""The whole stack over real DDS (``bb-agent up``'s supervisor, seven processes).

The builder's model host is made to stall (fault injection) past its generation limit, so
every model decode times out on any CPU and the fallback chain is what is under test:
templates answer, everything else defers. Operator approval is required for ``scan`` here,
with a short timeout.
"""

import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

from bb_agent.core.api_access import hash_token
from bb_msgs.action import HandleRequest
from bb_msgs.msg import NodeStatus
from bb_msgs.srv import OperatorDecision, ProposePlan
from bench.peers import Orders, free_port
from tests.ros.stack import RosClient

pytestmark = pytest.mark.ros
APPROVAL_TIMEOUT_S = 2.0


HTTP_PORT = free_port()
# API tokens, stored hashed: a dry-run-only one and one that may execute.
TOKENS_FILE = Path(tempfile.mkdtemp(prefix='bb_agent_tokens.')) / 'tokens.yaml'
TOKENS_FILE.write_text('tokens:\n'
                       f'  - {{name: planner, sha256: {hash_token("plan-secret")}, '
                       'scopes: [plan]}\n'
                       f'  - {{name: ops, sha256: {hash_token("ops-secret")}, '
                       'scopes: [plan, execute]}\n')
OVERRIDES = {'builder': {'timeout_s': 0.05, 'fault_stall_s': 0.1},
             'http_bridge': {'port': HTTP_PORT, 'tokens_file': str(TOKENS_FILE),
                             'burst': 3, 'rate_per_s': 0.5},
             'agent': {'approval_skills': 'scan', 'approval_timeout_s': APPROVAL_TIMEOUT_S},
             'executor': {'approval_skills': 'scan'},  # enforced at the executor too
             'sim_robot': {'time_scale': 4.0}}


@pytest.fixture(scope='module')
def stack(approval_key, supervised, orders):
    # the API door too: api_executor starts because its base_url is given (enabled_by)
    return supervised({**OVERRIDES, 'api_executor': {'base_url': orders}})


@pytest.fixture(scope='module')
def ros(stack):
    c = RosClient('agent_test_client')
    c.handle = c.action_client(HandleRequest, 'handle_request')
    c.propose = c.node.create_client(ProposePlan, 'propose')
    c.approve = c.node.create_client(OperatorDecision, 'approve')
    c.exec_status = c.collect(NodeStatus, 'execution/status', 100)
    c.ready_to_move()
    yield c
    c.close()


def ask(ros, text, **fields):
    goal = HandleRequest.Goal(text=text, domain=fields.pop('domain', 'robot'),
                              actor_id=fields.pop('actor', 'tester'), **fields)
    accepted, result = ros.run_action(ros.handle, goal, timeout=60)
    assert accepted
    return result


def test_when_model_times_out_expect_template_fallback(ros):
    answer = ros.call(ros.propose, ProposePlan.Request(goal='please go home', domain='robot'))
    assert answer.outcome == ProposePlan.Response.OUTCOME_SUCCEEDED, answer.error_msg
    assert answer.source == ProposePlan.Response.SOURCE_TEMPLATE
    assert 'timeout' in answer.error_msg and answer.plan.program == 's1 = home();\n'


def test_when_request_has_no_template_and_model_fails_expect_deferral_question(ros):
    result = ask(ros, 'put the red cup in bin A')
    assert result.outcome == HandleRequest.Result.OUTCOME_DEFERRED and result.deferred
    assert '?' in result.clarification_question


def test_when_template_plan_is_requested_expect_it_checked_and_executed(ros):
    result = ask(ros, 'go home')
    assert result.outcome == HandleRequest.Result.OUTCOME_SUCCEEDED, result.error_msg
    assert result.verdict.approved and result.summary.nodes_succeeded == 1
    # the result carries the checked plan's nodes, with their checked arguments
    assert [n.skill for n in result.plan.nodes] == ['home']
    assert any(a.name == 'speed' for a in result.plan.nodes[0].arguments)
    assert 0.0 < result.summary.nodes[0].elapsed_s <= result.summary.duration_s


@pytest.mark.parametrize('domain,text', [('robot', ''), ('garden', 'water the roses')])
def test_when_request_is_invalid_expect_typed_error(ros, domain, text):
    result = ask(ros, text, domain=domain)
    assert result.outcome == HandleRequest.Result.OUTCOME_INVALID_INPUT
    assert result.error_code in (101, 102) and result.error_msg


def dispatched(ros, plan_id: str, settle_s: float = 0.3) -> int:
    """Count the executor's RUNNING reports for ``plan_id``, after late ones could arrive.

    By plan id, not by a count taken before: an earlier test's last reports may trail its
    result.
    """
    time.sleep(settle_s)
    return sum(s.plan_id == plan_id and s.state == NodeStatus.STATE_RUNNING
               for s in list(ros.exec_status))


def test_when_request_key_is_retried_expect_one_execution(ros):
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        ask(ros, 'go home', request_key='key-1'))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 3 and {r.correlation_id for r in results} == \
        {results[0].correlation_id}
    assert results[0].plan.plan_id and dispatched(ros, results[0].plan.plan_id) == 1


def _ask_async(ros, text, waiting):
    def feedback(fb):
        if fb.feedback.stage == HandleRequest.Feedback.STAGE_AWAITING_APPROVAL:
            waiting.append(fb.feedback.correlation_id)
    assert ros.handle.wait_for_server(timeout_sec=10)
    goal = HandleRequest.Goal(text=text, domain='robot', actor_id='tester')
    handle = ros.wait(ros.handle.send_goal_async(goal, feedback_callback=feedback), 10)
    return handle.get_result_async()


def test_when_operator_approves_expect_execution(ros):
    waiting = []
    future = _ask_async(ros, 'look around', waiting)
    assert ros.wait_until(lambda: waiting, 20)
    bad = ros.call(ros.approve, OperatorDecision.Request(correlation_id='nope', approve=True))
    assert bad.outcome == OperatorDecision.Response.OUTCOME_INVALID_INPUT
    ok = ros.call(ros.approve, OperatorDecision.Request(correlation_id=waiting[0],
                                                        approve=True, operator_id='op'))
    assert ok.outcome == OperatorDecision.Response.OUTCOME_SUCCEEDED
    result = ros.wait(future, 30).result
    assert result.outcome == HandleRequest.Result.OUTCOME_SUCCEEDED, result.error_msg


def test_when_operator_stays_silent_expect_rejection_after_the_timeout(ros):
    waiting = []
    future = _ask_async(ros, 'look around', waiting)
    result = ros.wait(future, APPROVAL_TIMEOUT_S + 20).result
    assert waiting and result.outcome == HandleRequest.Result.OUTCOME_REJECTED
    assert result.error_code == 403 and result.plan.plan_id
    assert dispatched(ros, result.plan.plan_id) == 0


def test_when_check_and_execute_plan_are_called_directly_expect_the_operator_still_required(
        ros):
    # Skipping the agent skips nothing: the executor demands the operator token itself.
    from bb_msgs.action import ExecutePlan
    from bb_msgs.msg import PlanGraph
    from bb_msgs.srv import CheckPlan
    check = ros.node.create_client(CheckPlan, 'check')
    execute = ros.action_client(ExecutePlan, 'execute_plan')
    plan = PlanGraph(plan_id='direct', domain='robot', program='s1 = scan(region=table);\n')
    answer = ros.check_until_world(check, plan)
    assert answer.outcome == CheckPlan.Response.OUTCOME_SUCCEEDED, answer.error_msg
    accepted, result = ros.run_action(execute, ExecutePlan.Goal(
        plan=plan, approval_token=answer.verdict.approval_token,
        world_hash=answer.verdict.world_hash, correlation_id='direct'), 30)
    assert accepted and result.outcome == ExecutePlan.Result.OUTCOME_REJECTED
    assert result.error_code == 402 and 'operator' in result.error_msg
    assert dispatched(ros, 'direct') == 0


JSON = {'Content-Type': 'application/json'}
OPS = {**JSON, 'Authorization': 'Bearer ops-secret'}
PLANNER = {**JSON, 'Authorization': 'Bearer plan-secret'}


def http(method: str, path: str, data: bytes | None = None, headers=None
         ) -> tuple[int, dict, dict]:
    request = urllib.request.Request(f'http://127.0.0.1:{HTTP_PORT}{path}', data=data,
                                     method=method, headers=OPS if headers is None else headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


@pytest.mark.parametrize('method,path,data,status,fields', [
    ('GET', '/v1/health', None, 200, {'agent': 'reachable'}),
    ('POST', '/v1/requests', b'{"text": "go home", "dry_run": true, "actor_id": "web"}', 200,
     {'outcome': 'SUCCEEDED', 'program': 's1 = home();\n', 'approved': True}),
    ('POST', '/v1/requests', b'{"text": "go home", "domain": "garden"}', 400,
     {'outcome': 'INVALID_INPUT', 'error_code': 101}),
    ('POST', '/v1/requests', b'{"text": go home}', 400, {'error_code': 103}),
    ('POST', '/v1/plans', b'{}', 404, {}),
])
def test_when_http_client_calls_the_bridge_expect_agent_result_or_typed_refusal(
        ros, method, path, data, status, fields):
    got_status, body, _ = http(method, path, data)
    assert got_status == status, body
    assert {k: body.get(k) for k in fields} == fields


MOVE = b'{"text": "go home", "dry_run": false}'


@pytest.mark.parametrize('headers,status,why', [
    (JSON, 401, 'missing bearer token'),
    ({**JSON, 'Authorization': 'Bearer wrong'}, 401, 'unknown'),
    (PLANNER, 403, 'execute'),  # a dry-run token may not move the robot
    # a web page's cross-site post: text/plain from another origin
    ({**OPS, 'Content-Type': 'text/plain', 'Origin': 'http://evil.example'}, 403, 'origin'),
    ({**OPS, 'Content-Type': 'text/plain'}, 415, 'application/json'),
])
def test_when_a_request_lacks_the_right_to_move_expect_refusal_and_nothing_moves(
        ros, headers, status, why):
    before = len(ros.exec_status)
    got_status, body, _ = http('POST', '/v1/requests', MOVE, headers)
    assert got_status == status and why in body['error_msg'], body
    time.sleep(0.3)
    assert len(ros.exec_status) == before  # the executor saw nothing


def test_when_a_token_sends_faster_than_its_rate_expect_429_with_retry_after(ros):
    answers = [http('POST', '/v1/requests', b'{}', PLANNER) for _ in range(6)]
    limited = [a for a in answers if a[0] == 429]
    assert limited and all(int(a[2]['retry-after']) >= 1 for a in limited), answers


def test_when_the_openapi_document_is_asked_expect_the_endpoints(ros):
    status, doc, _ = http('GET', '/openapi.json', headers={})
    assert status == 200 and {'/v1/requests', '/v1/health'} <= set(doc['paths'])


@pytest.mark.parametrize('argv,rc,expected', [
    (['go home', '--dry-run'], 0, ['"outcome": "SUCCEEDED"', 's1 = home();']),
    (['put the red cup in bin A'], 0, ['"outcome": "DEFERRED"', '?']),
    (['go home', '--domain', 'garden'], 2, ['invalid choice']),
])
def test_when_bb_agent_ask_is_run_expect_stages_and_result_printed(ros, argv, rc, expected):
    done = subprocess.run([str(Path(sys.executable).parent / 'bb-agent'), 'ask', *argv,
                           '--timeout', '60'], capture_output=True, text=True, timeout=120,
                          env=os.environ.copy())
    out = done.stdout + done.stderr
    assert done.returncode == rc, out
    assert all(text in out for text in expected), out


def test_when_an_api_request_is_approved_expect_the_service_called_once_with_its_reply(ros):
    Orders.calls.clear()
    result = ask(ros, 'where is order 42?', domain='api_json')
    assert result.outcome == HandleRequest.Result.OUTCOME_SUCCEEDED, result.error_msg
    assert json.loads(result.plan.program) == {'endpoint': 'get_order_status',
                                               'args': {'order_id': 42}}
    assert Orders.calls == ['/orders/42']
    assert json.loads(result.summary.nodes[0].message) == {'status': 'shipped'}
    dry = ask(ros, 'where is order 42?', domain='api_json', dry_run=True)
    assert dry.outcome == HandleRequest.Result.OUTCOME_SUCCEEDED and Orders.calls == [
        '/orders/42']  # a dry run plans and checks; it calls nothing


def test_when_checker_is_down_expect_nothing_executes(ros, stack):
    checker = next(c for c in stack.children if c.spec.name == 'plan_checker')
    checker.popen.kill()
    checker.popen.wait(5)
    result = ask(ros, 'go home')
    assert result.outcome == HandleRequest.Result.OUTCOME_UNAVAILABLE
    assert 'checker' in result.error_msg and result.plan.plan_id
    assert dispatched(ros, result.plan.plan_id) == 0



def test_when_requests_were_handled_expect_an_intact_hash_chained_ledger(ros):
    from bb_agent.safety.ledger import verify
    path = Path(os.environ['ROS_LOG_DIR']) / 'bb_agent_ledger.jsonl'
    report = verify(path)
    assert report.ok and report.records > 10, report
    last = json.loads(path.read_text().splitlines()[-1])
    assert set(last['stamp']) == {'schema_sha256', 'grammar_sha256', 'config_sha256',
                                  'model_id'}
    from bb_agent.model.checkpoint import default_model_dir
    from bb_agent.safety.registry import model_id
    assert last['stamp']['model_id'] == model_id(default_model_dir())  # the model in force

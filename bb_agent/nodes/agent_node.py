"""agent_node: the control plane, action ``handle_request`` (bb_msgs/HandleRequest).

anchors (code, before any model: a stop request latches STOP through the safety monitor,
an over-limit value is REJECTED naming the limit, an authority claim defers) -> propose
(builder) -> check, with repair (plan checker) -> the intent gate (the checked plan must do
what the request asked and only that; otherwise defer with the gate's question, or ask an
operator) -> operator approval when the plan calls for it -> execute (executor), with
feedback per stage. Sessions are isolated by
actor id; a request key makes retries idempotent (the first result is returned, nothing
runs twice); every stage logs one JSON line carrying the correlation id, and the run
ledger records requests, verdicts, approvals and outcomes. Operators answer on ``approve``
(bb_msgs/OperatorDecision); no answer within ``approval_timeout_s`` rejects (fail closed).
"""

from __future__ import annotations

import copy
import json
import os
import uuid

from rclpy.action import ActionClient, ActionServer
from rclpy.node import Node
from std_msgs.msg import Empty
from std_srvs.srv import Trigger

from bb_agent.core.check.admission import operator_skills, operator_token
from bb_agent.core.check.approval_key import key_path, load_or_create_key
from bb_agent.core.dsl.parser import parse_program
from bb_agent.core.dsl.printer import print_program
from bb_agent.core.execution import NodeState
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.prompting import world_context
from bb_agent.core.requests import Confirmations, IdempotencyStore, Sessions
from bb_agent.core.schema import DOMAINS, load_schema
from bb_agent.nodes.agent_board import OperatorBoard, ledger_stamp
from bb_agent.nodes.agent_intent import anchor_stage, conform_stage
from bb_agent.nodes.latest import LiveWorld
from bb_agent.nodes.lifecycle import Offload, clean_exit, ros_init, run_node
from bb_agent.nodes.logs import log_json
from bb_agent.nodes.params import Param, declare
from bb_agent.nodes.spun import wait_future
from bb_agent.safety.ledger import Ledger
from bb_msgs.action import ExecutePlan, HandleRequest
from bb_msgs.msg import WorldState
from bb_msgs.srv import CheckPlan, OperatorDecision, ProposePlan

PARAMS = (
    Param('propose_timeout_s', 40.0, 'builder answer limit (s)', 0.1, 600.0),
    Param('check_timeout_s', 5.0, 'checker answer limit (s; playbook: 5 s)', 0.1, 600.0),
    Param('execute_timeout_s', 300.0, 'execution limit (s; playbook: 5 min)', 1.0, 3600.0),
    Param('approval_skills', '', 'comma-separated skills that need an operator besides the '
          "schema's operator skills (config/nodes/operator.yaml, shared with the executor)"),
    Param('approval_key_file', '', 'approval key file (shared with plan_checker, executor)'),
    Param('approve_below', 0.0, 'plans under this confidence need an operator', 0.0, 1.0),
    Param('approval_timeout_s', 60.0, 'no operator answer in this long rejects (s)',
          0.1, 3600.0),
    Param('ledger_path', '', 'run ledger JSONL ("" = $ROS_LOG_DIR/bb_agent_ledger.jsonl)'),
    Param('ledger_max_bytes', 64 * 1024 * 1024, 'rotate the ledger past this size (bytes; the '
          'hash chain goes on in the next file)', 4096, 1 << 40),
    Param('idempotency_ttl_s', 3600.0, 'how long a request key is remembered (s)',
          1.0, 86400.0),
    Param('on_mismatch', 'defer', 'a checked plan that does not match its request: defer '
          "(ask the requester the gate's question) or operator (an operator decides)",
          choices=('defer', 'operator'), live=True),
    Param('world_max_age_s', 2.0, 'the intent gate needs a world state this fresh (s)',
          0.05, 60.0),
    Param('confirm_ttl_s', 120.0, 'a "yes" to the gate\'s question counts this long after it '
          '(s; 0 = never: every mismatch stays deferred)', 0.0, 3600.0),
)
R = HandleRequest.Result
F = HandleRequest.Feedback
Decision = OperatorDecision.Response


class AgentNode(Node):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__('agent')
        # Live parameters are read per request: setting one applies to the next request.
        self.p = declare(self, PARAMS, lambda changes: '')
        self.offload = Offload(self)
        self.propose = self.create_client(ProposePlan, 'propose')
        self.check = self.create_client(CheckPlan, 'check')
        self.execute = ActionClient(self, ExecutePlan, 'execute_plan')
        self.execute_api = ActionClient(self, ExecutePlan, 'api/execute_plan')  # api_executor
        self.stop_pub = self.create_publisher(Empty, 'robot/stop', 10)
        self.safety_stop = self.create_client(Trigger, 'safety/stop')
        self.live = LiveWorld()
        self.create_subscription(WorldState, 'world_state', self.live.put, 10)
        self.create_service(OperatorDecision, 'approve', self._decide)
        ActionServer(self, HandleRequest, 'handle_request', self._handle,
                     callback_group=self.offload.group)
        self.keys = IdempotencyStore(ttl_s=self.p['idempotency_ttl_s'])
        self.sessions = Sessions()
        self.confirmations = Confirmations(ttl_s=self.p['confirm_ttl_s'])
        self.board = OperatorBoard(self)  # pending approvals, ledger events (topics)
        path = self.p['ledger_path'] or os.path.join(
            os.environ.get('ROS_LOG_DIR') or os.path.expanduser('~/.ros/log'),
            'bb_agent_ledger.jsonl')
        self.ledger = Ledger(path, on_record=self.board.record, stamp=ledger_stamp(self.p),
                             max_bytes=self.p['ledger_max_bytes'])
        self.key = load_or_create_key(key_path(self.p['approval_key_file']))
        self.board.follow_models(self.ledger)

    # --- helpers -----------------------------------------------------------------------
    def _await(self, future, timeout: float, alive=None):
        return wait_future(future, timeout, alive=alive)

    def _call(self, client, request, timeout: float):
        if not client.wait_for_service(timeout_sec=min(2.0, timeout)):
            return None
        return self._await(client.call_async(request), timeout, alive=client.service_is_ready)

    def _feedback(self, handle, cid: str, stage: int, progress: float, message: str,
                  node=None) -> None:
        fb = F(stage=stage, progress=progress, message=message, correlation_id=cid)
        if node is not None:
            fb.node = node
        handle.publish_feedback(fb)
        log_json(self, 'stage', correlation_id=cid, stage=stage, message=message)

    def _decide(self, request, response):
        got = self.board.decide(request.correlation_id,
                                (request.approve, request.operator_id, request.reason))
        if got == 'unknown':
            response.outcome, response.error_code = Decision.OUTCOME_INVALID_INPUT, 104
            response.error_msg = 'no request with that correlation id awaits approval'
            return response
        if got == 'late':
            response.outcome, response.error_code = Decision.OUTCOME_REJECTED, 403
            response.error_msg = 'the decision came too late'
            return response
        self.ledger.record('operator_decision', correlation_id=request.correlation_id,
                           approve=request.approve, operator=request.operator_id,
                           reason=request.reason)
        response.outcome = Decision.OUTCOME_SUCCEEDED
        return response

    # --- the request ---------------------------------------------------------------------
    async def _handle(self, handle):
        # The request runs on its own thread; the executor keeps serving replies, decisions.
        return await self.offload(self._handle_now, handle)

    def _handle_now(self, handle):
        goal = handle.request
        if goal.request_key:
            key = f'{goal.actor_id}\n{goal.request_key}'
            first, event, box = self.keys.claim(key)
            if not first:
                log_json(self, 'duplicate', request_key=goal.request_key, actor=goal.actor_id)
                event.wait(self.p['propose_timeout_s'] + self.p['execute_timeout_s'])
                result = copy.deepcopy(box[0]) if box else R(
                    outcome=R.OUTCOME_TIMEOUT, error_code=105,
                    error_msg='the first request with this key has not finished')
                if result.outcome == R.OUTCOME_SUCCEEDED:
                    handle.succeed()
                else:
                    handle.abort()
                return result
        result = R()
        try:
            result = self._run(handle, goal)
        finally:
            if goal.request_key:
                self.keys.finish(event, box, copy.deepcopy(result))
        if result.outcome == R.OUTCOME_SUCCEEDED:
            handle.succeed()
        elif result.outcome == R.OUTCOME_CANCELED and handle.is_cancel_requested:
            handle.canceled()
        else:
            handle.abort()
        return result

    def _run(self, handle, goal) -> HandleRequest.Result:
        cid = str(uuid.uuid4())
        result = R(correlation_id=cid)

        def end(outcome, code, message):
            result.outcome, result.error_code, result.error_msg = outcome, code, message
            self.ledger.record('outcome', correlation_id=cid, outcome=outcome, code=code,
                               message=message)
            self._feedback(handle, cid, F.STAGE_DONE, 1.0, message or 'done')
            return result

        self.ledger.record('request', correlation_id=cid, actor=goal.actor_id,
                           session=goal.session_id, domain=goal.domain, text=goal.text,
                           request_key=goal.request_key, dry_run=goal.dry_run)
        self._feedback(handle, cid, F.STAGE_RECEIVED, 0.0, 'received')
        if not goal.text.strip():
            return end(R.OUTCOME_INVALID_INPUT, 102, 'empty request text')
        if goal.domain not in DOMAINS:
            return end(R.OUTCOME_INVALID_INPUT, 101, f'unknown domain {goal.domain!r}')
        if goal.context_json:
            try:
                json.loads(goal.context_json)
            except ValueError as exc:
                return end(R.OUTCOME_INVALID_INPUT, 103, f'context_json is not JSON: {exc}')
        history = self.sessions.context(goal.actor_id, goal.session_id)
        decided = anchor_stage(self, cid, goal, result, end)
        if decided is not None:
            self.sessions.add(goal.actor_id, goal.session_id, goal.text)
            return decided
        confirmed = self.confirmations.take(goal.actor_id, goal.session_id, goal.text)
        if confirmed is not None:  # "yes" to the gate's question: the plan it asked about
            self.sessions.add(goal.actor_id, goal.session_id, goal.text)
            self.ledger.record('confirmed', correlation_id=cid, program=confirmed.program,
                               request=history[-1] if history else '')  # what was asked
            plan, confidence = confirmed, 1.0
        else:
            self._feedback(handle, cid, F.STAGE_PROPOSING, 0.1, 'asking the builder')
            proposal = self._call(self.propose, ProposePlan.Request(
                goal=goal.text, domain=goal.domain, actor_id=goal.actor_id,
                session_id=goal.session_id, correlation_id=cid,
                context_json=json.dumps({'history': history, 'extra': goal.context_json})),
                self.p['propose_timeout_s'])
            if proposal is None:
                return end(R.OUTCOME_UNAVAILABLE, 600, 'the builder did not answer')
            self.sessions.add(goal.actor_id, goal.session_id, goal.text)
            questioned = proposal.outcome == ProposePlan.Response.OUTCOME_DEFERRED and \
                proposal.error_code == ErrorCode.INTENT_MISMATCH and proposal.plan.program
            if questioned and self.p['on_mismatch'] == 'operator':
                pass  # the plan goes on to be checked; the gate then sends it to an operator
            elif proposal.outcome == ProposePlan.Response.OUTCOME_DEFERRED:
                result.deferred = True
                result.clarification_question = proposal.clarification_question
                if questioned:
                    self.confirmations.offer(goal.actor_id, goal.session_id, proposal.plan)
                return end(R.OUTCOME_DEFERRED, proposal.error_code, proposal.error_msg or
                           'deferred to a human')
            if proposal.outcome == ProposePlan.Response.OUTCOME_UNAVAILABLE:  # e.g. no world
                return end(R.OUTCOME_UNAVAILABLE, proposal.error_code, proposal.error_msg)
            if proposal.outcome != ProposePlan.Response.OUTCOME_SUCCEEDED and not questioned:
                return end(R.OUTCOME_FAILED, proposal.error_code, proposal.error_msg)
            plan, confidence = proposal.plan, proposal.confidence
        result.plan = plan
        self._feedback(handle, cid, F.STAGE_CHECKING, 0.3, f'checking:\n{plan.program}')
        verdict = self._call(self.check, CheckPlan.Request(plan=plan, repair=True),
                             self.p['check_timeout_s'])
        if verdict is None:
            return end(R.OUTCOME_UNAVAILABLE, 600, 'the plan checker did not answer; '
                                                   'nothing executes without a verdict')
        result.verdict = verdict.verdict
        world = self.live.get() if goal.domain == 'robot' else None
        self.ledger.record('verdict', correlation_id=cid, approved=verdict.verdict.approved,
                           program=plan.program, repairs=list(verdict.repairs),
                           context=world_context(world) if world else '',  # for learning
                           violations=[f'{v.code} {v.node_id}: {v.message}'
                                       for v in verdict.verdict.violations])
        if verdict.outcome == CheckPlan.Response.OUTCOME_UNAVAILABLE:  # e.g. no fresh world
            return end(R.OUTCOME_UNAVAILABLE, verdict.error_code, verdict.error_msg)
        if verdict.outcome != CheckPlan.Response.OUTCOME_SUCCEEDED:
            return end(R.OUTCOME_REJECTED, verdict.error_code or 201, verdict.error_msg)
        if verdict.repaired_plan.nodes:  # the checked plan: its nodes reach the result
            plan = verdict.repaired_plan
            plan.plan_id = plan.plan_id or result.plan.plan_id
            result.plan = plan
        if verdict.repaired:
            self._feedback(handle, cid, F.STAGE_REPAIRING, 0.4,
                           'repaired: ' + '; '.join(verdict.repairs))
        gate = None if confirmed is not None else conform_stage(self, handle, cid, goal, plan,
                                                                 history)
        mismatch = gate is not None and not gate.ok
        if mismatch and self.p['on_mismatch'] == 'defer':
            self.confirmations.offer(goal.actor_id, goal.session_id, plan)
            result.deferred, result.clarification_question = True, gate.question
            return end(R.OUTCOME_DEFERRED, ErrorCode.INTENT_MISMATCH,
                       'the plan does not match the request: ' +
                       '; '.join(m.message for m in gate.mismatches))
        if goal.dry_run:
            return end(R.OUTCOME_SUCCEEDED, 0, '')
        if mismatch or self._needs_operator(plan, confidence):
            why = f' (the plan does not match the request: {gate.question})' if mismatch else ''
            self._feedback(handle, cid, F.STAGE_AWAITING_APPROVAL, 0.45,
                           f'waiting for an operator (approve {cid}){why}')
            decision = self.board.wait(cid, {'text': goal.text, 'actor': goal.actor_id,
                                             'program': plan.program, 'why': why.strip()},
                                       self.p['approval_timeout_s'])
            if decision is None:
                return end(R.OUTCOME_REJECTED, 403, 'no operator decision in time (rejected)')
            if not decision[0]:
                return end(R.OUTCOME_REJECTED, 402, f'operator {decision[1]} rejected: '
                                                    f'{decision[2]}')
            # The approval binds to this plan; the world may have changed while the operator
            # thought, so the plan is checked again (a fresh approval token).
            operator_id = decision[1] or 'operator'
            canonical = print_program(parse_program(plan.program))
            operator = (operator_id, operator_token(canonical, operator_id, self.key))
            verdict = self._call(self.check, CheckPlan.Request(plan=plan),
                                 self.p['check_timeout_s'])
            if verdict is None or verdict.outcome != CheckPlan.Response.OUTCOME_SUCCEEDED:
                why = verdict.error_msg if verdict is not None else 'the checker did not answer'
                return end(R.OUTCOME_REJECTED, 201, f'after the operator approved: {why}')
            result.verdict = verdict.verdict
        else:
            operator = ('', '')
        return self._execute(handle, cid, plan, verdict.verdict, result, end, operator)

    def _needs_operator(self, plan, confidence: float) -> bool:
        skills = {s.strip() for s in self.p['approval_skills'].split(',') if s.strip()}
        try:
            skills |= operator_skills(load_schema(plan.domain))
        except BBError:
            pass  # an unknown domain was refused before it got here
        return confidence < self.p['approve_below'] or bool(
            skills & {line.split('=')[1].split('(')[0].strip() for line in
                      plan.program.splitlines() if '=' in line and '(' in line})

    def _execute(self, handle, cid, plan, verdict, result, end, operator):
        if plan.domain not in ('robot', 'api_json'):
            return end(R.OUTCOME_SUCCEEDED, 0, '')  # bridges run their own domains' plans
        client = self.execute if plan.domain == 'robot' else self.execute_api
        self._feedback(handle, cid, F.STAGE_EXECUTING, 0.5, 'executing')
        if not client.wait_for_server(timeout_sec=2.0):
            if plan.domain == 'api_json':  # approved, and said plainly that it was not made
                return end(R.OUTCOME_UNAVAILABLE, 303, 'the call was approved but not made: '
                                                       'no api_executor is running')
            return end(R.OUTCOME_UNAVAILABLE, 600, 'the executor is not available')
        goal = ExecutePlan.Goal(plan=plan, approval_token=verdict.approval_token,
                                world_hash=verdict.world_hash, correlation_id=cid,
                                operator_id=operator[0], operator_token=operator[1])

        def forward(fb):
            f = fb.feedback
            self._feedback(handle, cid, F.STAGE_EXECUTING, 0.5 + 0.5 * f.progress,
                           f'{f.node.node_id} {f.node.skill}: '
                           f'{NodeState(f.node.state).name.lower()} {f.node.message}'.rstrip(),
                           node=f.node)

        sent = self._await(client.send_goal_async(goal, feedback_callback=forward), 10.0)
        if sent is None or not sent.accepted:
            return end(R.OUTCOME_UNAVAILABLE, 600, 'the executor refused the goal')
        done = self._await(sent.get_result_async(), self.p['execute_timeout_s'],
                           alive=client.server_is_ready)
        if done is None and not client.server_is_ready():
            self.stop_pub.publish(Empty())  # whoever still listens: stop
            return end(R.OUTCOME_UNAVAILABLE, 600, 'the executor went away during the plan; '
                                                   'the robot was told to stop')
        if done is None:
            sent.cancel_goal_async()
            return end(R.OUTCOME_TIMEOUT, 601, 'execution did not finish in time')
        ex = done.result
        result.summary = ex.summary
        return end(ex.outcome, ex.error_code, ex.error_msg)


@clean_exit
def main(args=None) -> int:
    """Entry point of ``agent_node``."""
    ros_init(args)
    return run_node(AgentNode())

"""api_executor_node: carries out approved api_json plans as HTTP calls (a LifecycleNode).

Serves ``api/execute_plan`` (bb_msgs/ExecutePlan) for plans of the ``api_json`` domain. A
goal is admitted like a robot plan (:meth:`~bb_agent.core.check.admission.Admission.
admit_call`: the checker's stamped, fresh, single-use token bound to the canonical call,
the call judged again against the schema, an operator's approval where the schema asks),
then made by :class:`~bb_agent.domains.api_json.client.ApiClient` against ``base_url``.
The reply is the result's one node status message (JSON, capped at ``max_reply_chars``).
With no ``base_url`` nothing is called: every goal is refused as UNAVAILABLE, saying so.
"""

from __future__ import annotations

import json
from pathlib import Path
import time

from rclpy.action import ActionServer, GoalResponse
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn

from bb_agent.core.check.admission import Admission, Refusal
from bb_agent.core.check.approval_key import key_path, load_or_create_key
from bb_agent.core.execution import NodeState
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.schema import load_schema
from bb_agent.domains.api_json.client import ApiClient
from bb_agent.nodes.lifecycle import Offload, autostart, clean_exit, ros_init, run_node
from bb_agent.nodes.logs import log_json
from bb_agent.nodes.params import Param, declare
from bb_msgs.action import ExecutePlan
from bb_msgs.msg import ExecutionSummary, NodeStatus

PARAMS = (
    Param('base_url', '', 'root URL of the API service, e.g. http://127.0.0.1:8080/v1 '
                          '("" = none: every call is refused)'),
    Param('token_file', '', 'file holding the bearer token sent to the service ("" = none)'),
    Param('timeout_s', 5.0, 'per-attempt connect and read timeout (s)', 0.1, 120.0),
    Param('max_reply_bytes', 1048576, 'a longer service reply is refused (bytes)', 256,
          67108864),
    Param('max_reply_chars', 4096, 'reply characters returned in the result', 64, 65536),
    Param('approval_key_file', '', 'approval key file (shared with plan_checker)'),
    Param('token_ttl_s', 30.0, 'an approval token older than this is refused (s)', 1.0, 3600.0),
    Param('autostart', True, 'configure and activate on start'),
)
R = ExecutePlan.Result
OUTCOME_OF = {ErrorCode.DEPENDENCY_UNAVAILABLE: R.OUTCOME_UNAVAILABLE,
              ErrorCode.DEPENDENCY_TIMEOUT: R.OUTCOME_TIMEOUT}


class ApiExecutorNode(LifecycleNode):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__('api_executor')
        self.p = declare(self, PARAMS)
        self.offload = Offload(self)
        self.schema = load_schema('api_json')
        self.admission = Admission(load_or_create_key(key_path(self.p['approval_key_file'])),
                                   token_ttl_s=self.p['token_ttl_s'])
        token = Path(self.p['token_file']).read_text().strip() if self.p['token_file'] else ''
        self.client = ApiClient(self.p['base_url'], token, self.p['timeout_s'],
                                self.p['max_reply_bytes']) if self.p['base_url'] else None
        self.active = False
        self.server = ActionServer(self, ExecutePlan, 'api/execute_plan', self._execute,
                                   goal_callback=self._goal,
                                   callback_group=self.offload.group)

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Nothing to load beyond the parameters (read at start)."""
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Accept plans."""
        self.active = True
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Refuse new plans (a call in flight finishes: it cannot be taken back)."""
        self.active = False
        return TransitionCallbackReturn.SUCCESS

    def _goal(self, _goal) -> GoalResponse:
        return GoalResponse.ACCEPT if self.active else GoalResponse.REJECT

    async def _execute(self, handle):
        return await self.offload(self._run, handle)

    def _run(self, handle):
        goal, started = handle.request, time.monotonic()
        plan = goal.plan
        outcome, code, message, reply = self._call(goal)
        status = NodeStatus(plan_id=plan.plan_id, node_id='call', skill=_endpoint(plan.program),
                            state=int(NodeState.SUCCEEDED if outcome == R.OUTCOME_SUCCEEDED
                                      else NodeState.FAILED), attempt=1,
                            elapsed_s=time.monotonic() - started, error_code=int(code),
                            message=reply[:self.p['max_reply_chars']])
        summary = ExecutionSummary(plan_id=plan.plan_id, nodes_total=1,
                                   nodes_succeeded=int(outcome == R.OUTCOME_SUCCEEDED),
                                   nodes_failed=int(outcome != R.OUTCOME_SUCCEEDED),
                                   duration_s=time.monotonic() - started, nodes=[status])
        log_json(self, 'api_call', correlation_id=goal.correlation_id, plan_id=plan.plan_id,
                 outcome=outcome, error=ErrorCode(code).name, message=message)
        (handle.succeed if outcome == R.OUTCOME_SUCCEEDED else handle.abort)()
        return R(outcome=outcome, error_code=int(code), error_msg=message, summary=summary)

    def _call(self, goal) -> tuple[int, ErrorCode, str, str]:
        """Return (outcome, error code, message, reply JSON) of one goal."""
        if goal.plan.domain != 'api_json':
            return (R.OUTCOME_INVALID_INPUT, ErrorCode.UNKNOWN_DOMAIN,
                    f'api_executor runs api_json plans, not {goal.plan.domain!r}', '')
        # checked before admission, which consumes the single-use token: a call that
        # cannot be made must leave its token usable once a service is configured
        if self.client is None:
            return (R.OUTCOME_UNAVAILABLE, ErrorCode.ADAPTER_UNAVAILABLE,
                    'no API service configured (api_executor base_url is empty)', '')
        admitted = self.admission.admit_call(
            program=goal.plan.program, schema=self.schema, token=goal.approval_token,
            world_hash=goal.world_hash, operator_id=goal.operator_id,
            operator_tok=goal.operator_token, now_s=time.time())
        if isinstance(admitted, Refusal):
            return R.OUTCOME_REJECTED, admitted.code, admitted.message, ''
        result = self.client.call(admitted, self.schema)
        reply = json.dumps(result.body) if result.body is not None else ''
        if result.ok:
            return R.OUTCOME_SUCCEEDED, ErrorCode.NONE, '', reply
        return (OUTCOME_OF.get(result.error, R.OUTCOME_FAILED), result.error,
                f'{result.message} (after {result.attempts} attempt(s))', reply)


def _endpoint(program: str) -> str:
    try:
        return str(json.loads(program).get('endpoint', ''))[:64]
    except (ValueError, AttributeError):
        return ''


@clean_exit
def main(args=None) -> int:
    """Entry point of ``api_executor_node``."""
    ros_init(args)
    try:
        node = ApiExecutorNode()
    except (BBError, OSError) as exc:
        print(f'api_executor: {exc}', flush=True)
        return 2
    autostart(node)
    return run_node(node)

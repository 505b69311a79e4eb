"""The executor's default skill adapter: the robot's ``skill`` action (bb_msgs/Skill).

Blocking calls from the engine's worker threads; the node's executor spins the client.
Fails fast (ADAPTER_UNAVAILABLE) when the robot's state heartbeat goes silent, so a
crashed robot process ends the plan in well under a second instead of at the timeout.
"""

from __future__ import annotations

from collections.abc import Callable
import json
import threading
import time

from rclpy.action import ActionClient

from bb_agent.core.execution import SkillResult
from bb_agent.core.outcomes import ErrorCode
from bb_msgs.action import Skill
from bb_msgs.msg import Argument

POLL_S = 0.01


class SkillActionAdapter:
    """Dispatches skills as goals of the ``skill`` action.

    Args:
        node: the owning node.
        alive: returns False when the robot's heartbeat is stale.
        action: action name.
    """

    def __init__(self, node, alive: Callable[[], bool], action: str = 'skill') -> None:
        self.node, self.alive = node, alive
        self.client = ActionClient(node, Skill, action)
        self.plan_id = ''
        self.correlation_id = ''

    @staticmethod
    def supports(skill: str) -> bool:
        """Return True: the robot's Skill action answers for every skill itself."""
        return True

    def begin(self, plan_id: str, correlation_id: str) -> None:
        """Tag the next goals with their plan and correlation id."""
        self.plan_id, self.correlation_id = plan_id, correlation_id

    def _wait(self, future, deadline: float, cancel: threading.Event) -> str:
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        while not done.wait(POLL_S):
            if cancel.is_set():
                return 'cancel'
            if not self.alive():
                return 'dead'
            if time.monotonic() > deadline:
                return 'timeout'
        return 'done'

    def __call__(self, node_id: str, skill: str, args: dict, timeout_s: float,
                 cancel: threading.Event) -> SkillResult:
        """Run one attempt; see :data:`bb_agent.core.execution.Dispatch`."""
        if not self.alive() or not self.client.server_is_ready():
            return SkillResult(False, ErrorCode.ADAPTER_UNAVAILABLE,
                               'the robot (skill action) is not reachable')
        goal = Skill.Goal(skill=skill, plan_id=self.plan_id, node_id=node_id,
                          correlation_id=self.correlation_id, timeout_s=float(timeout_s),
                          arguments=[Argument(name=k, value_json=json.dumps(v))
                                     for k, v in args.items()])
        deadline = time.monotonic() + timeout_s + 0.5  # the robot times itself out first
        sent = self.client.send_goal_async(goal)
        state = self._wait(sent, deadline, cancel)
        if state != 'done':
            return self._ended(state, None, skill)
        handle = sent.result()
        if not handle.accepted:
            return SkillResult(False, ErrorCode.ADAPTER_UNAVAILABLE, f'{skill}: goal refused')
        result_future = handle.get_result_async()
        state = self._wait(result_future, deadline, cancel)
        if state != 'done':
            handle.cancel_goal_async()
            return self._ended(state, handle, skill)
        result = result_future.result().result
        if result.outcome == Skill.Result.OUTCOME_SUCCEEDED:
            return SkillResult(True, result=json.loads(result.result_json or '{}'))
        code = ErrorCode(result.error_code) if result.error_code in ErrorCode._value2member_map_ \
            else ErrorCode.SKILL_FAILED
        return SkillResult(False, code, result.error_msg or f'{skill} failed')

    @staticmethod
    def _ended(state: str, handle, skill: str) -> SkillResult:
        if state == 'dead':
            return SkillResult(False, ErrorCode.ADAPTER_UNAVAILABLE,
                               f'{skill}: the robot stopped answering (state heartbeat lost)')
        if state == 'timeout':
            return SkillResult(False, ErrorCode.SKILL_TIMEOUT, f'{skill}: no result in time')
        return SkillResult(False, ErrorCode.SKILL_FAILED, f'{skill}: canceled')

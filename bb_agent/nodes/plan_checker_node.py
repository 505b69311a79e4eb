"""plan_checker_node: serves ``check`` (bb_msgs/CheckPlan) with the core checker.

Checks against the request's world state, else the latest ``world_state`` it subscribes
to (a robot plan with neither is answered UNAVAILABLE: no check without a world). Verdicts
are cached (LRU + TTL); approval tokens are HMAC'd with the approval key shared with the
executor (:mod:`bb_agent.core.check.approval_key`).
"""

from __future__ import annotations

import threading
import uuid

from rclpy.node import Node

from bb_agent.core.check.approval_key import key_path, load_or_create_key
from bb_agent.core.check.check_service import CheckService, rejection_code
from bb_agent.core.outcomes import BBError
from bb_agent.nodes.convert import msg_to_world, plan_to_msg, verdict_to_msg
from bb_agent.nodes.latest import Latest
from bb_agent.nodes.lifecycle import Offload, clean_exit, ros_init, run_node
from bb_agent.nodes.logs import log_json
from bb_agent.nodes.params import Param, declare
from bb_msgs.msg import WorldState
from bb_msgs.srv import CheckPlan

PARAMS = (
    Param('approval_key_file', '', 'approval key file ("" = $BB_AGENT_APPROVAL_KEY_FILE or '
                                   '$ROS_HOME/bb_agent/approval.key)'),
    Param('cache_size', 256, 'verdicts kept', 1, 100000),
    Param('cache_ttl_s', 30.0, 'verdict lifetime (s)', 0.0, 3600.0),
    Param('world_max_age_s', 2.0, 'live world older than this is unavailable (s)', 0.01, 600.0),
    Param('world_wait_s', 1.0, 'a check with no fresh live world waits this long for one '
                               'before answering UNAVAILABLE (s)', 0.0, 10.0),
)
WORLD_DOMAINS = ('robot',)
Resp = CheckPlan.Response  # domains whose plans are checked against a world state


class PlanCheckerNode(Node):
    """See the module docstring."""

    def __init__(self, **node_kwargs) -> None:
        super().__init__('plan_checker', **node_kwargs)
        self.p = declare(self, PARAMS)
        key = load_or_create_key(key_path(self.p['approval_key_file']))
        self.service = CheckService(key, cache_size=self.p['cache_size'],
                                    cache_ttl_s=self.p['cache_ttl_s'])
        self.live = Latest()  # the world_state message
        self.offload = Offload(self)
        self.checking = threading.Lock()  # checks one at a time, as the cache expects
        self.create_subscription(WorldState, 'world_state', self.live.put, 10)
        self.create_service(CheckPlan, 'check', self._check,
                            callback_group=self.offload.group)

    async def _check(self, request, response):
        # Off the executor: a check may wait for a fresh world, which the executor delivers.
        return await self.offload(self._check_now, request, response)

    def _check_now(self, request, response):
        plan = request.plan
        cid = plan.plan_id or str(uuid.uuid4())
        try:
            world = None
            if request.world_state:
                world = msg_to_world(request.world_state[0])
            elif plan.domain in WORLD_DOMAINS:
                live = self.live.fresh(self.p['world_max_age_s'], self.p['world_wait_s'])
                if live is None:
                    response.outcome, response.error_code = Resp.OUTCOME_UNAVAILABLE, 401
                    response.error_msg = 'no fresh world state to check against'
                    return response
                world = msg_to_world(live)
            with self.checking:
                result = self.service.check(plan.program, plan.domain, world,
                                            budget_s=request.budget_s, repair=request.repair)
        except BBError as exc:
            response.outcome, response.error_code = Resp.OUTCOME_INVALID_INPUT, int(exc.code)
            response.error_msg = exc.message
            return response
        except ValueError as exc:  # a malformed world state message
            response.outcome, response.error_code = Resp.OUTCOME_INVALID_INPUT, 104
            response.error_msg = f'invalid world state: {exc}'
            return response
        stamp = self.get_clock().now().to_msg()
        response.verdict = verdict_to_msg(result.verdict, stamp)
        response.repaired, response.repairs = result.repaired, list(result.repairs)
        if result.verdict.graph is not None:  # the checked plan, with its flattened nodes
            response.repaired_plan = plan_to_msg(result.verdict, plan_id=cid,
                                                 domain=plan.domain,
                                                 grammar_hash=plan.grammar_hash, stamp=stamp,
                                                 effective=result.effective)
        approved = result.verdict.approved
        response.outcome = Resp.OUTCOME_SUCCEEDED if approved else Resp.OUTCOME_REJECTED
        response.error_code = int(rejection_code(result.verdict))
        response.error_msg = '' if approved else '; '.join(
            f'{v.code.name} {v.node_id}: {v.message}' for v in result.verdict.violations
            if v.blocking)
        log_json(self, 'check', plan_id=cid, domain=plan.domain, approved=approved,
                 cached=result.cached, violations=[v.code.name for v in
                                                   result.verdict.violations])
        return response


@clean_exit
def main(args=None) -> int:
    """Entry point of ``plan_checker_node``."""
    ros_init(args)
    return run_node(PlanCheckerNode())

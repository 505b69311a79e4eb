"""What the web console shows, gathered from the stack's topics (thread-safe snapshots).

Subscribes to ``safety/status`` (V_s, level, latch, reasons), ``world_state`` (objects,
bins, people, the end effector), ``execution/status`` (the running or last plan's node
states), ``approvals/pending`` and ``ledger/events`` (the agent's operator board), and
calls ``safety/stop`` (latch STOP) and ``approve`` (an operator's decision).
"""

from __future__ import annotations

from collections import deque
import json
import threading
import time

from std_msgs.msg import String
from std_srvs.srv import Trigger

from bb_agent.nodes.qos import LATCHED, RECENT
from bb_agent.nodes.spun import wait_future
from bb_msgs.msg import NodeStatus, SafetyStatus, WorldState
from bb_msgs.srv import OperatorDecision

STATES = ('pending', 'running', 'retrying', 'succeeded', 'failed', 'skipped', 'canceled')
LEVELS = ('OK', 'WARN', 'STOP')


class ConsoleState:
    """The console's view of the stack, kept current by subscriptions on ``node``."""

    def __init__(self, node, ledger_rows: int = 20) -> None:
        self.lock = threading.Lock()
        self.safety: dict = {}
        self.world: dict = {}
        self.plan: dict = {'plan_id': '', 'nodes': {}}
        self.pending: list = []
        self.ledger: deque = deque(maxlen=ledger_rows)
        node.create_subscription(SafetyStatus, 'safety/status', self._safety, 10)
        node.create_subscription(WorldState, 'world_state', self._world, 10)
        node.create_subscription(NodeStatus, 'execution/status', self._node, 50)
        node.create_subscription(String, 'approvals/pending', self._pending, LATCHED)
        node.create_subscription(String, 'ledger/events', self._event, RECENT)
        self.stop_client = node.create_client(Trigger, 'safety/stop')
        self.approve_client = node.create_client(OperatorDecision, 'approve')

    def _safety(self, msg: SafetyStatus) -> None:
        with self.lock:
            self.safety = {'v_s': msg.v_s, 'v_s_dot': msg.v_s_dot,
                           'threshold': msg.threshold, 'level': LEVELS[min(msg.level, 2)],
                           'latched': msg.latched, 'reasons': list(msg.reasons),
                           'received': time.time()}

    def _world(self, msg: WorldState) -> None:
        ee = msg.robot.end_effector.position
        objects = [{'id': o.id, 'kind': o.kind, 'x': o.pose.position.x,
                    'y': o.pose.position.y, 'z': o.pose.position.z,
                    'size': [o.size.x, o.size.y, o.size.z]} for o in msg.objects]
        with self.lock:
            self.world = {'objects': objects, 'ee': [ee.x, ee.y, ee.z],
                          'received': time.time()}

    def _node(self, msg: NodeStatus) -> None:
        with self.lock:
            if msg.plan_id != self.plan['plan_id']:
                self.plan = {'plan_id': msg.plan_id, 'nodes': {}}
            self.plan['nodes'][msg.node_id] = {
                'skill': msg.skill, 'state': STATES[min(msg.state, len(STATES) - 1)],
                'attempt': msg.attempt, 'message': msg.message}

    def _pending(self, msg: String) -> None:
        with self.lock:
            self.pending = json.loads(msg.data or '[]')

    def _event(self, msg: String) -> None:
        with self.lock:
            self.ledger.appendleft(json.loads(msg.data))

    def snapshot(self) -> dict:
        """Return everything the console draws (JSON-ready)."""
        with self.lock:
            return {'safety': dict(self.safety), 'world': dict(self.world),
                    'plan': {'plan_id': self.plan['plan_id'],
                             'nodes': [{'id': k, **v} for k, v in self.plan['nodes'].items()]},
                    'pending': list(self.pending), 'ledger': list(self.ledger),
                    'now': time.time()}

    def stop(self, who: str) -> tuple[bool, str]:
        """Latch STOP through the safety monitor; return (done, message)."""
        if not self.stop_client.wait_for_service(timeout_sec=2.0):
            return False, 'the safety monitor (safety/stop) is not reachable'
        answer = wait_future(self.stop_client.call_async(Trigger.Request()), 5.0)
        if answer is None:
            return False, 'the safety monitor did not answer'
        return bool(answer.success), f'{answer.message} (by {who})'

    def decide(self, cid: str, approve: bool, who: str, reason: str) -> tuple[bool, str]:
        """Send an operator's decision to the agent; return (applied, message)."""
        if not self.approve_client.wait_for_service(timeout_sec=2.0):
            return False, 'the agent (approve) is not reachable'
        req = OperatorDecision.Request(correlation_id=cid, approve=approve, operator_id=who,
                                       reason=reason)
        answer = wait_future(self.approve_client.call_async(req), 5.0)
        if answer is None:
            return False, 'the agent did not answer'
        return answer.outcome == OperatorDecision.Response.OUTCOME_SUCCEEDED, \
            answer.error_msg or ('approved' if approve else 'rejected')

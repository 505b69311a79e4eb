"""executor_node: the ``execute_plan`` action (bb_msgs/ExecutePlan), a LifecycleNode.

Admission (:mod:`bb_agent.core.check.admission`): the checker's stamped approval token must
verify, be fresh (``token_ttl_s``) and unused; the plan is re-checked against this node's
own live ``world_state``; skills that need an operator need an operator token bound to the
plan. Before every motion step the step is judged again on the live state by the same
safety model, and a fresh ``safety/status`` heartbeat is required; a heartbeat that goes
stale mid-plan stops the robot (a hung monitor protects nothing). Runs the plan with
:class:`~bb_agent.core.execution.Engine` through the
skill adapters the parameters route each skill to (the robot's Skill action by default;
JointTrajectory and Twist topic adapters for motion skills); conditions are evaluated on
the live ``world_state``; ``estop`` (transient local) preempts within one engine poll
(10-50 ms). Publishes every node state on ``execution/status`` and the plan graph on
``markers/plan``; stop commands go to ``robot/stop``.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn
from std_msgs.msg import Bool, Empty
from visualization_msgs.msg import MarkerArray

from bb_agent.core.check.admission import Admission, Refusal, precheck_step
from bb_agent.core.check.approval_key import key_path, load_or_create_key
from bb_agent.core.check.check_sim import eval_cond
from bb_agent.core.check.plan_graph import topological_order
from bb_agent.core.execution import (
    CircuitBreaker,
    Engine,
    ExecOutcome,
    NodeState,
    RetryPolicy,
    SkillResult,
)
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.schema import load_schema
from bb_agent.core.world import World
from bb_agent.nodes.latest import LiveWorld
from bb_agent.nodes.lifecycle import Offload, autostart, clean_exit, ros_init, run_node
from bb_agent.nodes.logs import log_json
from bb_agent.nodes.markers import plan_markers
from bb_agent.nodes.motion_adapters import PARAMS as ADAPTER_PARAMS
from bb_agent.nodes.motion_adapters import make_router
from bb_agent.nodes.params import Param, declare
from bb_agent.nodes.qos import LATCHED
from bb_msgs.action import ExecutePlan
from bb_msgs.msg import ExecutionSummary, NodeStatus, SafetyStatus, WorldState

PARAMS = (
    Param('approval_key_file', '', 'approval key file (shared with plan_checker)'),
    Param('backoff_s', [1.0, 2.0, 4.0, 8.0], 'wait before retry 1, 2, 3, 4+ (s)', 0.0, 600.0),
    Param('breaker_failures', 3, 'consecutive failures of a skill that open its breaker',
          1, 100),
    Param('breaker_cooldown_s', 30.0, 'how long an open breaker refuses its skill (s)',
          0.0, 3600.0),
    Param('heartbeat_timeout_s', 0.5, 'robot state silence that marks the adapter dead (s)',
          0.05, 60.0),
    Param('max_parallel', 4, 'nodes dispatched at once', 1, 64),
    Param('approval_skills', '', 'comma-separated skills that need an operator token besides '
          "the schema's operator skills (config/nodes/operator.yaml, shared with the agent)"),
    Param('token_ttl_s', 30.0, 'an approval token older than this is refused (s)', 1.0, 3600.0),
    Param('monitor_timeout_s', 0.25, 'safety/status silence that stops motion (s)', 0.02, 5.0),
    Param('start_wait_s', 3.0, 'a plan that meets the start-up STOP (the monitor has no '
          'first state yet) waits this long for it to clear (s)', 0.0, 30.0),
    Param('autostart', True, 'configure and activate on start'),
    *ADAPTER_PARAMS,
)
R = ExecutePlan.Result


class ExecutorNode(LifecycleNode):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__('executor')
        self.p = declare(self, PARAMS)
        self.offload = Offload(self)
        self.key = load_or_create_key(key_path(self.p['approval_key_file']))
        self.active = threading.Event()
        self.lock = threading.Lock()
        self.live = LiveWorld()
        self.estop = threading.Event()
        self.canceled: set[bytes] = set()  # goal ids whose cancel came before their engine
        self.running_id = b''  # goal id of ``running``
        self.running: Engine | None = None
        self.policy = RetryPolicy(tuple(self.p['backoff_s']), self.p['breaker_failures'],
                                  self.p['breaker_cooldown_s'], self.p['max_parallel'])
        self.breaker = CircuitBreaker(self.policy.breaker_failures,
                                      self.policy.breaker_cooldown_s)
        self.status_pub = self.create_publisher(NodeStatus, 'execution/status', 50)
        self.marker_pub = self.create_publisher(MarkerArray, 'markers/plan', 5)
        self.stop_pub = self.create_publisher(Empty, 'robot/stop', 10)
        self.create_subscription(WorldState, 'world_state', self.live.put, 10)
        self.create_subscription(Bool, 'estop', self._estop, LATCHED)
        self.heartbeat = -math.inf  # time.monotonic() of the newest safety/status
        self.safety: SafetyStatus | None = None  # the newest safety/status
        self.create_subscription(SafetyStatus, 'safety/status', self._heartbeat, 10)
        self.admission = Admission(self.key, token_ttl_s=self.p['token_ttl_s'], extra_operator=(
            s.strip() for s in self.p['approval_skills'].split(',') if s.strip()))
        self.watchdog = self.create_timer(0.02, self._watch)
        self.adapter = make_router(self, self.p, self.live.get, self._alive,
                                   self.p['heartbeat_timeout_s'])
        self.server = ActionServer(self, ExecutePlan, 'execute_plan', self._execute,
                                   goal_callback=self._goal, cancel_callback=self._cancel,
                                   callback_group=self.offload.group)

    def destroy_node(self) -> None:
        """Stop a running plan first (robot stop, safe pose), then go: no traceback at exit."""
        engine = getattr(self, 'running', None)  # None too when the constructor failed
        if engine is not None:
            self._stop_robot()
            engine.request_stop(ExecOutcome.STOPPED, ErrorCode.DEPENDENCY_UNAVAILABLE,
                                'the executor is shutting down')
            deadline = time.monotonic() + 2.0
            while getattr(self, 'running', None) is not None and time.monotonic() < deadline:
                time.sleep(0.01)
        super().destroy_node()

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Nothing to load beyond the parameters (checked at start)."""
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Accept plans."""
        self.active.set()
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Refuse new plans; preempt the running one (safe pose + stop)."""
        self.active.clear()
        engine = self.running
        if engine is not None:
            engine.request_stop(ExecOutcome.CANCELED, ErrorCode.DEPENDENCY_UNAVAILABLE,
                                'executor deactivated')
        return TransitionCallbackReturn.SUCCESS

    # --- inputs ----------------------------------------------------------------------------
    def _alive(self) -> bool:
        return self.live.age() < self.p['heartbeat_timeout_s']

    def _estop(self, msg: Bool) -> None:
        (self.estop.set if msg.data else self.estop.clear)()
        engine = self.running
        if msg.data and engine is not None:
            engine.request_stop(ExecOutcome.STOPPED, ErrorCode.SAFETY_STOP,
                                'preempted by the safety monitor (STOP)')

    def _stop_robot(self) -> None:
        """Command the robot to stop (quietly nothing once the context has gone)."""
        with contextlib.suppress(Exception):
            self.stop_pub.publish(Empty())

    def _heartbeat(self, msg: SafetyStatus) -> None:
        self.heartbeat = time.monotonic()
        self.safety = msg

    def _stop_refusal(self) -> str | None:
        """Return why STOP holds the plan back, or None once it is clear.

        A monitor that is up but has not judged a first state yet holds STOP without a
        latch (start-up); a plan sent right after bring-up waits up to ``start_wait_s`` for
        it to clear, nothing moving meanwhile. A latched STOP is refused at once.
        """
        deadline = time.monotonic() + self.p['start_wait_s']
        # estop, or the status's own level: an executor started after the monitor may hear
        # safety/status before the latched estop sample reaches it (fail closed on either)
        while self.estop.is_set() or (self.safety is not None and
                                      self.safety.level == SafetyStatus.LEVEL_STOP):
            status = self.safety
            if (status is not None and status.latched) or time.monotonic() >= deadline:
                why = '; '.join(status.reasons) if status is not None else \
                    'no safety status received'
                return (f'STOP is latched ({why}); nothing moves until it is reset'
                        if status is not None and status.latched else
                        f'STOP holds: the safety monitor has not cleared the start ({why})')
            time.sleep(0.02)
        return None

    def _heartbeat_age(self) -> float:
        return time.monotonic() - self.heartbeat

    def _watch(self) -> None:
        """Stop a running plan when the safety monitor falls silent (fail closed)."""
        engine, age = self.running, self._heartbeat_age()
        if engine is not None and age > self.p['monitor_timeout_s'] and \
                not engine.stop.is_set():
            self._stop_robot()
            engine.request_stop(ExecOutcome.STOPPED, ErrorCode.SAFETY_STOP,
                                f'no safety-monitor heartbeat for {age:.2f} s; stopped')

    def _precheck(self, schema):
        def check(node_id, skill, args):
            refusal = precheck_step(node_id, skill, args, schema, self.live.fresh_world(
                self.p['heartbeat_timeout_s']), self._heartbeat_age(),
                self.p['monitor_timeout_s'])
            if refusal is None:
                return None
            return SkillResult(False, refusal.code, refusal.message)
        return check

    def _goal(self, _goal) -> GoalResponse:
        return GoalResponse.ACCEPT if self.active.is_set() else GoalResponse.REJECT

    def _cancel(self, handle) -> CancelResponse:
        goal_id = bytes(handle.goal_id.uuid)
        with self.lock:
            engine = self.running if goal_id == self.running_id else None
            if engine is None:
                self.canceled.add(goal_id)  # not running yet: its engine starts canceled
        if engine is not None:
            engine.request_stop(ExecOutcome.CANCELED, ErrorCode.NONE, 'canceled by the client')
        return CancelResponse.ACCEPT

    # --- execution -------------------------------------------------------------------------
    def _verify(self, goal) -> tuple | tuple[int, ErrorCode, str]:
        """Return (schema, graph, effective args) when the plan is admitted, else a refusal."""
        plan = goal.plan
        try:
            schema = load_schema(plan.domain)
        except BBError as exc:
            return R.OUTCOME_INVALID_INPUT, exc.code, f'plan unreadable: {exc}'
        if plan.schema_hash and plan.schema_hash != schema.sha256:
            return R.OUTCOME_REJECTED, ErrorCode.TOKEN_INVALID, \
                'plan was checked against another schema version'
        live = self.live.fresh_world(self.p['heartbeat_timeout_s'])
        if live is None:
            return R.OUTCOME_UNAVAILABLE, ErrorCode.STATE_STALE, \
                'no fresh robot/world state; nothing executes without one'
        got = self.admission.admit(program=plan.program, schema=schema,
                                   token=goal.approval_token, world_hash=goal.world_hash,
                                   operator_id=goal.operator_id,
                                   operator_tok=goal.operator_token, live=live,
                                   now_s=time.time())
        if isinstance(got, Refusal):
            outcome = R.OUTCOME_INVALID_INPUT if got.code is ErrorCode.PARSE_ERROR \
                else R.OUTCOME_REJECTED
            return outcome, got.code, got.message
        return schema, got.graph, got.effective

    def _publish_status(self, plan_id: str, report, graph) -> None:
        msg = NodeStatus(plan_id=plan_id, node_id=report.node_id, skill=report.skill,
                         state=int(report.state), attempt=report.attempt,
                         elapsed_s=report.elapsed_s, error_code=int(report.error_code),
                         message=report.message)
        with contextlib.suppress(Exception):  # the context is going down: nobody listens
            self.status_pub.publish(msg)
        return msg

    def _condition(self, node, schema) -> bool:
        world = self.live.get() or World()
        return eval_cond(node.cond, world, schema)

    async def _execute(self, handle):
        # The plan runs on its own thread; the executor keeps serving estop, state, cancels.
        return await self.offload(self._run_plan, handle)

    def _run_plan(self, handle):
        goal, result = handle.request, ExecutePlan.Result()
        plan_id, cid = goal.plan.plan_id, goal.correlation_id
        # Arguments and conditions resolve against the live world: none, nothing runs (a
        # just-started executor waits a moment for its first state).
        if self.live.fresh(self.p['heartbeat_timeout_s'], wait_s=3.0) is None:
            result.outcome, result.error_code = R.OUTCOME_UNAVAILABLE, int(ErrorCode.STATE_STALE)
            result.error_msg = 'no fresh robot/world state; nothing executes without one'
            handle.abort()
            return result
        # Likewise the safety monitor's heartbeat (a just-started executor may not have
        # matched it yet); without one, nothing moves.
        deadline = time.monotonic() + 3.0
        while self._heartbeat_age() > self.p['monitor_timeout_s'] and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        if self._heartbeat_age() > self.p['monitor_timeout_s']:
            result.outcome, result.error_code = R.OUTCOME_UNAVAILABLE, int(ErrorCode.SAFETY_STOP)
            result.error_msg = ('no safety-monitor heartbeat (safety/status); nothing moves '
                                'unmonitored')
            handle.abort()
            return result
        checked = self._verify(goal)
        if isinstance(checked[2], str):  # (outcome, code, why): refused
            result.outcome, code, result.error_msg = checked
            result.error_code = int(code)
            log_json(self, 'refused', level='warn', correlation_id=cid, plan_id=plan_id,
                     reason=result.error_msg)
            handle.abort()
            return result
        schema, graph, effective = checked
        unsupported = self.adapter.unsupported(n.skill for n in graph.nodes)
        if unsupported:
            result.outcome, result.error_code = R.OUTCOME_REJECTED, int(ErrorCode.UNKNOWN_SKILL)
            result.error_msg = f'the configured adapters cannot run: {", ".join(unsupported)}'
            log_json(self, 'refused', level='warn', correlation_id=cid, plan_id=plan_id,
                     reason=result.error_msg)
            handle.abort()
            return result
        order, _ = topological_order(graph)
        skills = {n.id: n.skill for n in graph.nodes}
        deps = {n.id: list(n.depends_on) for n in graph.nodes}
        states: dict[str, NodeState] = {}

        def on_status(report):
            states[report.node_id] = report.state
            msg = self._publish_status(plan_id, report, graph)
            done = sum(s in (NodeState.SUCCEEDED, NodeState.FAILED, NodeState.SKIPPED,
                             NodeState.CANCELED) for s in states.values())
            with contextlib.suppress(Exception):  # the context may be going down meanwhile
                handle.publish_feedback(ExecutePlan.Feedback(
                    node=msg, progress=done / len(graph.nodes)))
                self.marker_pub.publish(plan_markers(order, skills, deps, states,
                                                     self.get_clock().now().to_msg()))

        self.adapter.begin(plan_id, cid)
        engine = Engine(graph, schema, effective, self.adapter,
                        lambda node: self._condition(node, schema),
                        policy=self.policy, breaker=self.breaker, on_status=on_status,
                        stop_robot=self._stop_robot,
                        precheck=self._precheck(schema))
        with self.lock:
            if self.running is not None:
                result.outcome, result.error_code = R.OUTCOME_UNAVAILABLE, 304
                result.error_msg = 'another plan is executing'
                handle.abort()
                return result
            self.running, self.running_id = engine, bytes(handle.goal_id.uuid)
            canceled = self.running_id in self.canceled
            self.canceled.clear()  # stale ids: goals never run concurrently here
        refusal = self._stop_refusal()
        if refusal is not None:
            engine.request_stop(ExecOutcome.STOPPED, ErrorCode.SAFETY_STOP, refusal)
        elif canceled or handle.is_cancel_requested:  # before the engine was registered
            engine.request_stop(ExecOutcome.CANCELED, ErrorCode.NONE, 'canceled by the client')
        log_json(self, 'execute', correlation_id=cid, plan_id=plan_id, nodes=len(graph.nodes))
        start = time.monotonic()
        try:
            outcome = engine.run()
        finally:
            with self.lock:
                self.running, self.running_id = None, b''
        result.outcome, result.error_code = int(outcome.outcome), int(outcome.error_code)
        result.error_msg = outcome.message
        result.summary = _summary(plan_id, outcome, time.monotonic() - start,
                                  [self._publish_status(plan_id, r, graph)
                                   for r in outcome.nodes.values()])
        log_json(self, 'executed', correlation_id=cid, plan_id=plan_id,
                 outcome=outcome.outcome.name, error=outcome.error_code.name,
                 fallback=outcome.fallback, message=outcome.message)
        if outcome.outcome is ExecOutcome.SUCCEEDED:
            handle.succeed()
        elif outcome.outcome is ExecOutcome.CANCELED and handle.is_cancel_requested:
            handle.canceled()
        else:
            handle.abort()
        return result


def _summary(plan_id, outcome, duration, statuses) -> ExecutionSummary:
    counts = {s: sum(r.state is s for r in outcome.nodes.values()) for s in NodeState}
    return ExecutionSummary(
        plan_id=plan_id, nodes_total=len(outcome.nodes),
        nodes_succeeded=counts[NodeState.SUCCEEDED], nodes_failed=counts[NodeState.FAILED],
        nodes_skipped=counts[NodeState.SKIPPED] + counts[NodeState.CANCELED],
        retries=sum(max(0, r.attempt - 1) for r in outcome.nodes.values()),
        safe_pose_commanded=bool(outcome.fallback), duration_s=duration, nodes=statuses)


@clean_exit
def main(args=None) -> int:
    """Entry point of ``executor_node``."""
    ros_init(args)
    node = ExecutorNode()
    autostart(node)
    return run_node(node)

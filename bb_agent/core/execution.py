"""The executor's engine: runs an approved plan graph through skill adapters.

Pure Python (threads, no rclpy): the executor node wraps it in an action server.

- Nodes run when every dependency is final; independent nodes run in parallel, each holding
  its skill's resource locks (the checker already proved no two concurrent nodes share
  one, so the locks are a second line of defence).
- Branch nodes (``if``) evaluate their condition on live state when they run; nodes whose
  guard does not match are SKIPPED.
- Every attempt has a timeout (the node's ``@timeout`` or the skill's default). A failed
  attempt is retried (``@retries`` or the skill's policy) after an exponential backoff
  (1, 2, 4, 8 s by default); only the failed node is retried, finished nodes are kept.
- A per-skill circuit breaker opens after N consecutive failed attempts and refuses that
  skill for a cooldown.
- A failed non-optional node fails the plan: running nodes are cancelled, the rest are
  SKIPPED, then the safe pose of the failed skill (or the domain's) runs and the robot is
  told to stop. A STOP request preempts everything the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
import enum
import threading
import time

from bb_agent.core.check.plan_graph import PlanGraph, PlanNode
from bb_agent.core.dsl import program as p
from bb_agent.core.outcomes import ErrorCode, Outcome
from bb_agent.core.schema import DomainSchema


class NodeState(enum.IntEnum):
    """Values equal ``bb_msgs/msg/NodeStatus`` ``STATE_*``."""

    PENDING = 0
    RUNNING = 1
    RETRYING = 2
    SUCCEEDED = 3
    FAILED = 4
    SKIPPED = 5
    CANCELED = 6


# Failures a retry cannot fix: fail the node at once (a dead adapter must end the plan fast).
PERMANENT = frozenset({ErrorCode.ADAPTER_UNAVAILABLE, ErrorCode.UNKNOWN_SKILL,
                       ErrorCode.SAFETY_STOP, ErrorCode.CIRCUIT_OPEN})
FINAL = (NodeState.SUCCEEDED, NodeState.FAILED, NodeState.SKIPPED, NodeState.CANCELED)


ExecOutcome = Outcome  # ExecutePlan's OUTCOME_* are the shared outcome codes


@dataclass(frozen=True)
class SkillResult:
    """What one skill attempt returned (an adapter's answer)."""

    ok: bool
    error_code: ErrorCode = ErrorCode.NONE
    message: str = ''
    result: dict = field(default_factory=dict)


# adapter(node_id, skill, args, timeout_s, cancel) -> SkillResult; must honour ``cancel``
# and return within timeout_s (the engine treats a late answer as a timeout).
Dispatch = Callable[[str, str, dict, float, threading.Event], SkillResult]


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts and the circuit breaker (seconds)."""

    backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)  # wait before retry 1, 2, 3, 4+
    breaker_failures: int = 3  # consecutive failed attempts of one skill that open it
    breaker_cooldown_s: float = 30.0
    max_parallel: int = 4  # worker threads for parallel groups


@dataclass
class NodeReport:
    """The final (or current) state of one node."""

    node_id: str
    skill: str
    state: NodeState = NodeState.PENDING
    attempt: int = 0
    started: float | None = None  # time.monotonic() of the first dispatch
    finished: float | None = None  # time.monotonic() when it reached a final state

    @property
    def elapsed_s(self) -> float:
        """Seconds from the first dispatch to the final state (or to now while running)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started
    error_code: ErrorCode = ErrorCode.NONE
    message: str = ''
    result: dict = field(default_factory=dict)


@dataclass
class ExecResult:
    """How a plan run ended."""

    outcome: ExecOutcome
    error_code: ErrorCode = ErrorCode.NONE
    message: str = ''
    nodes: dict[str, NodeReport] = field(default_factory=dict)
    fallback: str = ''  # the safe-pose skill that ran, if any
    fallback_ok: bool | None = None


def plain(value):
    """Return a checked argument value as JSON-able data (symbols become their names)."""
    if isinstance(value, p.Symbol):
        return value.name
    if isinstance(value, p.Pose):
        return [plain(q.value) if q is not None else 0.0 for q in
                (value.get('x'), value.get('y'), value.get('z'))]
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


class CircuitBreaker:
    """Per-key breaker: ``failures`` consecutive failures open it for ``cooldown_s``."""

    def __init__(self, failures: int, cooldown_s: float, clock=time.monotonic) -> None:
        self.failures, self.cooldown_s, self.clock = failures, cooldown_s, clock
        self._count: dict[str, int] = {}
        self._open_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Return False while ``key``'s breaker is open."""
        with self._lock:
            return self.clock() >= self._open_until.get(key, 0.0)

    def record(self, key: str, ok: bool) -> bool:
        """Record an attempt; return True when this failure opened the breaker."""
        with self._lock:
            if ok:
                self._count[key] = 0
                return False
            self._count[key] = self._count.get(key, 0) + 1
            if self._count[key] >= self.failures:
                self._count[key] = 0
                self._open_until[key] = self.clock() + self.cooldown_s
                return True
            return False


class Engine:
    """Runs one plan graph; create one per execution.

    Args:
        graph: the approved plan (flattened).
        schema: the domain schema (timeouts, retries, resources, safe poses).
        effective: per node id, the checked arguments in base units (from the checker).
        dispatch: the skill adapter.
        condition: evaluates a branch node's condition on live state.
        breaker: shared across executions (it is the executor's, not the plan's).
        on_status: called with each node report whenever its state changes.
        stop: set by the safety monitor (STOP) or a cancel; checked continuously.
        stop_robot: commands the robot to stop (called on every failure path).
        precheck: judges a step on live state right before each dispatch (the safe-pose
            fallback included); a SkillResult refuses it, None lets it run.
    """

    def __init__(self, graph: PlanGraph, schema: DomainSchema, effective: dict[str, dict],
                 dispatch: Dispatch, condition: Callable[[PlanNode], bool], *,
                 policy: RetryPolicy = RetryPolicy(), breaker: CircuitBreaker | None = None,
                 on_status: Callable[[NodeReport], None] = lambda r: None,
                 stop: threading.Event | None = None,
                 stop_robot: Callable[[], None] = lambda: None,
                 precheck: Callable[[str, str, dict], SkillResult | None] = (
                     lambda node_id, skill, args: None)) -> None:
        self.graph, self.schema, self.effective = graph, schema, effective
        self.dispatch, self.condition, self.policy = dispatch, condition, policy
        self.breaker = breaker or CircuitBreaker(policy.breaker_failures,
                                                 policy.breaker_cooldown_s)
        self.on_status, self.stop_robot, self.precheck = on_status, stop_robot, precheck
        self.stop = stop or threading.Event()
        self.cancel = threading.Event()  # tells running adapters to stop
        self.reports = {n.id: NodeReport(n.id, n.skill) for n in graph.nodes}
        self.branches: dict[str, bool] = {}
        self.locks = {r: threading.Lock() for r in schema.resources}
        self.stop_reason: tuple[ExecOutcome, ErrorCode, str] | None = None

    # --- one node ----------------------------------------------------------------------
    def _set(self, report: NodeReport, state: NodeState, **changes) -> None:
        report.state = state
        if state in FINAL and report.finished is None:
            report.finished = time.monotonic()
        for key, value in changes.items():
            setattr(report, key, value)
        self.on_status(report)

    def _limits(self, node: PlanNode) -> tuple[float, int]:
        spec = self.schema.skills[node.skill]
        timeout = spec.timeout_s
        if node.timeout is not None:
            scale = {'ms': 1e-3, 'min': 60.0}.get(node.timeout.unit or 's', 1.0)
            timeout = min(node.timeout.value * scale, spec.max_timeout_s)
        retries = spec.retries if node.retries is None else min(node.retries, spec.max_retries)
        return timeout, retries

    def _run_node(self, node: PlanNode) -> NodeReport:
        report = self.reports[node.id]
        if node.is_branch:
            self.branches[node.id] = bool(self.condition(node))
            self._set(report, NodeState.SUCCEEDED, message=f'condition {self.branches[node.id]}')
            return report
        timeout, retries = self._limits(node)
        resources = sorted(self.schema.skills[node.skill].resources)
        for attempt in range(1, retries + 2):
            if self.stop.is_set() or self.cancel.is_set():
                self._set(report, NodeState.CANCELED, message='preempted before dispatch')
                return report
            if not self.breaker.allow(node.skill):
                self._set(report, NodeState.FAILED, error_code=ErrorCode.CIRCUIT_OPEN,
                          message=f'circuit breaker open for {node.skill}')
                return report
            self._set(report, NodeState.RUNNING, attempt=attempt,
                      started=report.started or time.monotonic())
            began = time.monotonic()
            result = self._attempt(node, resources, timeout)
            took = time.monotonic() - began
            preempted = self.stop.is_set() or self.cancel.is_set() or \
                result.error_code is ErrorCode.SAFETY_STOP
            if result.ok or not preempted:  # a STOP is not the skill's failure
                self.breaker.record(node.skill, result.ok)
            if result.ok:
                skill_s = result.result.get('duration_s')
                note = f'ok in {took:.4f} s' + (
                    f' (skill {skill_s:.4f} s, dispatch overhead '
                    f'{1e3 * (took - skill_s):.2f} ms)' if isinstance(skill_s, float) else '')
                self._set(report, NodeState.SUCCEEDED, result=result.result, message=note)
                return report
            if self.stop.is_set() or self.cancel.is_set():
                self._set(report, NodeState.CANCELED, error_code=result.error_code,
                          message=result.message or 'preempted')
                return report
            if attempt <= retries and result.error_code not in PERMANENT:
                wait_s = self.policy.backoff_s[min(attempt - 1, len(self.policy.backoff_s) - 1)]
                self._set(report, NodeState.RETRYING, error_code=result.error_code,
                          message=f'{result.message}; retry in {wait_s:g} s')
                if self.stop.wait(wait_s) or self.cancel.is_set():
                    self._set(report, NodeState.CANCELED, message='preempted during backoff')
                    return report
            else:
                self._set(report, NodeState.FAILED, error_code=result.error_code,
                          message=result.message)
        return report

    def _attempt(self, node: PlanNode, resources: list[str], timeout: float) -> SkillResult:
        held = []
        try:
            for r in resources:  # sorted order: no lock-order deadlock
                if not self.locks[r].acquire(timeout=timeout):
                    return SkillResult(False, ErrorCode.RESOURCE_BUSY, f'resource {r} busy')
                held.append(r)
            start = time.monotonic()
            args = {k: plain(v) for k, v in self.effective.get(node.id, {}).items()}
            refused = self.precheck(node.id, node.skill, args)
            if refused is not None:
                return refused
            result = self.dispatch(node.id, node.skill, args, timeout, self.cancel)
            if result.ok and time.monotonic() - start > timeout * 1.05:
                return SkillResult(False, ErrorCode.SKILL_TIMEOUT,
                                   f'{node.skill} answered after its {timeout:g} s timeout')
            return result
        except Exception as exc:  # an adapter bug must fail the node, not the executor
            return SkillResult(False, ErrorCode.ADAPTER_UNAVAILABLE, f'adapter error: {exc}')
        finally:
            for r in held:
                self.locks[r].release()

    # --- scheduling ----------------------------------------------------------------------
    def _guard_open(self, node: PlanNode) -> bool:
        return all(self.branches.get(b) == want for b, want in node.guard)

    def _ready(self, node: PlanNode) -> bool:
        return all(self.reports[d].state in FINAL for d in node.depends_on)

    def run(self) -> ExecResult:
        """Execute the plan; return how it ended (never raises for a node's failure)."""
        pending = [n for n in self.graph.nodes]
        running: dict[Future, PlanNode] = {}
        failed: NodeReport | None = None
        with ThreadPoolExecutor(self.policy.max_parallel, thread_name_prefix='bb-exec') as pool:
            while pending or running:
                if self.stop.is_set() and not self.cancel.is_set():
                    self.cancel.set()
                if failed is None and not self.cancel.is_set():
                    for node in [n for n in pending if self._ready(n)]:
                        pending.remove(node)
                        if not self._guard_open(node) or any(
                                self.reports[d].state is NodeState.SKIPPED
                                and self.graph.node(d).is_branch for d in node.depends_on):
                            self._set(self.reports[node.id], NodeState.SKIPPED,
                                      message='guard is false')
                            continue
                        running[pool.submit(self._run_node, node)] = node
                if not running:
                    if pending and (failed is not None or self.cancel.is_set()):
                        for node in pending:
                            self._set(self.reports[node.id], NodeState.SKIPPED,
                                      message='not started: the plan ended early')
                        pending = []
                    elif pending and not any(self._ready(n) for n in pending):
                        break  # unreachable for a checked (acyclic) plan
                    continue
                done, _ = wait(running, timeout=0.05, return_when=FIRST_COMPLETED)
                for future in done:
                    node = running.pop(future)
                    report = future.result()
                    if report.state is NodeState.FAILED and not node.optional and not failed:
                        failed = report
                        self.cancel.set()  # the other running nodes stop too
        return self._finish(failed)

    def _finish(self, failed: NodeReport | None) -> ExecResult:
        reports = self.reports
        if self.stop.is_set():
            outcome, code, message = self.stop_reason or (
                ExecOutcome.STOPPED, ErrorCode.SAFETY_STOP, 'stopped by the safety monitor')
        elif failed is not None:
            timeout = failed.error_code is ErrorCode.SKILL_TIMEOUT
            outcome = ExecOutcome.TIMEOUT if timeout else ExecOutcome.FAILED
            code = failed.error_code or ErrorCode.SKILL_FAILED
            message = f'{failed.node_id} ({failed.skill}) failed after {failed.attempt} ' \
                      f'attempt(s): {failed.message}'
        else:
            return ExecResult(ExecOutcome.SUCCEEDED, nodes=reports)
        result = ExecResult(outcome, code, message, reports)
        self.stop_robot()
        skill = self.schema.skills.get(failed.skill) if failed else None
        fallback = (skill.safe_pose if skill and skill.safe_pose else None) or \
            self.schema.safe_pose
        if fallback:
            # The safe pose is judged like any step: from where the arm is now, with who is
            # near now. When it would itself be unsafe the arm holds still (stopped).
            spec = self.schema.skills[fallback]
            args = {}
            if 'speed' in spec.args and self.schema.safety is not None:
                args['speed'] = self.schema.safety.max_speed_near_human_mps  # slow, always
            answer = self.precheck('safe_pose', fallback, args) or self.dispatch(
                'safe_pose', fallback, args, spec.timeout_s, threading.Event())
            result.fallback, result.fallback_ok = fallback, answer.ok
            if not answer.ok:
                result.message += f'; safe pose {fallback} not run: {answer.message}'
        return result

    def request_stop(self, outcome: ExecOutcome, code: ErrorCode, message: str) -> None:
        """Preempt the run (STOP, cancel); running adapters see ``cancel`` at once."""
        self.stop_reason = (outcome, code, message)
        self.cancel.set()
        self.stop.set()

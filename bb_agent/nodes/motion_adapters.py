"""Topic-level skill adapters for the executor, and the router that picks one per skill.

- :class:`JointTrajectoryAdapter` sends motion skills to an arm as a one-point
  ``trajectory_msgs/JointTrajectory`` (ros2_control's joint_trajectory_controller topic
  interface) and judges completion from ``joint_states``.
- :class:`TwistAdapter` drives a mobile base with ``geometry_msgs/Twist`` to the target's
  (x, y), closing the loop on a ``geometry_msgs/PoseStamped`` pose topic.

Both run only the pure motion skills (:data:`~bb_agent.domains.robot.motion.MOTION_SKILLS`);
the executor refuses a plan before anything moves when a routed adapter cannot run one of
its skills. Every failure path (cancel, STOP, timeout, lost feedback) commands a stop: a
hold-position trajectory, or a zero twist.
"""

from __future__ import annotations

from collections.abc import Callable
import math
import threading
import time

from builtin_interfaces.msg import Duration
from geometry_msgs.msg import PoseStamped, Twist
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from bb_agent.core.execution import SkillResult
from bb_agent.core.outcomes import ErrorCode
from bb_agent.core.world import World
from bb_agent.domains.robot.motion import (
    JOINT_NAMES,
    MOTION_SKILLS,
    BaseLimits,
    base_goal,
    go_to_point,
    joint_goal,
    joints_reached,
    trajectory_duration,
    yaw_from_quaternion,
)
from bb_agent.nodes.latest import Latest
from bb_agent.nodes.params import Param
from bb_agent.nodes.skill_client import SkillActionAdapter

POLL_S = 0.01
ADAPTERS = ('skill_action', 'joint_trajectory', 'twist')
PARAMS = (  # the executor's adapter parameters
    Param('adapter', 'skill_action', "default skill adapter: skill_action (the robot's Skill "
                                     'action), joint_trajectory or twist', choices=ADAPTERS),
    Param('adapter_routes', '', 'per-skill adapters, "skill=adapter,..." (e.g. '
                                '"move_to=twist,home=twist"; "" = the default for all)'),
    Param('trajectory_topic', 'arm_controller/joint_trajectory',
          'JointTrajectory command topic (joint_trajectory_controller)'),
    Param('trajectory_joints', list(JOINT_NAMES), 'joint names of trajectory commands'),
    Param('max_joint_speed', 1.0, 'joint speed that times trajectories (rad/s)', 0.01, 10.0),
    Param('joint_tolerance', 0.02, 'joint error counted as arrived (rad)', 0.001, 0.5),
    Param('twist_topic', 'cmd_vel', 'Twist command topic of the mobile base'),
    Param('base_pose_topic', 'base/pose', 'PoseStamped feedback of the mobile base'),
    Param('base_max_linear', 0.3, 'base speed limit (m/s)', 0.01, 5.0),
    Param('base_max_angular', 1.0, 'base turn-rate limit (rad/s)', 0.01, 10.0),
    Param('base_tolerance', 0.05, 'base distance counted as arrived (m)', 0.005, 1.0),
)


def parse_routes(text: str, default: str) -> dict[str, str]:
    """Parse ``"skill=adapter,skill=adapter"`` ('' = none); raise ValueError on a bad entry."""
    routes = {}
    for item in filter(None, (part.strip() for part in text.split(','))):
        skill, sep, name = (s.strip() for s in item.partition('='))
        if not sep or not skill or name not in ADAPTERS:
            raise ValueError(f'adapter route {item!r}: want skill=adapter, adapter in {ADAPTERS}')
        if name != 'skill_action' and skill not in MOTION_SKILLS:
            raise ValueError(f'adapter route {item!r}: {name} runs only '
                             f'{", ".join(MOTION_SKILLS)}')
        routes[skill] = name
    if default not in ADAPTERS:
        raise ValueError(f'adapter {default!r} is not one of {ADAPTERS}')
    return routes


class _MotionAdapter:
    """Shared loop: compute a goal, command, poll feedback until arrived or a stop reason.

    Subclasses give ``_goal(skill, args, world)`` (a goal, or why there is none),
    ``_start(goal, measured, args)``, ``_step(goal, measured) -> arrived`` and
    ``_halt(measured)`` (the stop command).
    """

    name = ''

    def __init__(self, world: Callable[[], World | None], timeout_s: float) -> None:
        self.world, self.timeout_s = world, timeout_s  # feedback older than this is stale
        self.feedback = Latest()

    @staticmethod
    def supports(skill: str) -> bool:
        """Return True when this adapter can run ``skill``."""
        return skill in MOTION_SKILLS

    def _await_feedback(self, timeout_s: float, cancel: threading.Event):
        """Return fresh feedback, or None after waiting for it.

        Waits up to the skill's timeout when none ever came (a just-started executor may not
        have matched the publisher yet), one feedback timeout when it went stale (a dead
        driver fails fast).
        """
        never = self.feedback.at == float('-inf')
        deadline = time.monotonic() + (timeout_s if never else self.timeout_s)
        while True:
            measured = self.feedback.fresh(self.timeout_s, wait_s=POLL_S * 5)
            if measured is not None or cancel.is_set() or time.monotonic() > deadline:
                return measured

    def __call__(self, node_id: str, skill: str, args: dict, timeout_s: float,
                 cancel: threading.Event) -> SkillResult:
        """Run one attempt; see :data:`bb_agent.core.execution.Dispatch`."""
        if not self.supports(skill):
            return SkillResult(False, ErrorCode.UNKNOWN_SKILL,
                               f'the {self.name} adapter cannot run {skill!r}')
        measured = self._await_feedback(timeout_s, cancel)
        if measured is None:
            return SkillResult(False, ErrorCode.ADAPTER_UNAVAILABLE,
                               f'{skill}: no fresh feedback on the {self.name} adapter')
        goal = self._goal(skill, args, self.world() or World())
        if isinstance(goal, str):
            return SkillResult(False, ErrorCode.PRECONDITION_FAILED, f'{skill}: {goal}')
        deadline = time.monotonic() + timeout_s
        self._start(goal, measured, args)
        while True:
            measured = self.feedback.fresh(self.timeout_s)
            why = None
            if cancel.is_set():
                why = SkillResult(False, ErrorCode.SKILL_FAILED, f'{skill}: canceled')
            elif measured is None:
                why = SkillResult(False, ErrorCode.ADAPTER_UNAVAILABLE,
                                  f'{skill}: feedback lost ({self.name})')
            elif time.monotonic() > deadline:
                why = SkillResult(False, ErrorCode.SKILL_TIMEOUT, f'{skill}: not there in time')
            elif self._step(goal, measured):
                return SkillResult(True, result={'adapter': self.name})
            if why is not None:
                self._halt(measured)
                return why
            time.sleep(POLL_S)


class JointTrajectoryAdapter(_MotionAdapter):
    """Motion skills as JointTrajectory goals; ``joint_states`` closes the loop."""

    name = 'joint_trajectory'

    def __init__(self, node, world, *, topic: str, joint_names: list[str],
                 max_joint_speed: float, tolerance: float, feedback_timeout_s: float) -> None:
        super().__init__(world, feedback_timeout_s)
        self.names, self.speed, self.tolerance = list(joint_names), max_joint_speed, tolerance
        self.pub = node.create_publisher(JointTrajectory, topic, 10)
        node.create_subscription(JointState, 'joint_states', self._joints, 10)

    def _joints(self, msg: JointState) -> None:
        self.feedback.put(dict(zip(msg.name, msg.position, strict=False)))

    def _goal(self, skill, args, world):
        return joint_goal(skill, args, world)

    def _send(self, positions, seconds: float) -> None:
        point = JointTrajectoryPoint(positions=[float(q) for q in positions],
                                     velocities=[0.0] * len(positions),
                                     time_from_start=Duration(sec=int(seconds), nanosec=int(
                                         (seconds % 1.0) * 1e9)))
        self.pub.publish(JointTrajectory(joint_names=self.names, points=[point]))

    def _start(self, goal, measured, args) -> None:
        start = [measured.get(n, 0.0) for n in self.names]
        self._send(goal, trajectory_duration(start, goal, self.speed))

    def _step(self, goal, measured) -> bool:
        return joints_reached(measured, self.names, goal, self.tolerance)

    def _halt(self, measured) -> None:
        """Hold where the arm is (an empty trajectory does not stop every controller)."""
        if measured is not None and all(n in measured for n in self.names):
            self._send([measured[n] for n in self.names], 0.05)


class TwistAdapter(_MotionAdapter):
    """Motion skills as a mobile base's drive to the target's (x, y)."""

    name = 'twist'

    def __init__(self, node, world, *, cmd_topic: str, pose_topic: str, limits: BaseLimits,
                 feedback_timeout_s: float) -> None:
        super().__init__(world, feedback_timeout_s)
        self.limits = limits
        self._last = None  # the pose sample the last command answered
        self.pub = node.create_publisher(Twist, cmd_topic, 10)
        node.create_subscription(PoseStamped, pose_topic, self._pose, 10)

    def _pose(self, msg: PoseStamped) -> None:
        p, q = msg.pose.position, msg.pose.orientation
        if all(math.isfinite(v) for v in (p.x, p.y, q.z, q.w)):
            self.feedback.put((p.x, p.y, yaw_from_quaternion(q.z, q.w)))

    def _goal(self, skill, args, world):
        return base_goal(skill, args, world)

    def _send(self, linear: float, angular: float) -> None:
        msg = Twist()
        msg.linear.x, msg.angular.z = float(linear), float(angular)
        self.pub.publish(msg)

    def _start(self, goal, measured, args) -> None:
        self._last = None
        self._step(goal, measured)

    def _step(self, goal, measured) -> bool:
        linear, angular, arrived = go_to_point(measured, goal, self.limits)
        if measured is not self._last or arrived:  # one command per pose sample (50 Hz)
            self._last = measured
            self._send(linear, angular)  # a zero twist once arrived
        return arrived

    def _halt(self, measured) -> None:
        self._send(0.0, 0.0)


class AdapterRouter:
    """Dispatch each skill to its configured adapter (``routes``), else to ``default``."""

    def __init__(self, adapters: dict, default: str, routes: dict[str, str]) -> None:
        self.adapters, self.default, self.routes = adapters, default, routes

    def adapter_for(self, skill: str):
        """Return the adapter that runs ``skill``."""
        return self.adapters[self.routes.get(skill, self.default)]

    def unsupported(self, skills) -> list[str]:
        """Return the skills whose adapter cannot run them (the plan must not start)."""
        return sorted({s for s in skills if not self.adapter_for(s).supports(s)})

    def begin(self, plan_id: str, correlation_id: str) -> None:
        """Tell the adapters which plan the next dispatches belong to."""
        for adapter in self.adapters.values():
            if hasattr(adapter, 'begin'):
                adapter.begin(plan_id, correlation_id)

    def __call__(self, node_id, skill, args, timeout_s, cancel) -> SkillResult:
        """Run one attempt on the skill's adapter; see :data:`bb_agent.core.execution.Dispatch`."""
        return self.adapter_for(skill)(node_id, skill, args, timeout_s, cancel)


def make_router(node, p: dict, world: Callable[[], World | None], alive: Callable[[], bool],
                feedback_timeout_s: float) -> AdapterRouter:
    """Build the adapters that :data:`PARAMS` ``p`` names (only those) and their router.

    Raises:
        ValueError: an unknown adapter or a malformed route (caught at start-up).
    """
    routes = parse_routes(p['adapter_routes'], p['adapter'])
    names, adapters = {p['adapter'], *routes.values()}, {}
    if 'skill_action' in names:
        adapters['skill_action'] = SkillActionAdapter(node, alive)
    if 'joint_trajectory' in names:
        adapters['joint_trajectory'] = JointTrajectoryAdapter(
            node, world, topic=p['trajectory_topic'], joint_names=p['trajectory_joints'],
            max_joint_speed=p['max_joint_speed'], tolerance=p['joint_tolerance'],
            feedback_timeout_s=feedback_timeout_s)
    if 'twist' in names:
        limits = BaseLimits(max_linear=p['base_max_linear'],
                            max_angular=p['base_max_angular'], tolerance=p['base_tolerance'])
        adapters['twist'] = TwistAdapter(node, world, cmd_topic=p['twist_topic'],
                                         pose_topic=p['base_pose_topic'], limits=limits,
                                         feedback_timeout_s=feedback_timeout_s)
    return AdapterRouter(adapters, p['adapter'], routes)

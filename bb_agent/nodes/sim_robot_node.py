"""sim_robot_node: the embedded kinematic tabletop robot (a LifecycleNode).

Serves the ``skill`` action (bb_msgs/Skill), publishes ``joint_states``
(sensor_msgs/JointState), ``world_state`` (bb_msgs/WorldState) and ``markers/world``
(visualization_msgs/MarkerArray) at ``rate_hz``. Obeys ``estop`` (std_msgs/Bool,
transient local: motion is refused and preempted while true) and ``robot/stop``
(std_msgs/Empty, the executor's stop command). ``sim/human`` (geometry_msgs/Point; NaN
removes the human) moves a human into or out of the workspace.

Besides the ``skill`` action it accepts the topic interfaces of common drivers, so the
executor's other adapters run against it: ``arm_controller/joint_trajectory``
(trajectory_msgs/JointTrajectory, as ros2_control's joint_trajectory_controller takes it)
moves the arm, and ``cmd_vel`` (geometry_msgs/Twist) drives a simulated mobile base whose
pose is published on ``base/pose`` (geometry_msgs/PoseStamped).
"""

from __future__ import annotations

import json
import math
import threading
import time

from geometry_msgs.msg import Point, PoseStamped, Twist
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Empty
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from bb_agent.core.resources import config_path
from bb_agent.core.schema import load_schema
from bb_agent.core.world import load_world
from bb_agent.domains.robot.motion import BASE_Z, JOINT_NAMES, L1
from bb_agent.domains.robot.sim_base import SimBase
from bb_agent.domains.robot.sim_world import Faults, SimWorld
from bb_agent.nodes.convert import world_to_msg
from bb_agent.nodes.lifecycle import Offload, autostart, clean_exit, ros_init, run_node
from bb_agent.nodes.markers import world_markers
from bb_agent.nodes.params import Param, declare
from bb_agent.nodes.qos import LATCHED
from bb_msgs.action import Skill
from bb_msgs.msg import WorldState

PARAMS = (
    Param('world_file', '', 'world-state JSON below config/ ("" = the robot schema default)'),
    Param('rate_hz', 50.0, 'state publishing rate (Hz)', 1.0, 500.0),
    Param('time_scale', 1.0, 'simulated seconds per wall second (>1 runs faster)', 0.1, 100.0),
    Param('failure_rate', 0.0, 'chance a skill attempt fails (fault injection)', 0.0, 1.0),
    Param('drop_rate', 0.0, 'chance per second that a held object drops', 0.0, 100.0),
    Param('stall_rate', 0.0, 'chance a skill attempt stalls until its timeout', 0.0, 1.0),
    Param('stale_state', False, 'freeze the published state (the monitor must STOP)'),
    Param('fail_skills', '', 'comma-separated skills that always fail (scripted faults)'),
    Param('default_timeout_s', 10.0, 'skill timeout when a goal gives 0 (s)', 0.1, 600.0),
    Param('seed', 0, 'fault-injection random seed', 0, 2**31 - 1),
    Param('trajectory_topic', 'arm_controller/joint_trajectory',
          'JointTrajectory commands for the arm (joint_trajectory_controller style)'),
    Param('base_cmd_topic', 'cmd_vel', 'Twist commands for the simulated mobile base'),
    Param('base_pose_topic', 'base/pose', 'where the base pose is published (PoseStamped)'),
    Param('autostart', True, 'configure and activate on start'),
)


class SimRobotNode(LifecycleNode):
    """The simulated robot; see the module docstring."""

    def __init__(self) -> None:
        super().__init__('sim_robot')
        self.p = declare(self, PARAMS)
        self.sim: SimWorld | None = None
        self.active = threading.Event()
        self.joint_pub = self.create_publisher(JointState, 'joint_states', 10)
        self.world_pub = self.create_publisher(WorldState, 'world_state', 10)
        self.marker_pub = self.create_publisher(MarkerArray, 'markers/world', 2)
        self.create_subscription(Bool, 'estop', self._estop, LATCHED)
        self.create_subscription(Empty, 'robot/stop', self._stop, 10)
        self.create_subscription(Point, 'sim/human', self._human, 10)
        self.create_subscription(JointTrajectory, self.p['trajectory_topic'], self._trajectory,
                                 10)
        self.create_subscription(Twist, self.p['base_cmd_topic'], self._twist, 10)
        self.base_pub = self.create_publisher(PoseStamped, self.p['base_pose_topic'], 10)
        self.base = SimBase(time_scale=self.p['time_scale'])
        self.offload = Offload(self)
        self.server = ActionServer(self, Skill, 'skill', execute_callback=self._execute,
                                   goal_callback=self._goal, cancel_callback=lambda _g:
                                   CancelResponse.ACCEPT, callback_group=self.offload.group)
        self.timer = None
        self._tick = 0

    # --- lifecycle -----------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Build the world and its fault injection."""
        name = self.p['world_file'] or load_schema('robot').default_world
        world = load_world(config_path(*name.split('/')))
        faults = Faults(self.p['failure_rate'], self.p['drop_rate'], self.p['stall_rate'],
                        self.p['stale_state'],
                        tuple(s.strip() for s in self.p['fail_skills'].split(',') if s.strip()))
        self.sim = SimWorld(world, faults=faults, time_scale=self.p['time_scale'],
                            seed=self.p['seed'])
        self.timer = self.create_timer(1.0 / self.p['rate_hz'], self._publish)
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Start accepting skills."""
        self.active.set()
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Refuse new skills and stop the arm."""
        self.active.clear()
        if self.sim:
            self.sim.stop()
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Drop the world."""
        if self.timer:
            self.destroy_timer(self.timer)
        self.sim, self.timer = None, None
        return TransitionCallbackReturn.SUCCESS

    # --- topics --------------------------------------------------------------------------
    def _stop(self, _msg: Empty) -> None:
        self.base.stop()
        if self.sim is not None:
            self.sim.stop()

    def _trajectory(self, msg: JointTrajectory) -> None:
        """Follow the last point (positions in the message's joint order); empty = hold."""
        if self.sim is None or not self.active.is_set():
            return
        if not msg.points:
            self.sim.stop()
            return
        point = msg.points[-1]
        by_name = dict(zip(msg.joint_names, point.positions, strict=False))
        if set(by_name) != set(JOINT_NAMES) or not all(map(math.isfinite, by_name.values())):
            self.get_logger().warn(f'trajectory refused: joints {list(msg.joint_names)}, '
                                   f'expected {list(JOINT_NAMES)} with finite positions')
            return
        duration = point.time_from_start.sec + point.time_from_start.nanosec * 1e-9
        self.sim.follow_joints(tuple(by_name[n] for n in JOINT_NAMES), duration)

    def _twist(self, msg: Twist) -> None:
        if self.active.is_set():
            self.base.command_velocity(msg.linear.x, msg.angular.z)

    def _estop(self, msg: Bool) -> None:
        (self.base.estop.set if msg.data else self.base.estop.clear)()
        if self.sim is not None:
            (self.sim.estop.set if msg.data else self.sim.estop.clear)()
            if msg.data:
                self.sim.stop()

    def _human(self, msg: Point) -> None:
        if self.sim is not None:
            gone = any(math.isnan(c) for c in (msg.x, msg.y, msg.z))
            self.sim.set_human(None if gone else (msg.x, msg.y, msg.z))
            self._publish()  # a sensor reports a change when it sees it, not at the next tick

    def _publish(self) -> None:
        sim = self.sim
        if sim is None:
            return
        world = sim.snapshot()
        now = self.get_clock().now().to_msg()
        if self.p['stale_state'] and self._tick > 0:
            return  # a frozen sensor: nothing new arrives (the monitor must see it stale)
        joints = dict(zip(JOINT_NAMES, sim.joints(), strict=True))
        self.joint_pub.publish(JointState(header=_header(now), name=list(joints),
                                          position=list(joints.values())))
        self.world_pub.publish(world_to_msg(world, now, joints))
        self.base_pub.publish(_pose_msg(self.base.step(), now))
        if self._tick % max(1, int(self.p['rate_hz'] // 10)) == 0:  # markers at ~10 Hz
            yaw, shoulder, _elbow = sim.joints()
            elbow_xyz = (L1 * math.cos(shoulder) * math.cos(yaw),
                         L1 * math.cos(shoulder) * math.sin(yaw),
                         BASE_Z + L1 * math.sin(shoulder))
            self.marker_pub.publish(world_markers(world, [(0.0, 0.0, 0.0), (0.0, 0.0, BASE_Z),
                                                          elbow_xyz, world.robot.ee_position],
                                                  now))
        self._tick += 1

    # --- skills --------------------------------------------------------------------------
    def _goal(self, goal) -> GoalResponse:
        return GoalResponse.ACCEPT if self.active.is_set() and self.sim else GoalResponse.REJECT

    async def _execute(self, handle):
        # The skill runs on its own thread; the executor keeps publishing state meanwhile.
        return await self.offload(self._run_skill, handle)

    def _run_skill(self, handle):
        goal, result = handle.request, Skill.Result()
        try:
            args = {a.name: json.loads(a.value_json) for a in goal.arguments}
        except ValueError as exc:
            handle.abort()
            result.outcome, result.error_code = Skill.Result.OUTCOME_INVALID_INPUT, 104
            result.error_msg = f'argument is not JSON: {exc}'
            return result
        cancel = threading.Event()
        watcher = threading.Thread(target=_watch_cancel, args=(handle, cancel), daemon=True)
        watcher.start()
        timeout = goal.timeout_s or self.p['default_timeout_s']
        began = time.monotonic()
        outcome = self.sim.run_skill(goal.skill, args, timeout, cancel)
        cancel.set()
        result.error_code, result.error_msg = int(outcome.error_code), outcome.message
        # The skill's own time (s), so the executor can report its dispatch overhead.
        result.result_json = json.dumps({**outcome.result,
                                         'duration_s': time.monotonic() - began})
        if outcome.ok:
            result.outcome = Skill.Result.OUTCOME_SUCCEEDED
            handle.succeed()
        elif handle.is_cancel_requested:
            result.outcome = Skill.Result.OUTCOME_CANCELED
            handle.canceled()
        else:
            result.outcome = _SKILL_OUTCOME.get(int(outcome.error_code),
                                                Skill.Result.OUTCOME_FAILED)
            handle.abort()
        return result


_SKILL_OUTCOME = {400: Skill.Result.OUTCOME_STOPPED, 301: Skill.Result.OUTCOME_TIMEOUT,
                  302: Skill.Result.OUTCOME_INVALID_INPUT, 306: Skill.Result.OUTCOME_REJECTED}


def _watch_cancel(handle, cancel: threading.Event) -> None:
    while not cancel.wait(0.01):
        if handle.is_cancel_requested:
            cancel.set()


def _pose_msg(pose, stamp) -> PoseStamped:
    msg = PoseStamped(header=_header(stamp))
    msg.pose.position.x, msg.pose.position.y = pose[0], pose[1]
    msg.pose.orientation.z, msg.pose.orientation.w = math.sin(pose[2] / 2), math.cos(pose[2] / 2)
    return msg


def _header(stamp):
    from std_msgs.msg import Header
    return Header(stamp=stamp, frame_id='world')


@clean_exit
def main(args=None) -> int:
    """Entry point of ``sim_robot_node``."""
    ros_init(args)
    node = SimRobotNode()
    autostart(node)
    return run_node(node)

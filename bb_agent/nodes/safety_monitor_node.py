"""safety_monitor_node: V_s at ``rate_hz`` (>= 50 Hz) and on every new state, the latched STOP.

Subscribes ``world_state`` (bb_msgs/WorldState: robot summary, joints, humans, obstacles)
and ``execution/status`` (bb_msgs/NodeStatus: which step runs). Publishes
``safety/status`` (bb_msgs/SafetyStatus) every tick, ``estop`` (std_msgs/Bool, transient
local; true while the level is STOP, including start-up before any state) on change,
``/diagnostics`` at 2 Hz (ERROR while stale or latched) and ``markers/vs``. Serves
``safety/reset`` (std_srvs/Trigger), accepted only after ``reset_hold_s`` of fresh
states below the threshold, and ``safety/stop`` (std_srvs/Trigger), which latches STOP at
once (a request to stop, the console's button). Logic: :mod:`bb_agent.safety.monitor`.
"""

from __future__ import annotations

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn
from rclpy.time import Time
from std_msgs.msg import Bool
from std_srvs.srv import Trigger
from visualization_msgs.msg import MarkerArray

from bb_agent.core.safety_model.vs import HUMAN, OBSTACLE
from bb_agent.core.schema import load_schema
from bb_agent.nodes.lifecycle import autostart, clean_exit, ros_init, run_node
from bb_agent.nodes.markers import vs_marker
from bb_agent.nodes.params import Param, declare
from bb_agent.nodes.qos import LATCHED
from bb_agent.safety.monitor import Level, LiveState, MonitorConfig, SafetyMonitor
from bb_msgs.msg import NodeStatus, SafetyStatus, WorldState

PARAMS = (
    Param('domain', 'robot', 'domain schema whose safety limits apply'),
    Param('rate_hz', 100.0, 'monitor rate (Hz); the issue asks for >= 50', 50.0, 1000.0),
    Param('warn_fraction', 0.7, 'WARN above this fraction of the threshold', 0.0, 1.0,
          live=True),
    Param('stale_s', 0.2, 'inputs older than this are stale (s)', 0.01, 10.0, live=True),
    Param('stale_confirm_s', 0.05, 'staleness must last this long before STOP (s)', 0.0, 1.0,
          live=True),
    Param('reset_hold_s', 1.0, 'a reset needs this long of fresh states below the threshold '
          '(s)', 0.0, 60.0, live=True),
    Param('autostart', True, 'configure and activate on start'),
)


class SafetyMonitorNode(LifecycleNode):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__('safety_monitor')
        self.p = declare(self, PARAMS, self._apply)
        self.lock = threading.Lock()
        self.state: LiveState | None = None
        self.step = ''
        self.monitor: SafetyMonitor | None = None
        self.timer = self.diag_timer = None
        self.status_pub = self.create_publisher(SafetyStatus, 'safety/status', 10)
        self.estop_pub = self.create_publisher(Bool, 'estop', LATCHED)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.marker_pub = self.create_publisher(MarkerArray, 'markers/vs', 2)
        # Each new state is judged as it arrives (STOP latency is one DDS hop, not up to a
        # tick); one executor thread, so never concurrently with a tick.
        self.create_subscription(WorldState, 'world_state', self._world, 10)
        self.create_subscription(NodeStatus, 'execution/status', self._step, 50)
        self.create_service(Trigger, 'safety/reset', self._reset)
        self.create_service(Trigger, 'safety/stop', self._stop)
        self._latched_sent: bool | None = None
        self._ticks = 0

    def _config(self, values: dict) -> MonitorConfig:
        return MonitorConfig(**{k: values[k] for k in ('warn_fraction', 'stale_s',
                                                       'stale_confirm_s', 'reset_hold_s')})

    def _apply(self, changes: dict) -> str:
        """Apply live parameters at once: the next tick judges with the new settings."""
        cfg = self._config({**self.p, **changes})
        if self.monitor is not None:
            self.monitor.cfg = cfg  # one assignment: a tick sees the old or the new, whole
        return ''

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Load the schema's limits and start the monitor timer (STOP until state arrives)."""
        # V_s threshold, rise tolerance and joint margin are the schema's: the plan checker
        # proves plans against the same numbers.
        self.monitor = SafetyMonitor(load_schema(self.p['domain']), self._config(self.p))
        self.timer = self.create_timer(1.0 / self.p['rate_hz'], self._tick)
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Publish the latch state at once (subscribers see STOP until state arrives)."""
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Latch STOP first: a deactivated monitor protects nothing (fail closed)."""
        self.estop_pub.publish(Bool(data=True))
        return TransitionCallbackReturn.SUCCESS

    def _world(self, msg: WorldState) -> None:
        r = msg.robot
        p = r.end_effector.position
        def where(kind):
            return tuple((o.pose.position.x, o.pose.position.y, o.pose.position.z)
                         for o in msg.objects if o.kind == kind)

        # Measured when the sender stamped it, not when it arrived: a state that waited in a
        # queue (a starved sender or monitor) is as old as it is. Unstamped: on arrival.
        stamp, sent = time.monotonic(), msg.header.stamp
        if sent.sec or sent.nanosec:
            age = (self.get_clock().now() - Time.from_msg(sent)).nanoseconds / 1e9
            stamp -= min(max(age, 0.0), 60.0)  # clock skew never makes a state newer
        with self.lock:
            self.state = LiveState(stamp, (p.x, p.y, p.z), r.ee_speed, r.ee_force,
                                   tuple(r.joint_positions), where(HUMAN), where(OBSTACLE),
                                   self.step)
        if self.monitor is not None:
            self._evaluate()

    def _evaluate(self):
        """Judge the latest state; publish ``estop`` when the STOP level changes."""
        with self.lock:
            state = self.state
            if state is not None and state.executing_step != self.step:
                state = LiveState(**{**state.__dict__, 'executing_step': self.step})
        status = self.monitor.tick(state, time.monotonic())
        stop = status.level is Level.STOP  # latched, or no state yet at start-up
        if stop != self._latched_sent:
            self.estop_pub.publish(Bool(data=stop))
            self._latched_sent = stop
            if status.latched:
                self.get_logger().error('STOP latched: ' + '; '.join(status.reasons))
        return status

    def _step(self, msg: NodeStatus) -> None:
        with self.lock:
            if msg.state == NodeStatus.STATE_RUNNING:
                self.step = f'{msg.plan_id}/{msg.node_id}'
            elif self.step == f'{msg.plan_id}/{msg.node_id}':
                self.step = ''

    def _tick(self) -> None:
        status = self._evaluate()  # on the timer too: staleness shows only with time
        msg = SafetyStatus(v_s=float(status.v_s), v_s_dot=float(status.v_s_dot),
                           threshold=self.monitor.threshold, level=int(status.level),
                           latched=status.latched, reasons=status.reasons)
        msg.header.stamp, msg.header.frame_id = self.get_clock().now().to_msg(), 'world'
        self.status_pub.publish(msg)
        self._ticks += 1
        if self._ticks % max(1, int(self.p['rate_hz'] // 2)) == 0:
            self._diagnose(status, msg.header.stamp)

    def _diagnose(self, status, stamp) -> None:
        level = DiagnosticStatus.ERROR if status.level is Level.STOP else \
            DiagnosticStatus.WARN if status.level is Level.WARN else DiagnosticStatus.OK
        diag = DiagnosticStatus(level=level, name='bb_agent/safety_monitor',
                                hardware_id='sim_robot',
                                message='; '.join(status.reasons) or 'OK',
                                values=[KeyValue(key='v_s', value=f'{status.v_s:.3f}'),
                                        KeyValue(key='latched', value=str(status.latched))])
        self.diag_pub.publish(DiagnosticArray(header=_header(stamp), status=[diag]))
        self.marker_pub.publish(vs_marker(status.v_s, self.monitor.threshold,
                                          status.latched, stamp))

    def _stop(self, _request, response):
        if self.monitor is None:  # not configured: estop already reads true (start-up)
            self.estop_pub.publish(Bool(data=True))
            response.success, response.message = True, 'STOP (monitor not configured yet)'
            return response
        with self.lock:
            status = self.monitor.request_stop('STOP requested (safety/stop)')
        self.estop_pub.publish(Bool(data=True))
        self._latched_sent = True
        self.get_logger().error('STOP latched: ' + '; '.join(status.reasons))
        response.success, response.message = True, 'STOP latched'
        return response

    def _reset(self, _request, response):
        ok, why = self.monitor.reset() if self.monitor else (False, 'not configured')
        response.success, response.message = ok, why
        self.get_logger().info(f'reset: {why}')
        return response


def _header(stamp):
    from std_msgs.msg import Header
    return Header(stamp=stamp, frame_id='world')


@clean_exit
def main(args=None) -> int:
    """Entry point of ``safety_monitor_node``."""
    ros_init(args)
    node = SafetyMonitorNode()
    autostart(node)
    return run_node(node)

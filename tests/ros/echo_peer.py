"""Second OS process for the bb_msgs round-trip tests.

For every interface named on the command line it serves a counterpart:

- messages: subscribes ``bbtest/in/<Name>`` and republishes each message on
  ``bbtest/out/<Name>`` unchanged;
- services: serves ``bbtest/srv/<Name>``, answering with ``fill(Response, seed_of(request))``;
- actions: serves ``bbtest/action/<Name>``; for a goal with seed s it publishes feedback
  ``fill(Feedback, s + 1)`` and ``fill(Feedback, s + 2)``, then succeeds with
  ``fill(Result, s + 3)``. While ``bbtest/hold_goals`` (std_srvs/SetBool) is true it
  instead holds the goal until the client cancels it and ends it canceled with
  ``fill(Result, s + 4)``.

Prints ``READY`` once every endpoint exists; exits on SIGINT.
"""

import importlib
import sys
import threading
import time

import rclpy
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from std_srvs.srv import SetBool

from tests.ros.fill import fill, seed_of

HOLD_LIMIT_S = 20.0  # a held goal that is never canceled aborts after this long


class EchoPeer(Node):
    """Serves every interface named in ``kinds`` (``msg:Name``, ``srv:Name``, ``action:Name``)."""

    def __init__(self, kinds):
        super().__init__('bb_msgs_echo_peer')
        self._hold = threading.Event()
        group = ReentrantCallbackGroup()
        self._keep = []
        self._keep.append(self.create_service(SetBool, 'bbtest/hold_goals', self._on_hold))
        for kind in kinds:
            family, name = kind.split(':')
            cls = getattr(importlib.import_module(f'bb_msgs.{family}'), name)
            if family == 'msg':
                pub = self.create_publisher(cls, f'bbtest/out/{name}', 10)
                self._keep.append(pub)
                self._keep.append(self.create_subscription(
                    cls, f'bbtest/in/{name}', lambda m, p=pub: p.publish(m), 10))
            elif family == 'srv':
                self._keep.append(self.create_service(
                    cls, f'bbtest/srv/{name}',
                    lambda req, resp, c=cls: fill(c.Response, seed_of(req))))
            else:
                self._keep.append(ActionServer(
                    self, cls, f'bbtest/action/{name}',
                    execute_callback=lambda gh, c=cls: self._execute(c, gh),
                    goal_callback=lambda _g: GoalResponse.ACCEPT,
                    cancel_callback=lambda _g: CancelResponse.ACCEPT,
                    callback_group=group))

    def _on_hold(self, request, response):
        if request.data:
            self._hold.set()
        else:
            self._hold.clear()
        response.success = True
        response.message = f'hold_goals={request.data}'
        return response

    def _execute(self, cls, goal_handle):
        seed = seed_of(goal_handle.request)
        goal_handle.publish_feedback(fill(cls.Feedback, seed + 1))
        goal_handle.publish_feedback(fill(cls.Feedback, seed + 2))
        if not self._hold.is_set():
            goal_handle.succeed()
            return fill(cls.Result, seed + 3)
        deadline = time.monotonic() + HOLD_LIMIT_S
        while time.monotonic() < deadline:
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                return fill(cls.Result, seed + 4)
            time.sleep(0.01)
        goal_handle.abort()
        return cls.Result()


def main():
    """Run the peer until SIGINT."""
    kinds = sys.argv[1:]
    try:
        with rclpy.init():
            node = EchoPeer(kinds)
            executor = MultiThreadedExecutor(num_threads=4)
            executor.add_node(node)
            print('READY', flush=True)
            executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == '__main__':
    main()
